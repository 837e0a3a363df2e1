#!/usr/bin/env bash
# Runs the real Autobahn testsuite (the crossbario/autobahn-testsuite Docker
# image) against hybi's testees, then checks the reports with hybi's bar:
# every case of the catalogue has a verdict, every one OK, INFORMATIONAL
# only for 7.1.6, 7.13.1 and 7.13.2.
#
#   autobahn/docker/run.sh [server|client|both] [-raw]
#
#   server: hybi's echo server on 127.0.0.1:PORT, the suite in
#           fuzzingclient mode (config/fuzzingclient.json) on the host's
#           network (Linux: it must reach the host's loopback)
#   client: the suite in fuzzingserver mode (config/fuzzingserver.json),
#           published on 127.0.0.1:PORT only, with no web server; hybi's
#           client testee against it
#   -raw:   the Raw-session testees instead of the Default ones
#
# Environment: AUTOBAHN_IMAGE (default: the pinned image below),
# AUTOBAHN_PORT (default 9001).
#
# Each run clears the previous reports first. Reports land in
# autobahn/docker/reports/{servers,clients}/ (index.html, index.json),
# written by the container as root. The image is linux/amd64. The whole
# catalogue takes about 20 minutes per role on 2 cores. Needs docker and
# go; run from anywhere.
set -eu

usage() {
	echo "usage: $0 [server|client|both] [-raw]" >&2
	exit 2
}

mode=
raw=
for arg in "$@"; do
	case "$arg" in
	server | client | both)
		[ -z "$mode" ] || { echo "$0: more than one mode" >&2 && usage; }
		mode=$arg
		;;
	-raw)
		[ -z "$raw" ] || usage
		raw=-raw
		;;
	*)
		echo "$0: unknown argument: $arg" >&2
		usage
		;;
	esac
done
mode=${mode:-both}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Pinned: the suite's verdicts are what hybi's bar is checked against, so
# they may change only when this line does.
image=${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite:0.8.2}
port=${AUTOBAHN_PORT:-9001}
case "$port" in
'' | *[!0-9]*) echo "$0: AUTOBAHN_PORT must be a port number" >&2 && exit 2 ;;
esac
reports=$here/reports
status=0

cd "$root"
mkdir -p "$reports"
rm -rf "$reports/servers" "$reports/clients" "$reports/config"
go build -o "$reports/testee-server" ./autobahn/cmd/testee-server
go build -o "$reports/testee-client" ./autobahn/cmd/testee-client
go build -o "$reports/compliance" ./autobahn/cmd/compliance

# The specs, with the port of this run.
mkdir -p "$reports/config"
for f in fuzzingclient.json fuzzingserver.json; do
	sed "s/127\.0\.0\.1:9001/127.0.0.1:$port/" "$here/config/$f" >"$reports/config/$f"
done

wait_port() {
	i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 120 ] && { echo "nothing listens on port $port" >&2; return 1; }
		sleep 0.5
	done
}

if [ "$mode" = server ] || [ "$mode" = both ]; then
	"$reports/testee-server" -addr "127.0.0.1:$port" $raw &
	testee=$!
	trap 'kill $testee 2>/dev/null || true' EXIT
	wait_port
	docker run --rm --platform linux/amd64 --network host \
		-v "$reports/config:/config:ro" -v "$reports:/reports" \
		"$image" wstest -m fuzzingclient -s /config/fuzzingclient.json || status=1
	kill "$testee" 2>/dev/null || true
	trap - EXIT
	"$reports/compliance" -check "$reports/servers/index.json" || status=1
fi

if [ "$mode" = client ] || [ "$mode" = both ]; then
	name=hybi-fuzzingserver-$$
	docker run -d --rm --platform linux/amd64 --name "$name" \
		-p "127.0.0.1:$port:$port" \
		-v "$reports/config:/config:ro" -v "$reports:/reports" \
		"$image" wstest -m fuzzingserver -s /config/fuzzingserver.json --webport 0
	trap 'docker stop "$name" >/dev/null 2>&1 || true' EXIT
	# Docker's port proxy accepts connections before the suite listens:
	# wait for the suite to say it is ready.
	i=0
	until docker logs "$name" 2>&1 | grep -q 'will run'; do
		i=$((i + 1))
		[ "$i" -gt 120 ] && { echo "the fuzzing server did not start" >&2; exit 1; }
		sleep 0.5
	done
	wait_port
	"$reports/testee-client" -url "ws://127.0.0.1:$port" -agent hybi $raw || status=1
	docker stop "$name" >/dev/null 2>&1 || true
	trap - EXIT
	"$reports/compliance" -check "$reports/clients/index.json" || status=1
fi

exit $status
