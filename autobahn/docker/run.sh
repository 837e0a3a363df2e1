#!/usr/bin/env bash
# Runs the real Autobahn testsuite (the crossbario/autobahn-testsuite Docker
# image) against hybi's testees, then checks the reports with hybi's bar:
# every case OK, INFORMATIONAL only for 7.1.6, 7.13.1 and 7.13.2.
#
#   autobahn/docker/run.sh [server|client|both] [-raw]
#
#   server: hybi's echo server on 127.0.0.1:9001, the suite in fuzzingclient
#           mode (config/fuzzingclient.json)
#   client: the suite in fuzzingserver mode on 127.0.0.1:9001
#           (config/fuzzingserver.json), hybi's client testee against it
#
# Reports land in autobahn/docker/reports/{servers,clients}/ (index.html,
# index.json). The container uses host networking (Linux), so that it and
# the testees meet on 127.0.0.1. Needs docker and go; run from anywhere.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-both}
raw=${2:-}
image=crossbario/autobahn-testsuite
port=9001
status=0

cd "$root"
mkdir -p "$here/reports"
go build -o "$here/reports/testee-server" ./autobahn/cmd/testee-server
go build -o "$here/reports/testee-client" ./autobahn/cmd/testee-client
go build -o "$here/reports/compliance" ./autobahn/cmd/compliance

wait_port() {
	i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 120 ] && { echo "nothing listens on port $port" >&2; return 1; }
		sleep 0.5
	done
}

if [ "$mode" = server ] || [ "$mode" = both ]; then
	"$here/reports/testee-server" -addr "127.0.0.1:$port" $raw &
	testee=$!
	trap 'kill $testee 2>/dev/null || true' EXIT
	wait_port
	docker run --rm --network host \
		-v "$here/config:/config" -v "$here/reports:/reports" \
		"$image" wstest -m fuzzingclient -s /config/fuzzingclient.json
	kill "$testee" 2>/dev/null || true
	trap - EXIT
	"$here/reports/compliance" -check "$here/reports/servers/index.json" || status=1
fi

if [ "$mode" = client ] || [ "$mode" = both ]; then
	docker run -d --rm --network host --name hybi-fuzzingserver \
		-v "$here/config:/config" -v "$here/reports:/reports" \
		"$image" wstest -m fuzzingserver -s /config/fuzzingserver.json
	trap 'docker stop hybi-fuzzingserver >/dev/null 2>&1 || true' EXIT
	wait_port
	"$here/reports/testee-client" -url "ws://127.0.0.1:$port" -agent hybi $raw || status=1
	docker stop hybi-fuzzingserver >/dev/null 2>&1 || true
	trap - EXIT
	"$here/reports/compliance" -check "$here/reports/clients/index.json" || status=1
fi

exit $status
