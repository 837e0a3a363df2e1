package interop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// peerTimeout bounds the whole life of one peer process, so a wedged peer
// cannot outlive the test that started it.
const peerTimeout = 5 * time.Minute

// A peer is a real WebSocket implementation driven through its scripts
// server.{js,py} and client.{js,py} in its own directory.
type peer struct {
	name string
	dir  string // relative to the package directory
	// argv returns the command line that runs script (server or client).
	argv func(script string, args ...string) []string
	// missing returns why the peer cannot run here, or "" if it can.
	missing func() string
}

var peers = []peer{
	{
		name: "node-ws",
		dir:  "node",
		argv: func(script string, args ...string) []string {
			return append([]string{"node", script + ".js"}, args...)
		},
		missing: func() string {
			if _, err := exec.LookPath("node"); err != nil {
				return "node is not installed"
			}
			if _, err := os.Stat(filepath.Join("node", "node_modules", "ws", "package.json")); err != nil {
				return "node ws is not installed: run `npm ci` in interop/node"
			}
			return ""
		},
	},
	{
		name: "python-websockets",
		dir:  "python",
		argv: func(script string, args ...string) []string {
			// Debian's python3-websockets lives under /usr/bin/python3; a
			// python3 earlier on PATH may lack it.
			return append([]string{"/usr/bin/python3", script + ".py"}, args...)
		},
		missing: func() string {
			out, err := exec.Command("/usr/bin/python3", "-c", "import websockets").CombinedOutput()
			if err != nil {
				return fmt.Sprintf("python websockets is not importable by /usr/bin/python3 (%v: %s): run `apt-get install -y python3-websockets`",
					err, bytes.TrimSpace(out))
			}
			return ""
		},
	},
}

// peerNamed returns the peer called name.
func peerNamed(t *testing.T, name string) peer {
	t.Helper()
	for _, p := range peers {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("no peer %q", name)
	return peer{}
}

// require skips the test when the peer is not installed, except under CI
// (CI=true), where a missing peer means .ci/run is broken and must fail.
func (p peer) require(t *testing.T) {
	t.Helper()
	why := p.missing()
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("peer %s unavailable under CI: %s", p.name, why)
	}
	skipMissing(t, p.name, why)
}

// A process is a running peer script. Its stdout is kept as lines.
type process struct {
	cmd    *exec.Cmd
	out    *lineBuffer
	stderr *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, set before done is closed
}

// start runs p's script with args. The process is killed and reaped when
// the test ends; its stderr is logged if the test failed.
func (p peer) start(t *testing.T, script string, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	argv := p.argv(script, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = p.dir
	// Kill (the default Cancel) then give up on the pipes after WaitDelay,
	// so Wait cannot hang on a grandchild holding stdout open.
	cmd.WaitDelay = 5 * time.Second
	pr := &process{cmd: cmd, out: newLineBuffer(), stderr: new(syncbuf.Buffer), cancel: cancel, done: make(chan struct{})}
	cmd.Stdout = pr.out
	cmd.Stderr = pr.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", strings.Join(argv, " "), err)
	}
	go func() {
		pr.err = cmd.Wait()
		close(pr.done)
	}()
	t.Cleanup(func() {
		pr.cancel()
		<-pr.done
		if s := pr.stderr.String(); t.Failed() && s != "" {
			t.Logf("%s stderr:\n%s", strings.Join(argv, " "), s)
		}
	})
	return pr
}

// startServer starts p's echo server on a free port, with args after the
// port, and returns its address, "127.0.0.1:PORT", read from the first line
// of its stdout.
func (p peer) startServer(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	pr := p.start(t, "server", append([]string{"0"}, args...)...)
	line, ok := pr.waitLine(10*time.Second, func(string) bool { return true })
	if !ok {
		t.Fatalf("%s server printed no port (exit: %v); stderr:\n%s", p.name, pr.exitErr(), pr.stderr.String())
	}
	port, err := strconv.Atoi(line)
	if err != nil || port <= 0 || port > 65535 {
		t.Fatalf("%s server: first line %q is not a port", p.name, line)
	}
	return pr, "127.0.0.1:" + strconv.Itoa(port)
}

// exitErr returns how the process ended, or nil while it runs.
func (pr *process) exitErr() error {
	select {
	case <-pr.done:
		if pr.err == nil {
			return errors.New("exited with status 0")
		}
		return pr.err
	default:
		return nil
	}
}

// waitLine returns the first stdout line for which match is true, waiting
// up to timeout for it to be printed. It gives up early if the process
// exits without printing one.
func (pr *process) waitLine(timeout time.Duration, match func(string) bool) (string, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		lines, changed := pr.out.snapshot()
		for _, l := range lines {
			if match(l) {
				return l, true
			}
		}
		select {
		case <-changed:
		case <-pr.done:
			// The copy into out is finished once Wait returned: look once more.
			lines, _ := pr.out.snapshot()
			for _, l := range lines {
				if match(l) {
					return l, true
				}
			}
			return "", false
		case <-timer.C:
			return "", false
		}
	}
}

// lineBuffer is an io.Writer that splits what is written into lines and
// wakes waiters at every new line.
type lineBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed and replaced when lines grows
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	grew := false
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, strings.TrimSuffix(string(b.partial[:i]), "\r"))
		b.partial = b.partial[i+1:]
		grew = true
	}
	if grew {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	return len(p), nil
}

// snapshot returns the complete lines so far and a channel closed when more
// arrive.
func (b *lineBuffer) snapshot() ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...), b.changed
}

// checkResults turns each "PASS name" or "FAIL name: why" line of a peer
// client's output into a subtest of that name, and checks that the client
// ran every check and exited 0.
func checkResults(t *testing.T, pr *process, wantChecks int) {
	t.Helper()
	lines, _ := pr.out.snapshot()
	ran := 0
	for _, l := range lines {
		verdict, rest, _ := strings.Cut(l, " ")
		if verdict != "PASS" && verdict != "FAIL" {
			t.Log(l)
			continue
		}
		ran++
		name, why, _ := strings.Cut(rest, ": ")
		t.Run(name, func(t *testing.T) {
			if verdict == "FAIL" {
				t.Error(why)
			}
		})
	}
	if ran != wantChecks {
		t.Errorf("the client reported %d checks, want %d", ran, wantChecks)
	}
	if pr.err != nil {
		t.Errorf("client exited: %v", pr.err)
	}
}
