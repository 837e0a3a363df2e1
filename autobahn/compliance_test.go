package autobahn

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/autobahn/suite"
	"github.com/hybi-go/hybi/autobahn/testee"
	"github.com/hybi-go/hybi/conn/poll"
)

// The tests here run hundreds of connections each; they skip under -short.
// They run one after another (no t.Parallel) to keep the load to one peer
// at a time.

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the case catalogue; skipped with -short")
	}
}

// skipRace skips tests of the runner itself under the race detector, which
// makes the catalogue ten times slower; CI runs them without it.
func skipRace(t *testing.T) {
	if raceEnabled {
		t.Skip("checks the runner, not hybi; too slow under -race (CI runs it without)")
	}
}

func opts(agent string, deflateMessages int) *suite.Options {
	return &suite.Options{Agent: agent, DeflateMessages: deflateMessages}
}

// reportFailures fails t for every result below hybi's bar, and writes
// the report where the failures can be studied.
func reportFailures(t *testing.T, res []*suite.Result, want int, allow func(*suite.Result) bool) {
	t.Helper()
	if len(res) != want {
		t.Errorf("%d results for %d cases", len(res), want)
	}
	n := 0
	for _, r := range Failures(res) {
		if allow != nil && allow(r) {
			continue
		}
		n++
		t.Errorf("case %s: %s / %s: %s (%s)", r.ID, r.Behavior, r.BehaviorClose, r.Result, r.ResultClose)
	}
	if n > 0 {
		dir := filepath.Join(t.TempDir(), "report")
		if err := suite.WriteReport(dir, map[string][]*suite.Result{res[0].Agent: res}); err == nil {
			t.Logf("report: %s", dir)
		}
	}
}

// TestCompliance runs the whole catalogue against hybi's echo server and
// client testee, on the Default session and on the Raw one: every case
// must be OK, but the informational ones.
func TestCompliance(t *testing.T) {
	skipShort(t)
	ctx := context.Background()
	all := suite.Catalogue()
	rawCases := all
	if raceEnabled {
		// Under the race detector the catalogue takes over ten minutes:
		// run the sections where hybi's goroutines meet (pings, close
		// handshakes, fragments with control frames) plus a few of each
		// other section. CI also runs everything without -race.
		all = suite.Select(all, []string{"1.1.*", "2.*", "3.*", "4.*", "5.*", "6.2.*", "7.*", "10.*", "12.1.*", "13.1.*"}, nil)
		rawCases = suite.Select(all, []string{"2.*", "5.*", "7.*", "12.1.*", "13.1.*"}, nil)
	}
	t.Run("server", func(t *testing.T) {
		res, err := RunHybiServer(ctx, testee.Options{}, all, opts("hybi-server", 100))
		if err != nil {
			t.Fatal(err)
		}
		reportFailures(t, res, len(all), nil)
	})
	t.Run("poll-server", func(t *testing.T) {
		p, err := poll.New(nil)
		if err != nil {
			t.Skipf("conn/poll: %v", err)
		}
		defer p.Close()
		res, err := RunHybiServer(ctx, testee.Options{Poller: p}, all, opts("hybi-poll-server", 100))
		if err != nil {
			t.Fatal(err)
		}
		reportFailures(t, res, len(all), nil)
	})
	t.Run("client", func(t *testing.T) {
		res, err := RunClient(ctx, HybiClient(testee.Options{}), all, opts("hybi-client", 100))
		if err != nil {
			t.Error(err)
		}
		reportFailures(t, res, len(all), nil)
	})
	t.Run("raw-server", func(t *testing.T) {
		res, err := RunHybiServer(ctx, testee.Options{Raw: true}, rawCases, opts("hybi-raw-server", 100))
		if err != nil {
			t.Fatal(err)
		}
		reportFailures(t, res, len(rawCases), nil)
	})
	t.Run("raw-client", func(t *testing.T) {
		res, err := RunClient(ctx, HybiClient(testee.Options{Raw: true}), rawCases, opts("hybi-raw-client", 100))
		if err != nil {
			t.Error(err)
		}
		reportFailures(t, res, len(rawCases), nil)
	})
}

// TestBrokenTestee checks the runner itself: a testee with one fault must
// fail exactly the cases that cover it.
func TestBrokenTestee(t *testing.T) {
	skipShort(t)
	skipRace(t)
	ctx := context.Background()
	failing := func(res []*suite.Result) []string {
		var ids []string
		for _, r := range Failures(res) {
			ids = append(ids, r.ID)
		}
		return ids
	}
	t.Run("skip-utf8", func(t *testing.T) {
		cases := suite.Select(suite.Catalogue(), []string{"1.1.*", "6.*", "7.5.1"}, nil)
		res, err := RunHybiServer(ctx, testee.Options{Raw: true, SkipUTF8: true}, cases, opts("no-utf8", 0))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, c := range cases {
			if c.HasTag("invalid-utf8") {
				want = append(want, c.ID)
			}
		}
		if got := failing(res); !slices.Equal(got, want) {
			t.Errorf("failing cases:\n got %v\nwant %v", got, want)
		}
		if len(want) < 60 {
			t.Errorf("only %d cases tagged invalid-utf8", len(want))
		}
	})
	t.Run("ignore-close", func(t *testing.T) {
		// A testee that never answers a close frame fails the cases where
		// the runner starts the closing handshake, and only those.
		cases := suite.Select(suite.Catalogue(), []string{"1.1.*", "2.*", "3.*", "7.*"}, nil)
		o := opts("good", 0)
		o.CloseTimeout = 300 * time.Millisecond
		good, err := RunHybiServer(ctx, testee.Options{Raw: true}, cases, o)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range good {
			// 7.3.6 sends a close frame too long for a control frame: the
			// testee fails it as a framing error and never gets to
			// (not) answering it.
			if r.ExpectedClose.ClosedByMe && !Informational[r.ID] && r.ID != "7.3.6" {
				want = append(want, r.ID)
			}
		}
		o.Agent = "no-close"
		bad, err := RunHybiServer(ctx, testee.Options{Raw: true, IgnoreClose: true}, cases, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := failing(bad); !slices.Equal(got, want) {
			t.Errorf("failing cases:\n got %v\nwant %v", got, want)
		}
		if len(failing(good)) != 0 {
			t.Errorf("the good testee failed %v", failing(good))
		}
	})
}

// nodeWS returns the node binary and this package's node directory, or
// skips (fails under CI=true) when node or the ws package is missing.
func nodeWS(t *testing.T) (string, string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (run `npm ci` in interop/node)", what)
		}
		t.Skipf("%s is missing (run `npm ci` in interop/node)", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "node")
	if _, err := os.Stat(filepath.Join(dir, "..", "..", "interop", "node", "node_modules", "ws")); err != nil {
		missing("the ws package")
	}
	return node, dir
}

// nodeAllowed are the verdicts Node's ws earns besides OK, as in the real
// suite: it validates UTF-8 at the end of a message, not as it arrives, so
// the fail-fast cases are NON-STRICT.
func nodeAllowed(r *suite.Result) bool {
	return strings.HasPrefix(r.ID, "6.4.") && r.Verdict() == suite.NonStrict
}

// TestNodeWS checks the runner against a reference implementation: Node's
// ws must pass the whole catalogue in both roles.
func TestNodeWS(t *testing.T) {
	skipShort(t)
	skipRace(t)
	node, dir := nodeWS(t)
	ctx := context.Background()
	all := suite.Catalogue()
	const deflateMessages = 20 // ws is slow with small fragments; keep it short
	t.Run("server", func(t *testing.T) {
		cmd := exec.Command(node, filepath.Join(dir, "server.js"), "0")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Kill()
			cmd.Wait()
		}()
		port, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatal("no port from server.js:", err)
		}
		res := RunServer(ctx, "ws://127.0.0.1:"+strings.TrimSpace(port), all, opts("ws-server", deflateMessages))
		reportFailures(t, res, len(all), nodeAllowed)
	})
	t.Run("client", func(t *testing.T) {
		client := func(ctx context.Context, base, agent string) error {
			cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "client.js"), base, agent)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			return cmd.Run()
		}
		res, err := RunClient(ctx, client, all, opts("ws-client", deflateMessages))
		if err != nil {
			t.Error(err)
		}
		reportFailures(t, res, len(all), nodeAllowed)
	})
}

// TestClientTesteeRealSuiteProtocol runs both client testees through a
// few cases of each kind against the runner, whose command endpoints end
// as the real suite's do (a close frame with no status code). It is short
// enough to run under -short too.
func TestClientTesteeRealSuiteProtocol(t *testing.T) {
	ctx := context.Background()
	cases := suite.Select(suite.Catalogue(), []string{"1.1.1", "2.1", "5.1", "6.1.1", "7.1.1", "12.1.1", "13.1.1"}, nil)
	for _, o := range []testee.Options{{}, {Raw: true}} {
		agent := "hybi-client"
		if o.Raw {
			agent = "hybi-raw-client"
		}
		t.Run(agent, func(t *testing.T) {
			res, err := RunClient(ctx, HybiClient(o), cases, opts(agent, 10))
			if err != nil {
				t.Fatal(err)
			}
			reportFailures(t, res, len(cases), nil)
		})
	}
}
