package interop_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/internal/chromium"
)

// TestChromiumHTTP2 opens the echo example's page in headless Chromium
// over TLS, loads browserScript into it and runs its checks against the
// example's /ws, twice: with GODEBUG=http2xconnect=1 in the server's
// environment, where the WebSocket must arrive as an extended CONNECT over
// HTTP/2 (RFC 8441), and without, where the same page must work over
// HTTP/1.1. The server's -v log must show the protocol of every
// WebSocket, permessage-deflate agreed, and the browser's close code 4000;
// the page must see the server's close at shutdown, 1001, as clean.
func TestChromiumHTTP2(t *testing.T) {
	bin := requireChromium(t)
	echo := buildEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	servers := []struct {
		name  string
		h2    bool   // GODEBUG=http2xconnect=1
		proto string // what the server must see
		s     *echoExample
	}{
		{"http2xconnect=1", true, "HTTP/2.0", nil},
		{"http2xconnect=off", false, "HTTP/1.1", nil},
	}
	var spkis [][]byte
	for i := range servers {
		servers[i].s = startEcho(ctx, t, echo, servers[i].h2)
		spkis = append(spkis, servers[i].s.spki)
	}
	b := chromium.Launch(ctx, t, bin, chromium.SPKIFlag(spkis...))

	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			s := sv.s
			tab := b.Open(ctx, t, s.url)
			// The checks run beside the example's own page, which
			// opens a WebSocket too. A new tab's first document is
			// about:blank: wait for the example's.
			tab.WaitFor(ctx, t, fmt.Sprintf(`location.href === %q && document.readyState === 'complete'`, s.url))
			if _, err := tab.Eval(ctx, browserScript+`; true`); err != nil {
				t.Fatal(err)
			}
			const cfg = "echo"
			browserRun(ctx, t, tab, cfg, false)
			tab.WaitFor(ctx, t, fmt.Sprintf(`window.awaiting[%q] === true`, cfg))
			// The browser's close reached the server before its second
			// connection opened.
			s.waitLog(ctx, t, regexp.MustCompile(`(?m)^close 127\.0\.0\.1:\d+ 4000 "bye from the browser"$`))

			// At shutdown the example closes every WebSocket with 1001.
			s.interrupt(t)
			checkBrowserRun(ctx, t, tab, cfg, []string{"permessage-deflate"}, closeEvent{1001, "server shutting down", true})

			// Every WebSocket came over sv.proto with permessage-deflate:
			// the page's own and the two of browserScript.
			accept := regexp.MustCompile(`^accept 127\.0\.0\.1:\d+ (\S+) "" "(.*)"$`)
			accepts := 0
			for _, l := range s.lines() {
				m := accept.FindStringSubmatch(l)
				switch {
				case m == nil:
				case m[1] != sv.proto:
					t.Errorf("WebSocket over %s, want %s: %q", m[1], sv.proto, l)
				case !strings.HasPrefix(m[2], "permessage-deflate"):
					t.Errorf("WebSocket agreed %q, want permessage-deflate: %q", m[2], l)
				default:
					accepts++
				}
			}
			if accepts != 3 {
				t.Errorf("echo accepted %d WebSockets over %s, want 3", accepts, sv.proto)
			}
		})
	}
}

// buildEcho builds examples/echo, without the race detector, and returns
// the binary's path.
func buildEcho(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "echo")
	// go test puts its own go command first on PATH.
	cmd := exec.Command("go", "build", "-o", out, "github.com/hybi-go/hybi/examples/echo")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/echo: %v\n%s", err, b)
	}
	return out
}

// echoExample is examples/echo serving -tls -v on 127.0.0.1 in a child
// process.
type echoExample struct {
	cmd  *exec.Cmd
	url  string // the page, https://127.0.0.1:PORT/
	spki []byte // the DER SubjectPublicKeyInfo of its certificate
	done chan struct{}

	interrupted bool // by the test; then it must exit 0

	mu  sync.Mutex
	log []string // its lines, without the "echo: " prefix and the time
	err error    // how it exited, once done is closed
}

// spareConn is what net/http logs of a connection that ended before its
// first request: Chromium opens spare ones and drops them when it exits.
var spareConn = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (http: TLS handshake error from|http2: server: error reading preface from client) 127\.0\.0\.1:\d+: `)

// echoLine is a line the example logs: log.LstdFlags and its prefix.
var echoLine = regexp.MustCompile(`^echo: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d (.*)$`)

// startEcho starts echo, whose environment's GODEBUG has http2xconnect=1
// with h2 and no http2xconnect without. Cleanup kills it if it still runs.
func startEcho(ctx context.Context, t *testing.T, echo string, h2 bool) *echoExample {
	t.Helper()
	var godebug []string
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if kv != "" && !strings.HasPrefix(kv, "http2xconnect=") {
			godebug = append(godebug, kv)
		}
	}
	if h2 {
		godebug = append(godebug, "http2xconnect=1")
	}
	cmd := exec.Command(echo, "-tls", "-v", "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.Join(godebug, ","))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &echoExample{cmd: cmd, done: make(chan struct{})}
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			if m := echoLine.FindStringSubmatch(l); m != nil {
				l = m[1]
			}
			if addr, ok := strings.CutPrefix(l, "serving https://"); ok {
				serving <- strings.TrimSuffix(addr, "/")
			}
			s.mu.Lock()
			s.log = append(s.log, l)
			s.mu.Unlock()
		}
		err := cmd.Wait() // after the last read of the pipe, as Wait asks
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.done)
	}()
	// Chromium, whose cleanup runs first, keeps a spare connection it
	// has sent nothing on, which the server's Shutdown waits for (net/http
	// gives an HTTP/2 client 10 s to send its preface): the exit of an
	// interrupted server is checked once Chromium is gone.
	t.Cleanup(func() {
		if s.interrupted {
			select {
			case <-s.done:
			case <-time.After(15 * time.Second):
				t.Error("echo still runs 15 s after its interrupt")
			}
		}
		cmd.Process.Kill()
		<-s.done
		if s.interrupted && s.err != nil {
			t.Errorf("echo (GODEBUG %q) after its interrupt: %v", godebug, s.err)
		}
		for _, l := range s.lines() {
			switch {
			case strings.HasPrefix(l, "serving ") || strings.HasPrefix(l, "accept ") || strings.HasPrefix(l, "close "):
			case spareConn.MatchString(l):
			default:
				t.Errorf("echo (GODEBUG %q) logged %q", godebug, l)
			}
		}
		if t.Failed() {
			t.Logf("echo (GODEBUG %q) logged:\n%s", godebug, strings.Join(s.lines(), "\n"))
		}
	})

	var addr string
	select {
	case addr = <-serving:
	case <-s.done:
		t.Fatalf("echo exited: %v\n%s", s.err, strings.Join(s.lines(), "\n"))
	case <-ctx.Done():
		t.Fatal("echo did not say where it serves")
	}
	s.url = "https://" + addr + "/"

	// The certificate is made at start: ask the server for it.
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := c.(*tls.Conn).ConnectionState()
	if st.NegotiatedProtocol != "h2" {
		t.Fatalf("echo -tls agreed ALPN %q, want h2", st.NegotiatedProtocol)
	}
	s.spki = st.PeerCertificates[0].RawSubjectPublicKeyInfo
	return s
}

// lines returns what the server has logged so far.
func (s *echoExample) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// waitLog waits until the server logs a line that matches re.
func (s *echoExample) waitLog(ctx context.Context, t *testing.T, re *regexp.Regexp) {
	t.Helper()
	for !re.MatchString(strings.Join(s.lines(), "\n")) {
		select {
		case <-ctx.Done():
			t.Fatalf("echo logged no line matching %q:\n%s", re, strings.Join(s.lines(), "\n"))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// interrupt starts the server's shutdown. Its exit is checked at cleanup.
func (s *echoExample) interrupt(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	s.interrupted = true
}
