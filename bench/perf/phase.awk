# phase.awk splits `perf script` output of an echo server by phase: each
# sample counts under the read path, the write path, the scheduler or the
# server's loop by the frames on its stack, and as user time when its leaf
# is not in the kernel. Matches hybi's server and the floors'.
BEGIN { RS = ""; FS = "\n" }
{
	n++
	user = ($2 !~ /kernel|ffffffff/)
	cat = "other"
	if ($0 ~ /WriteReply|net\.\(\*conn\)\.Write/) cat = "write"
	else if ($0 ~ /ReadFrom|messageReader|net\.\(\*conn\)\.Read|Conn\)\.Reader/) cat = "read"
	else if ($0 ~ /runtime\.(mcall|schedule|findRunnable|park_m|sysmon|netpoll)/) cat = "sched"
	else if ($0 ~ /hybiPooledEcho|floorNetpollEcho/) cat = "loop"
	all[cat]++
	if (user) u[cat]++
}
END {
	for (c in all) printf "%-6s all %5.1f%%  user %5.1f%%\n", c, 100 * all[c] / n, 100 * u[c] / n
	printf "samples %d\n", n
}
