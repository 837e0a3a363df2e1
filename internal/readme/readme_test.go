// Package readme_test checks the repository's README.md as a newcomer reads
// it, top to bottom: the install section, followed in a fresh module
// outside the repository, gives a module in which the README's echo server
// and client compile as written and talk to each other; and every command
// the README shows either runs here as written or is listed below as one
// too long (or too privileged) to run in a test, with what is checked of it
// instead. A command added to the README without an entry here fails the
// test, and so does an entry the README no longer shows.
package readme_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/leakcheck"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"github.com/hybi-go/hybi/internal/testnet"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// root is the repository, from this package's directory.
const root = "../.."

// A command is how the test treats one command of the README.
type command struct {
	// run runs the command and checks what it did; nil for the commands
	// of the install section and of the fresh module, which
	// TestREADMEFreshModule runs in order.
	run func(t *testing.T, cmd string)
	// long, if not "", says why the command is not run here and where
	// it runs instead; check then checks what can be checked quickly.
	long  string
	check func(t *testing.T)
}

// commands lists every command in the README, by its text with runs of
// white space made one space.
var commands = map[string]command{
	// The two commands at the top.
	"go run ./autobahn/cmd/compliance": {long: "runs the whole catalogue for minutes; .ci/run's Autobahn step runs it (TestCompliance)",
		check: build("./autobahn/cmd/compliance")},
	"go test -race ./...": {long: "the test command this test runs under; .ci/run runs it"},

	// The install section and the fresh module, run by TestREADMEFreshModule.
	"go mod init example.com/echo":                               {},
	"go mod edit -replace github.com/hybi-go/hybi=/path/to/hybi": {},
	"go get github.com/hybi-go/hybi@v0.0.0":                      {},
	"go mod tidy":                                                {},
	"go run ./server":                                            {},
	"go run ./client":                                            {},
	// The README says this fails while the module is unpublished: it must,
	// or the README is out of date.
	"go get github.com/hybi-go/hybi@latest": {run: runGetLatest},

	// The echo example, as a server and as a client.
	"go run ./examples/echo":                                 {run: runEchoServer},
	"GODEBUG=http2xconnect=1 go run ./examples/echo -tls -v": {run: runEchoServer},
	"go run ./examples/echo -dial ws://HOST:PORT/PATH":       {run: runEchoClient},
	"go run ./cmd/hybi dial ws://...":                        {run: runEchoClient},

	// Long runs, run elsewhere.
	"go test -bench IdleConn ./conn": {long: "runs every conn test, then the benchmark (about a minute)",
		check: vet("./conn")},
	"go test -v ./interop": {long: "runs the interop suite against every peer (minutes); .ci/run runs it under go test -race ./...",
		check: vet("./interop")},
	"cd bench && go run ./cmd/matrix -only h2": {long: "a benchmark run; .ci/run runs the matrix's quick mode",
		check: exists("bench/cmd/matrix")},
	"cd bench && go run ./cmd/matrix -out results": {long: "the full benchmark matrix (about 11 minutes); .ci/run runs its quick mode",
		check: exists("bench/cmd/matrix")},
	"FUZZTIME=10m fuzz/run.sh": {long: "ten minutes per fuzz target; .ci/run runs fuzz/run.sh for 5s each",
		check: executable("fuzz/run.sh")},
	"autobahn/docker/run.sh": {long: "needs Docker", check: executable("autobahn/docker/run.sh")},

	// Beyond one machine: the cluster module, run by .ci/run's cluster steps.
	"cd cluster": {long: "the cluster module's commands below run in it", check: exists("cluster/go.mod")},
	"go install github.com/nats-io/nats-server/v2@v2.15.3 && nats-server -a 127.0.0.1 -p 4222 &": {
		long: "installs and starts a NATS server; the cluster tests start one in process", check: exists("cluster/go.mod")},
	"go run ./examples/cluster -node n1 -addr 127.0.0.1:8081 -broker nats://127.0.0.1:4222 &": {
		long: "needs a NATS server; TestMultiProcess runs three such nodes", check: exists("cluster/examples/cluster")},
	"go run ./examples/cluster -node n2 -addr 127.0.0.1:8082 -broker nats://127.0.0.1:4222 &": {
		long: "needs a NATS server; TestMultiProcess runs three such nodes", check: exists("cluster/examples/cluster")},
	"go test ./...": {long: "in cluster/: .ci/run's cluster step runs it under -race", check: exists("cluster/go.mod")},
	"go run ./cmd/clusterbench": {long: "a benchmark of a minute or more against real brokers",
		check: exists("cluster/cmd/clusterbench")},
	"go test -run TestMultiProcess ./examples/cluster": {long: "in cluster/: .ci/run runs it as a step of its own",
		check: exists("cluster/examples/cluster")},
	".ci/run": {long: "what CI runs, as root (installs packages)", check: executable(".ci/run")},
	"apt-get install python3-websockets chromium": {long: "installs system packages as root; .ci/run runs it"},
	"npm ci": {long: "installs Node's ws into interop/node; .ci/run runs it",
		check: exists("interop/node/package-lock.json")},
}

// readme is README.md, split into its fenced code blocks and the prose
// around them.
type readme struct {
	blocks []block
	prose  string
}

type block struct {
	lang string
	text string
}

func readREADME(t *testing.T) readme {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var r readme
	var prose strings.Builder
	var cur *block
	for _, line := range strings.SplitAfter(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &block{lang: strings.TrimPrefix(trimmed, "```")}
		case cur != nil && trimmed == "```":
			r.blocks = append(r.blocks, *cur)
			cur = nil
			prose.WriteString("\n")
		case cur != nil:
			cur.text += line
		default:
			prose.WriteString(line)
		}
	}
	if cur != nil {
		t.Fatal("README.md: a code block is not closed")
	}
	r.prose = prose.String()
	return r
}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	envVar   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=\S*$`)
	space    = regexp.MustCompile(`\s+`)
)

// commands returns every command the README shows: each line of its sh
// blocks (without its comment), and each code span of the prose that
// begins with a command.
func (r readme) commands() []string {
	var cmds []string
	for _, b := range r.blocks {
		if b.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(b.text, "\n") {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				cmds = append(cmds, space.ReplaceAllString(line, " "))
			}
		}
	}
	for _, m := range codeSpan.FindAllStringSubmatch(r.prose, -1) {
		if s := space.ReplaceAllString(strings.TrimSpace(m[1]), " "); isCommand(s) {
			cmds = append(cmds, s)
		}
	}
	return cmds
}

// isCommand reports whether a code span is a command: a program a reader
// would type (after any VAR=value settings), or a script of the
// repository.
func isCommand(s string) bool {
	words := strings.Fields(s)
	for len(words) > 0 && envVar.MatchString(words[0]) {
		words = words[1:]
	}
	if len(words) == 0 {
		return false // a setting alone, such as GODEBUG=http2xconnect=1
	}
	switch words[0] {
	case "go", "cd", "apt-get", "npm", "node", "python3", "bash", "sh", "git", "docker", "make":
		return true
	}
	return strings.HasSuffix(words[0], ".sh") || words[0] == ".ci/run"
}

// goPrograms returns the README's Go blocks that are whole programs.
func (r readme) goPrograms() []string {
	var progs []string
	for _, b := range r.blocks {
		if b.lang == "go" && strings.HasPrefix(b.text, "package main\n") {
			progs = append(progs, b.text)
		}
	}
	return progs
}

// installSection returns the lines of the sh block that follows the
// "## Install" heading.
func installSection(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Install\n")
	if i < 0 {
		t.Fatal(`README.md has no "## Install" section`)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	if next := strings.Index(s[1:], "\n## "); start < 0 || (next >= 0 && start > next) {
		t.Fatal("the Install section has no sh block")
	}
	s = s[start+len("```sh\n"):]
	s = s[:strings.Index(s, "```")]
	var cmds []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			cmds = append(cmds, space.ReplaceAllString(line, " "))
		}
	}
	return cmds
}

// Every command in the README is listed above, and every entry above is
// in the README.
func TestREADMECommandsListed(t *testing.T) {
	r := readREADME(t)
	seen := map[string]bool{}
	for _, c := range r.commands() {
		seen[c] = true
		if _, ok := commands[c]; !ok {
			t.Errorf("README.md shows the command %q, which readme_test.go does not list: add it to commands, run by the test or listed as long", c)
		}
	}
	for c := range commands {
		if !seen[c] {
			t.Errorf("readme_test.go lists %q, which README.md no longer shows", c)
		}
	}
}

// No passage of the README's prose is printed twice: no run of seven words
// appears in two places (an editing slip it had). A repeated stretch is
// reported once, by its first seven words.
func TestREADMENoRepeatedPassage(t *testing.T) {
	r := readREADME(t)
	words := strings.Fields(r.prose)
	const n = 7
	first := map[string]int{}
	inRepeat := false
	for i := 0; i+n <= len(words); i++ {
		run := strings.Join(words[i:i+n], " ")
		j, ok := first[run]
		if !ok {
			first[run] = i
		}
		repeated := ok && j+n <= i
		if repeated && !inRepeat {
			t.Errorf("README.md says twice: %q", run)
		}
		inRepeat = repeated
	}
}

// Every command of the README that is not long runs as written; the long
// ones get their quick check.
func TestREADMECommands(t *testing.T) {
	skipSlow(t)
	for c, how := range commands {
		if how.run == nil && how.check == nil {
			continue
		}
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			if how.run != nil {
				how.run(t, c)
			}
			if how.check != nil {
				how.check(t)
			}
		})
	}
}

// The install section, followed in a new module outside the repository,
// gives a module in which the README's echo server and client build and
// talk to each other: the client prints the "hello" the server echoed.
func TestREADMEFreshModule(t *testing.T) {
	skipSlow(t)
	t.Parallel()
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	r := readREADME(t)
	progs := r.goPrograms()
	if len(progs) != 2 || !strings.Contains(progs[0], "conn.Accept(") || !strings.Contains(progs[1], "conn.Dial(") {
		t.Fatalf("README.md has %d whole Go programs; want the echo server (conn.Accept) then the client (conn.Dial)", len(progs))
	}
	const readmeAddr = "127.0.0.1:8080"
	addr := testnet.FreeAddr(t)
	dir := t.TempDir() // outside the repository: no go.work or parent go.mod applies
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=")

	for _, c := range installSection(t) {
		c = strings.ReplaceAll(c, "/path/to/hybi", repo)
		sh(t, dir, env, c, 2*time.Minute)
	}
	for i, name := range []string{"server", "client"} {
		if !strings.Contains(progs[i], readmeAddr) {
			t.Fatalf("the README's %s does not use %s", name, readmeAddr)
		}
		src := strings.ReplaceAll(progs[i], readmeAddr, addr)
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sh(t, dir, env, "go mod tidy", 2*time.Minute)
	sh(t, dir, env, "go vet ./...", 2*time.Minute)
	if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err != nil || !strings.Contains(string(b), "github.com/hybi-go/hybi v0.0.0") {
		t.Fatalf("go.mod after the install section and go mod tidy:\n%s", b)
	}

	srv := start(t, dir, env, "go run ./server")
	waitListening(t, addr, srv)
	out := sh(t, dir, env, "go run ./client", time.Minute)
	if strings.TrimSpace(out) != "hello" {
		t.Errorf("the client printed %q, want the echo hello", out)
	}
	srv.stop(t)
}

// skipSlow skips the tests that build and run the README's programs and
// commands under -short, and under -race, where they watch nothing (the
// work is in child processes): .ci/run runs them without it.
func skipSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the README's programs and commands; -short skips it")
	}
	if raceEnabled {
		t.Skip("runs child processes only; skipped under -race, .ci/run runs it without (go test ./internal/readme)")
	}
}

// runGetLatest checks that `go get ...@latest` fails, as the README says
// it does while the module is unpublished.
func runGetLatest(t *testing.T, cmd string) {
	dir := t.TempDir()
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	sh(t, dir, env, "go mod init example.com/latest", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", cmd)
	c.Dir, c.Env = dir, env
	out, err := c.CombinedOutput()
	if err == nil {
		t.Errorf("%q succeeded: the module is published, and README.md's Install section should now say so\n%s", cmd, out)
	}
}

// runEchoServer starts one of the README's echo server commands, on a free
// port (-addr 127.0.0.1:0 is added: 8080 may be taken), checks that it
// serves its page and echoes over a WebSocket, and stops it.
func runEchoServer(t *testing.T, cmd string) {
	p := start(t, root, os.Environ(), cmd+" -addr 127.0.0.1:0")
	url := p.serving(t)
	client := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // the example's self-signed certificate
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("WebSocket")) {
		t.Errorf("GET %s: %s, %d bytes of page", url, resp.Status, len(page))
	}
	// A WebSocket on /ws echoes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"ws", &conn.DialOptions{
		Dialer: handshake.Dialer{TLSConfig: &tls.Config{InsecureSkipVerify: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, conn.MessageText, []byte("ping me")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ping me" {
		t.Errorf("echo: %q, %v", msg, err)
	}
	c.Close(conn.StatusNormalClosure, "")
	p.stop(t)
}

// runEchoClient runs one of the README's client commands against the echo
// example, with the placeholder URL replaced by the server's.
func runEchoClient(t *testing.T, cmd string) {
	p := start(t, root, os.Environ(), "go run ./examples/echo -v -addr 127.0.0.1:0")
	wsURL := "ws" + strings.TrimPrefix(p.serving(t), "http") + "ws"
	for _, placeholder := range []string{"ws://HOST:PORT/PATH", "ws://..."} {
		cmd = strings.ReplaceAll(cmd, placeholder, wsURL)
	}
	if strings.Contains(cmd, "-dial") {
		// The echo client runs until the server closes: stop the server,
		// which closes with 1001, and the client says so and exits 0.
		c := start(t, root, os.Environ(), cmd)
		p.waitFor(t, "accept ", c) // -v logs each WebSocket accepted
		p.stop(t)
		if out, err := c.wait(time.Minute); err != nil || !strings.Contains(out, "close 1001") {
			t.Errorf("%s: %v, output %q; want close 1001 and exit 0", cmd, err, out)
		}
		return
	}
	// The command-line client sends what it reads and closes at the end
	// of its input.
	// It shows every frame that came before the close: the echo too.
	if out := shIn(t, root, os.Environ(), cmd, "hi there\n", time.Minute); !strings.Contains(out, "< text hi there\n< close 1000") {
		t.Errorf("%s: no echo then clean close in %q", cmd, out)
	}
	p.stop(t)
}

func build(pkg string) func(t *testing.T) {
	return func(t *testing.T) { sh(t, root, os.Environ(), "go build -o /dev/null "+pkg, 2*time.Minute) }
}

func vet(pkg string) func(t *testing.T) {
	return func(t *testing.T) { sh(t, root, os.Environ(), "go vet "+pkg, 2*time.Minute) }
}

func exists(path string) func(t *testing.T) {
	return func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			t.Error(err)
		}
	}
}

func executable(path string) func(t *testing.T) {
	return func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not an executable file: %v", path, err)
		}
	}
}

// sh runs cmd with bash in dir and returns its standard output; it fails
// t if cmd fails or outlives timeout.
func sh(t *testing.T, dir string, env []string, cmd string, timeout time.Duration) string {
	t.Helper()
	return shIn(t, dir, env, cmd, "", timeout)
}

func shIn(t *testing.T, dir string, env []string, cmd, stdin string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", cmd)
	c.Dir, c.Env = dir, env
	c.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("%s (in %s): %v\nstdout:\n%s\nstderr:\n%s", cmd, dir, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// A process is a command started in its own process group, so that
// stopping it stops what `go run` started too.
type process struct {
	cmd  *exec.Cmd
	out  syncbuf.Buffer // stdout and stderr
	done chan struct{}
	err  error
}

func start(t *testing.T, dir string, env []string, cmd string) *process {
	t.Helper()
	p := &process{done: make(chan struct{})}
	p.cmd = exec.Command("bash", "-c", cmd)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

var servingLine = regexp.MustCompile(`serving (https?://[^/\s]+/)`)

// serving waits for the echo example's "serving URL" line.
func (p *process) serving(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(p.out.String()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("%v exited (%v) before serving:\n%s", p.cmd.Args, p.err, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%v did not say where it serves:\n%s", p.cmd.Args, p.out.String())
	return ""
}

// waitFor waits until p's output contains s, or other exits.
func (p *process) waitFor(t *testing.T, s string, other *process) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%v never printed %q:\n%s", p.cmd.Args, s, p.out.String())
		}
		select {
		case <-other.done:
			t.Fatalf("%v exited (%v):\n%s", other.cmd.Args, other.err, other.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop interrupts p's process group, as ^C would, and waits for it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%v did not stop on SIGINT:\n%s", p.cmd.Args, p.out.String())
	}
}

// wait waits for p to exit by itself.
func (p *process) wait(timeout time.Duration) (string, error) {
	select {
	case <-p.done:
		return p.out.String(), p.err
	case <-time.After(timeout):
		return p.out.String(), errors.New("still running")
	}
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string, p *process) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%v exited (%v):\n%s", p.cmd.Args, p.err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listens on %s:\n%s", addr, p.out.String())
}
