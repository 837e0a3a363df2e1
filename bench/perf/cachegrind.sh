#!/usr/bin/env bash
# cachegrind.sh LIB [CONNS] [SIZE] [N] - the server's user-space cost per
# echo, counted by valgrind's cachegrind rather than sampled: LIB's
# bench-server runs under cachegrind twice, serving N and then 2N
# closed-loop echoes per connection (cmd/echo-count), and the difference
# of the two profiles is the cost of CONNS*N echoes with start-up,
# handshakes and shutdown taken out. Prints the totals per echo and the
# functions that cost most; leaves perf/cg-LIB.diff for cg_annotate.
# The caches simulated are one core's (L1 48 KiB, L2 as "LL", 1 MiB).
# Kernel time, and what the kernel does to the caches, are not counted.
# The client pauses THINK (default 2ms) after each echo: under valgrind
# the server runs some 50 times slower, and without the pause its reads
# after a reply would find the next message already there, which at full
# speed they do not. Run from bench/. Needs valgrind.
set -eu
lib=$1 conns=${2:-256} size=${3:-16} n=${4:-200}
dir=$(mktemp -d)
. perf/valgrind-echoes.sh
run() { # run COUNT OUT
	serve_echoes "$1" --tool=cachegrind --cache-sim=yes \
		--I1=32768,8,64 --D1=49152,12,64 --LL=1048576,16,64 \
		--cachegrind-out-file="$2"
}
run "$n" "$dir/a.out"
run $((2 * n)) "$dir/b.out"
cg_diff "$dir/a.out" "$dir/b.out" >"perf/cg-$lib.diff"
echoes=$((conns * n))
cg_annotate --auto=no "perf/cg-$lib.diff" 2>/dev/null | awk -v e="$echoes" -v lib="$lib" '
	/PROGRAM TOTALS/ {
		gsub(/\([^)]*\)/, ""); gsub(/,/, "")
		printf "%s, per echo (%d echoes): %.0f instructions, L1 misses %.1f (I %.1f, D read %.1f, D write %.1f), L2 misses %.1f\n",
			lib, e, $1 / e, ($2 + $5 + $8) / e, $2 / e, $5 / e, $8 / e, ($3 + $6 + $9) / e
		next
	}
	/file:function/ { f = 1; print; next }
	f && NF && n++ < 40 { print }'
cp "$dir/b.out" "perf/cg-$lib.out" # whole run, for line-level cg_annotate
rm -rf "$dir"
