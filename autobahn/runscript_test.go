package autobahn

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/autobahn/suite"
)

// stubDocker is a docker command for run.sh's tests: it logs its command
// line to $STUB_LOG, answers `docker logs` with the suite's ready line,
// and for `docker run ... fuzzingclient` copies $STUB_INDEX (if set) to
// servers/index.json under the directory mounted on /reports.
const stubDocker = `#!/usr/bin/env bash
echo "docker $*" >>"$STUB_LOG"
case "$1" in
logs) echo "Ok, will run 517 test cases for any clients connecting"; exit 0 ;;
run) ;;
*) exit 0 ;;
esac
reports= prev=
for a in "$@"; do
	if [ "$prev" = -v ]; then
		case "$a" in *:/reports) reports=${a%:/reports} ;; esac
	fi
	prev=$a
done
case " $* " in
*" fuzzingclient "*)
	if [ -n "${STUB_INDEX:-}" ]; then
		mkdir -p "$reports/servers" && cp "$STUB_INDEX" "$reports/servers/index.json"
	fi ;;
*" -d "*) echo 0123456789ab ;;
esac
`

// runScript runs autobahn/docker/run.sh with the stub docker first on
// PATH and returns its combined output, the docker command lines it ran
// and its exit code.
func runScript(t *testing.T, env []string, args ...string) (string, []string, int) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is missing")
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(stubDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(bin, "docker.log")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"docker/run.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "STUB_LOG="+logFile)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run.sh: %v\n%s", err, out)
		}
		code = ee.ExitCode()
	}
	var calls []string
	if b, err := os.ReadFile(logFile); err == nil {
		calls = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return string(out), calls, code
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// writeIndex writes an index.json in the suite's layout for agent with
// the given verdict for each case of cases.
func writeIndex(t *testing.T, path, agent string, cases []*suite.Case, verdict func(id string) string) {
	t.Helper()
	type entry struct {
		Behavior      string `json:"behavior"`
		BehaviorClose string `json:"behaviorClose"`
	}
	index := map[string]map[string]entry{}
	if agent != "" {
		index[agent] = map[string]entry{}
		for _, c := range cases {
			index[agent][c.ID] = entry{verdict(c.ID), suite.OK}
		}
	}
	b, err := json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func allOK(id string) string {
	if Informational[id] {
		return suite.Informational
	}
	return suite.OK
}

// TestRunScript checks autobahn/docker/run.sh with a stub docker: the
// arguments it accepts, the docker command lines it runs, that it clears
// old reports and that it fails on a report without every case.
func TestRunScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the testees; skipped with -short")
	}
	reports := filepath.Join("docker", "reports")
	stale := filepath.Join(reports, "servers", "index.json")

	t.Run("unknown arguments", func(t *testing.T) {
		for _, args := range [][]string{{"serve"}, {"server", "-x"}, {"server", "client"}, {"-raw", "-raw"}, {"--raw"}} {
			out, calls, code := runScript(t, nil, args...)
			if code != 2 || len(calls) != 0 || !strings.Contains(out, "usage:") {
				t.Errorf("run.sh %v: exit %d, docker calls %q, output %q; want exit 2, usage, no docker", args, code, calls, out)
			}
		}
	})

	t.Run("server", func(t *testing.T) {
		all := suite.Catalogue()
		good := filepath.Join(t.TempDir(), "good.json")
		writeIndex(t, good, "hybi", all, allOK)
		partial := filepath.Join(t.TempDir(), "partial.json")
		writeIndex(t, partial, "hybi", all[:100], allOK)
		empty := filepath.Join(t.TempDir(), "empty.json")
		writeIndex(t, empty, "", nil, nil)
		for _, tc := range []struct {
			name, index string
			want        int
		}{
			{"complete", good, 0},
			{"empty", empty, 1},
			{"partial", partial, 1},
			{"none, an old one left", "", 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// An old complete report must not be the one checked.
				writeIndex(t, stale, "hybi", all, allOK)
				port := freePort(t)
				out, calls, code := runScript(t, []string{"AUTOBAHN_PORT=" + port, "STUB_INDEX=" + tc.index}, "server", "-raw")
				if code != tc.want {
					t.Errorf("exit %d, want %d\n%s", code, tc.want, out)
				}
				if len(calls) != 1 {
					t.Fatalf("docker calls %q, want one run", calls)
				}
				for _, want := range []string{"run --rm ", "--network host", "crossbario/autobahn-testsuite:0.8.2 ", "wstest -m fuzzingclient -s /config/fuzzingclient.json"} {
					if !strings.Contains(calls[0], want) {
						t.Errorf("docker call %q lacks %q", calls[0], want)
					}
				}
				spec, err := os.ReadFile(filepath.Join(reports, "config", "fuzzingclient.json"))
				if err != nil || !strings.Contains(string(spec), "ws://127.0.0.1:"+port) {
					t.Errorf("the spec does not name the testee's port %s: %s %v", port, spec, err)
				}
			})
		}
	})

	t.Run("client", func(t *testing.T) {
		// The stub's fuzzing server is the runner, with three cases: the
		// client testee completes the protocol against it, and the check
		// then fails because 514 of the 517 cases have no verdict.
		cases := suite.Select(suite.Catalogue(), []string{"1.1.1", "2.1", "7.1.1"}, nil)
		srv := &suite.Server{Cases: cases, Opts: &suite.Options{}}
		srv.OnUpdateReports = func(agent string) {
			suite.WriteReport(filepath.Join(reports, "clients"), map[string][]*suite.Result{agent: srv.Results(agent)})
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		out, calls, code := runScript(t, []string{"AUTOBAHN_PORT=" + port}, "client")
		if code != 1 || !strings.Contains(out, "missing: 514 of 517 cases have no verdict") {
			t.Errorf("exit %d, want 1 with 514 cases missing\n%s", code, out)
		}
		if got := len(srv.Results("hybi")); got != len(cases) {
			t.Errorf("the client testee ran %d cases, want %d\n%s", got, len(cases), out)
		}
		if len(calls) == 0 {
			t.Fatal("no docker call")
		}
		for _, want := range []string{"run -d --rm ", "-p 127.0.0.1:" + port + ":" + port, "crossbario/autobahn-testsuite:0.8.2 ", "wstest -m fuzzingserver -s /config/fuzzingserver.json --webport 0"} {
			if !strings.Contains(calls[0], want) {
				t.Errorf("docker call %q lacks %q", calls[0], want)
			}
		}
		if strings.Contains(calls[0], "--network host") {
			t.Errorf("docker call %q: the fuzzing server must be published on 127.0.0.1 only, not on the host's network", calls[0])
		}
		if last := calls[len(calls)-1]; !strings.HasPrefix(last, "docker stop ") {
			t.Errorf("last docker call %q, want a stop", last)
		}
	})
}
