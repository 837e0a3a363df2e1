#!/usr/bin/env bash
# ab.sh LIB_A LIB_B [ROUNDS] [N] [CONNS] [SIZE] - server CPU per echo of
# two servers, measured in alternating order (A B B A A B ...) so that the
# machine's drift, which moves one server's figure by up to 30% over
# minutes here, falls on both alike. Each server runs in its own
# bench-server process for the whole comparison; each round sends N
# closed-loop echoes per connection over CONNS connections (cmd/echo-count)
# and reads the server's user and system time from /proc. Prints every
# run and the means, in µs per echo.
#
# BIN_A and BIN_B, if set, are bench-server binaries to use for A and B
# (built from two versions of the code, to measure a change: then LIB_A
# and LIB_B may be the same library). Linux only. Run from bench/.
set -eu
la=$1 lb=$2 rounds=${3:-8} n=${4:-1500} conns=${5:-256} size=${6:-16}
dir=$(mktemp -d)
pa= pb=
trap 'kill $pa $pb 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/bench-server" ./cmd/bench-server
go build -o "$dir/echo-count" ./cmd/echo-count
"${BIN_A:-$dir/bench-server}" -lib "$la" >"$dir/a.log" 2>&1 &
pa=$!
"${BIN_B:-$dir/bench-server}" -lib "$lb" >"$dir/b.log" 2>&1 &
pb=$!
addr() { # addr LOG
	local a=
	for _ in $(seq 1 100); do
		a=$(sed -n 's/^ws=\([^ ]*\) .*/\1/p' "$1")
		[ -n "$a" ] && break
		sleep 0.1
	done
	[ -n "$a" ] || { echo "bench-server did not start: $(cat "$1")" >&2; exit 1; }
	echo "$a"
}
aa=$(addr "$dir/a.log")
ab=$(addr "$dir/b.log")
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; } # utime, stime in clock ticks
run() { # run NAME PID ADDR
	local u0 s0 u1 s1
	read -r u0 s0 < <(cpu "$2")
	"$dir/echo-count" -addr "$3" -conns "$conns" -n "$n" -size "$size"
	read -r u1 s1 < <(cpu "$2")
	echo "$1 $((u1 - u0)) $((s1 - s0))"
}
# Unrecorded warm-up of both.
"$dir/echo-count" -addr "$aa" -conns "$conns" -n 200 -size "$size"
"$dir/echo-count" -addr "$ab" -conns "$conns" -n 200 -size "$size"
hz=$(getconf CLK_TCK)
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order="A B"; else order="B A"; fi
	for x in $order; do
		if [ "$x" = A ]; then run "A:$la" "$pa" "$aa"; else run "B:$lb" "$pb" "$ab"; fi
	done
done | awk -v e=$((n * conns)) -v hz="$hz" '
	{
		u = $2 * 1e6 / hz / e; s = $3 * 1e6 / hz / e
		printf "%-24s user %6.3f  sys %6.3f  total %6.3f µs/echo\n", $1, u, s, u + s
		su[$1] += u; ss[$1] += s; k[$1]++
	}
	END {
		for (x in su) printf "MEAN %-19s user %6.3f  sys %6.3f  total %6.3f µs/echo\n", x, su[x] / k[x], ss[x] / k[x], (su[x] + ss[x]) / k[x]
	}'
