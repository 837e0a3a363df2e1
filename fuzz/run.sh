#!/usr/bin/env bash
# run.sh runs every native Go fuzz target of the module, one at a time, and
# prints a table of target, status and execs/sec. See fuzz/README.md.
#
#   FUZZTIME=10s fuzz/run.sh              # CI: 10s per target (the default)
#   FUZZTIME=10m fuzz/run.sh              # a long run
#   FUZZTIME=1000x fuzz/run.sh            # a fixed number of executions
#   TARGETS='Header|RawRead' fuzz/run.sh  # only targets matching a regexp
#
# Other knobs: FUZZPARALLEL (fuzz workers per target, default 1),
# FUZZMINTIME (-fuzzminimizetime, default 5s), PKGS (packages, default ./...).
# Exits non-zero if any target failed; the failing input is written by go
# test to <pkg>/testdata/fuzz/<Target>/ and its output is kept in the log
# directory printed at the end.
set -uo pipefail

cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10s}
FUZZPARALLEL=${FUZZPARALLEL:-1}
FUZZMINTIME=${FUZZMINTIME:-5s}
TARGETS=${TARGETS:-.}
PKGS=${PKGS:-./...}
LOGDIR=${LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/hybi-fuzz.XXXXXX")}
mkdir -p "$LOGDIR" || exit 1

# seconds converts a Go duration as go test prints it (1h2m3s, 4m0s, 10s,
# 1.5s) to whole seconds.
seconds() {
	local d=$1 total=0 num
	while [[ $d =~ ^([0-9.]+)(h|m|s)(.*)$ ]]; do
		num=${BASH_REMATCH[1]%%.*}
		case ${BASH_REMATCH[2]} in
		h) total=$((total + num * 3600)) ;;
		m) total=$((total + num * 60)) ;;
		s) total=$((total + num)) ;;
		esac
		d=${BASH_REMATCH[3]}
	done
	echo "$total"
}

# The test binary's own timeout: the fuzzing time plus ten minutes for
# building, the seed corpus and the last minimization.
if [[ $FUZZTIME =~ x$ ]]; then
	TIMEOUT=60m
else
	TIMEOUT="$(($(seconds "$FUZZTIME") + 600))s"
fi

# Discover the targets: "pkg FuzzName" per line.
mapfile -t pkgs < <(go list "$PKGS")
targets=()
for pkg in "${pkgs[@]}"; do
	# Only packages with test files that mention a fuzz target.
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -qs 'func Fuzz' "$dir"/*_test.go || continue
	while read -r name; do
		[[ $name == Fuzz* ]] || continue
		[[ $name =~ $TARGETS ]] || continue
		targets+=("$pkg $name")
	done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null)
done
if [[ ${#targets[@]} -eq 0 ]]; then
	echo "run.sh: no fuzz targets found" >&2
	exit 1
fi

failed=0
rows=()
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	short=${pkg#github.com/hybi-go/hybi/}
	log="$LOGDIR/${short//\//_}.$name.log"
	echo "=== $short $name (FUZZTIME=$FUZZTIME)" >&2
	status=clean
	for attempt in 1 2; do
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINTIME" \
			-parallel "$FUZZPARALLEL" -timeout "$TIMEOUT" "$pkg" >"$log" 2>&1
		rc=$?
		[[ $rc -eq 0 ]] && { status=clean; break; }
		# go's fuzzing engine sometimes fails a target when -fuzztime runs
		# out while a worker is mid-call (golang/go#75804, #51484): the log
		# says "context deadline exceeded" and no input is written. A real
		# finding always writes its input or names a test line; only the
		# former is retried, once, and never hides a finding.
		if ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:|fatal error:' "$log" &&
			grep -q 'context deadline exceeded' "$log"; then
			status=flaky
			echo "    engine deadline flake (no input written); attempt $attempt" >&2
			continue
		fi
		status=FAILED
		failed=1
		tail -n 40 "$log" | sed 's/^/    /' >&2
		# The input itself, so that a finding on a machine that is then
		# thrown away (CI) can be checked in from its log.
		input=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]+).*/\1/p' "$log" | tail -1)
		dir=$(go list -f '{{.Dir}}' "$pkg")
		if [[ -n $input && -f $dir/$input ]]; then
			echo "    --- $short/$input:" >&2
			sed 's/^/    /' "$dir/$input" >&2
		fi
		break
	done
	# Overall rate from the last progress line: total execs / elapsed.
	last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1)
	rate=-
	if [[ $last =~ elapsed:\ ([0-9hms.]+),\ execs:\ ([0-9]+) ]]; then
		secs=$(seconds "${BASH_REMATCH[1]}")
		execs=${BASH_REMATCH[2]}
		if [[ $secs -gt 0 ]]; then
			rate=$((execs / secs))
		else
			rate=$execs
		fi
	fi
	rows+=("$(printf '%-12s %-22s %-7s %10s' "$short" "$name" "$status" "$rate")")
done

printf '\n%-12s %-22s %-7s %10s\n' package target status execs/sec
for r in "${rows[@]}"; do
	echo "$r"
done
echo "logs: $LOGDIR"
exit $failed
