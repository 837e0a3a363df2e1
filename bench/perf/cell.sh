#!/usr/bin/env bash
# cell.sh LIB SIZE [CONNS] - perf record -g of LIB's bench-server during one
# echo cell (6 s measured), written to perf-LIB.data here. Run from bench/.
# Needs perf; its samples include kernel time, which pprof folds into the
# system call. Split them with phase.awk:
#   perf script -i perf/perf-hybi.data | awk -f perf/phase.awk
set -eu
lib=$1 size=$2 conns=${3:-256}
out=$(mktemp -d)
go run ./cmd/matrix -only echo -libs "$lib" -sizes "$size" -conns "$conns" -d 6s -out "$out" >"$out/log" 2>&1 &
m=$!
pid=
for _ in $(seq 1 300); do
	pid=$(pgrep -f "bench-server -lib $lib " | head -1 || true)
	[ -n "$pid" ] && break
	sleep 0.1
done
[ -n "$pid" ] || { echo "no bench-server for $lib" >&2; kill $m; exit 1; }
sleep 4.5 # the warm-up cell, the dial, the cell's own warm-up
perf record -g -F 5000 -o "perf/perf-$lib.data" -p "$pid" -- sleep 3 >/dev/null 2>&1
wait $m
grep -E "^[0-9:]+ echo " "$out/log" | tail -1
