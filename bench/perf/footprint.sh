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
go build -o "$dir/hotlines" ./cmd/hotlines
. perf/valgrind-echoes.sh
run() { # run COUNT OUT
	GODEBUG=asyncpreemptoff=1 serve_echoes "$1" --tool=callgrind --dump-instr=yes --callgrind-out-file="$2"
}
run "$n" "$dir/a.out"
run $((2 * n)) "$dir/b.out"
"$dir/hotlines" -echoes $((conns * n)) -top "${TOP:-40}" "$dir/a.out" "$dir/b.out"
rm -rf "$dir"
