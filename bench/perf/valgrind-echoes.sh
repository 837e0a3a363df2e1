# valgrind-echoes.sh, sourced by cachegrind.sh and footprint.sh: builds
# bench-server and echo-count into $dir, and defines
#
#	serve_echoes COUNT VALGRIND-ARGS...
#
# which runs LIB's bench-server under valgrind with VALGRIND-ARGS while
# echo-count sends COUNT closed-loop echoes of SIZE bytes on each of
# CONNS connections, then stops it. Needs lib, conns, size and dir set.
go build -o "$dir/bench-server" ./cmd/bench-server
go build -o "$dir/echo-count" ./cmd/echo-count
serve_echoes() {
	local count=$1
	shift
	valgrind "$@" "$dir/bench-server" -lib "$lib" >"$dir/srv.log" 2>"$dir/vg.log" &
	local vg=$! addr=
	for _ in $(seq 1 300); do
		addr=$(sed -n 's/^ws=\([^ ]*\) .*/\1/p' "$dir/srv.log")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { echo "bench-server did not start" >&2; cat "$dir/vg.log" >&2; exit 1; }
	"$dir/echo-count" -addr "$addr" -conns "$conns" -size "$size" -n "$count" -think "${THINK:-2ms}"
	sleep 1 # let the server see the connections close
	kill -TERM "$vg"
	wait "$vg" || true
}
