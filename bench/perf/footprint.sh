#!/usr/bin/env bash
# footprint.sh LIB [CONNS] [SIZE] [N] - the server's code footprint per
# echo: how many 64-byte lines of machine code it runs for every echo
# (cmd/hotlines), and in which functions. As cachegrind.sh does, it runs
# LIB's bench-server twice, here under valgrind's callgrind with
# per-instruction counts, serving N and then 2N closed-loop echoes per
# connection, so that start-up and handshakes drop out.
#
# Why it matters: the kernel's network path runs between every two
# echoes and evicts user code from the core's caches, so the lines a
# server runs per echo are fetched again each time (the code-thin and
# code-fat variants measure the price; bench/README, Caveats). Callgrind
# needs Go's asynchronous preemption off (its signals trip an
# assertion). Run from bench/.
set -eu
lib=$1 conns=${2:-256} size=${3:-16} n=${4:-100}
dir=$(mktemp -d)
go build -o "$dir/bench-server" ./cmd/bench-server
go build -o "$dir/echo-count" ./cmd/echo-count
go build -o "$dir/hotlines" ./cmd/hotlines
run() { # run COUNT OUT
	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --dump-instr=yes \
		--callgrind-out-file="$2" "$dir/bench-server" -lib "$lib" \
		>"$dir/srv.log" 2>"$dir/vg.log" &
	local vg=$! addr=
	for _ in $(seq 1 300); do
		addr=$(sed -n 's/^ws=\([^ ]*\) .*/\1/p' "$dir/srv.log")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { echo "bench-server did not start" >&2; cat "$dir/vg.log" >&2; exit 1; }
	"$dir/echo-count" -addr "$addr" -conns "$conns" -size "$size" -n "$1" -think "${THINK:-2ms}"
	sleep 1
	kill -TERM "$vg"
	wait "$vg" || true
}
run "$n" "$dir/a.out"
run $((2 * n)) "$dir/b.out"
"$dir/hotlines" -echoes $((conns * n)) -top "${TOP:-40}" "$dir/a.out" "$dir/b.out"
rm -rf "$dir"
