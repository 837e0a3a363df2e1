package interop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// The fixtures below match common.js and common.py (see README.md).
const (
	utf8Text = "héllo wörld ✓ 𝄞"
	// peerClientChecks is how many PASS lines client.js and client.py print.
	peerClientChecks = 19
)

var sizes = []int{0, 125, 126, 65535, 65536, 16 << 20}

// checkTimeout bounds one check; the 16 MiB echoes under -race are the
// slowest.
const checkTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkGoroutines(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkGoroutines fails when a goroutine of hybi, net/http or os/exec
// outlives the tests: a leaked connection, handler or peer process. Those
// that are just finishing get a few seconds.
func checkGoroutines() error {
	var leaked []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		leaked = leaked[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		// The first block is this goroutine.
		for _, g := range strings.Split(string(buf), "\n\n")[1:] {
			if strings.Contains(g, "github.com/hybi-go/hybi/") ||
				strings.Contains(g, "net/http.") ||
				strings.Contains(g, "os/exec.") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked %d goroutines:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// payload returns the n-byte test message: an ASCII pattern for text, a
// byte pattern for binary, as common.js and common.py build them.
func payload(n int, typ conn.MessageType) []byte {
	b := make([]byte, n)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range b {
		if typ == conn.MessageBinary {
			b[i] = byte(i*31 + 7)
		} else {
			b[i] = alphabet[i%len(alphabet)]
		}
	}
	return b
}

func typeName(typ conn.MessageType) string {
	switch typ {
	case conn.MessageText:
		return "text"
	case conn.MessageBinary:
		return "binary"
	}
	return "type " + strconv.Itoa(int(typ))
}

// expectMessage checks one received message against what was wanted,
// without printing megabytes on a mismatch.
func expectMessage(t *testing.T, gotType conn.MessageType, got []byte, wantType conn.MessageType, want []byte) {
	t.Helper()
	if gotType != wantType {
		t.Fatalf("got %s message, want %s", typeName(gotType), typeName(wantType))
	}
	if !bytes.Equal(got, want) {
		if len(got) <= 64 && len(want) <= 64 {
			t.Fatalf("got %q, want %q", got, want)
		}
		t.Fatalf("payload mismatch: got %d bytes, want %d", len(got), len(want))
	}
}

// TestHybiClient runs conn.Dial against each peer's echo server.
func TestHybiClient(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			p.require(t)
			srv, addr := p.startServer(t)
			url := "ws://" + addr + "/"

			dial := func(t *testing.T, url string) (*conn.Conn, context.Context) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
				t.Cleanup(cancel)
				c, resp, err := conn.Dial(ctx, url, nil)
				if err != nil {
					t.Fatalf("Dial %s: %v (response %v)", url, err, resp)
				}
				// Whatever a check leaves open is torn down; on a closed
				// conn CloseNow only reports that.
				t.Cleanup(func() { c.CloseNow() })
				return c, ctx
			}
			closeNormal := func(t *testing.T, c *conn.Conn) {
				t.Helper()
				if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
					t.Errorf("Close: %v", err)
				}
			}

			for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
				for _, n := range sizes {
					t.Run(fmt.Sprintf("echo/%s/%d", typeName(typ), n), func(t *testing.T) {
						c, ctx := dial(t, url)
						want := payload(n, typ)
						if err := c.Write(ctx, typ, want); err != nil {
							t.Fatalf("Write: %v", err)
						}
						gotType, got, err := c.Read(ctx)
						if err != nil {
							t.Fatalf("Read: %v", err)
						}
						expectMessage(t, gotType, got, typ, want)
						closeNormal(t, c)
					})
				}
			}

			t.Run("echo/utf8", func(t *testing.T) {
				c, ctx := dial(t, url)
				if err := c.Write(ctx, conn.MessageText, []byte(utf8Text)); err != nil {
					t.Fatalf("Write: %v", err)
				}
				gotType, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				expectMessage(t, gotType, got, conn.MessageText, []byte(utf8Text))
				closeNormal(t, c)
			})

			t.Run("pipelined", func(t *testing.T) {
				c, ctx := dial(t, url)
				const n = 1000
				msgType := func(i int) conn.MessageType {
					if i%2 == 1 {
						return conn.MessageBinary
					}
					return conn.MessageText
				}
				// All 1000 (about 8 KB) are written before the first read;
				// the echoes wait in socket buffers meanwhile.
				for i := range n {
					if err := c.Write(ctx, msgType(i), []byte("msg "+strconv.Itoa(i))); err != nil {
						t.Fatalf("Write %d: %v", i, err)
					}
				}
				for i := range n {
					gotType, got, err := c.Read(ctx)
					if err != nil {
						t.Fatalf("Read %d: %v", i, err)
					}
					expectMessage(t, gotType, got, msgType(i), []byte("msg "+strconv.Itoa(i)))
				}
				closeNormal(t, c)
			})

			t.Run("ping", func(t *testing.T) {
				c, ctx := dial(t, url)
				// The pong arrives as a frame some Read must take in; keep
				// one running in case Ping leaves reading to the caller. It
				// ends with an error when the conn is closed.
				readDone := make(chan error, 1)
				go func() {
					_, _, err := c.Read(ctx)
					readDone <- err
				}()
				if err := c.Ping(ctx); err != nil {
					t.Errorf("Ping: %v", err)
				}
				closeNormal(t, c)
				if err := <-readDone; err == nil {
					t.Errorf("Read after Close returned no error")
				}
			})

			t.Run("fragments", func(t *testing.T) {
				// The peer sends a text message in pieces split inside
				// multibyte characters (node) or between them (python),
				// then a binary one in 100-byte pieces.
				c, ctx := dial(t, "ws://"+addr+"/fragments")
				gotType, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("Read text: %v", err)
				}
				expectMessage(t, gotType, got, conn.MessageText, []byte(strings.Repeat(utf8Text, 20)))
				gotType, got, err = c.Read(ctx)
				if err != nil {
					t.Fatalf("Read binary: %v", err)
				}
				want := make([]byte, 1000)
				for i := range want {
					want[i] = byte(i)
				}
				expectMessage(t, gotType, got, conn.MessageBinary, want)
				closeNormal(t, c)
			})

			t.Run("close/by-hybi", func(t *testing.T) {
				c, _ := dial(t, url)
				if err := c.Close(conn.StatusNormalClosure, "bye"); err != nil {
					t.Errorf("Close: %v", err)
				}
				// The peer prints what it received in the close frame.
				if _, ok := srv.waitLine(10*time.Second, func(l string) bool { return l == "close 1000 bye" }); !ok {
					lines, _ := srv.out.snapshot()
					t.Errorf("peer never printed %q; its output: %q", "close 1000 bye", lines)
				}
			})

			t.Run("close/by-peer", func(t *testing.T) {
				c, ctx := dial(t, url+"?close=1000&reason=done")
				typ, p, err := c.Read(ctx)
				if err == nil {
					t.Fatalf("Read returned a %s message %q, want the peer's close", typeName(typ), p)
				}
				if got := conn.CloseStatus(err); got != conn.StatusNormalClosure {
					t.Errorf("CloseStatus(%v) = %d, want 1000", err, got)
				}
				var ce *conn.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("Read error %v (%T) is no *conn.CloseError", err, err)
				}
				if ce.Code != conn.StatusNormalClosure || ce.Reason != "done" {
					t.Errorf("CloseError = %d %q, want 1000 \"done\"", ce.Code, ce.Reason)
				}
			})
		})
	}
}

// echoServer is the hybi side of TestHybiServer: conn.Accept, then echo
// every message with its type until the peer closes. With ?close=CODE&reason=R
// it closes at once instead, as the peer servers do.
type echoServer struct {
	t  *testing.T
	wg sync.WaitGroup // handlers still running

	mu   sync.Mutex
	ends []error // the error that ended each echo loop
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	// Not r.Context(): the handshake hijacks the connection, and the conn
	// must outlive nothing but this handler anyway. The bound keeps a
	// wedged peer from holding the test forever.
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	c, err := conn.Accept(w, r, nil)
	if err != nil {
		s.t.Errorf("Accept %s: %v", r.URL, err)
		return
	}
	defer c.CloseNow()
	if q := r.URL.Query(); q.Has("close") {
		code, err := strconv.Atoi(q.Get("close"))
		if err != nil {
			s.t.Errorf("bad close code in %s", r.URL)
			return
		}
		if err := c.Close(conn.StatusCode(code), q.Get("reason")); err != nil {
			s.t.Errorf("Close(%d, %q): %v", code, q.Get("reason"), err)
		}
		return
	}
	for {
		typ, p, err := c.Read(ctx)
		if err == nil {
			err = c.Write(ctx, typ, p)
		}
		if err != nil {
			s.mu.Lock()
			s.ends = append(s.ends, err)
			s.mu.Unlock()
			return
		}
	}
}

// TestHybiServer runs each peer's client checks against a conn.Accept echo
// server.
func TestHybiServer(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			p.require(t)
			es := &echoServer{t: t}
			hs := httptest.NewServer(es)
			// shutdown stops new conns and waits for the echo handlers:
			// httptest forgets hijacked conns, so it cannot wait for them.
			var once sync.Once
			shutdown := func() {
				once.Do(func() {
					hs.Close()
					done := make(chan struct{})
					go func() { es.wg.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(10 * time.Second):
						t.Errorf("echo handlers still running 10s after the peer client ended")
					}
				})
			}
			t.Cleanup(shutdown)

			url := "ws://" + hs.Listener.Addr().String() + "/echo"
			pr := p.start(t, "client", url)
			select {
			case <-pr.done:
			case <-time.After(peerTimeout):
				t.Fatalf("%s client still running after %v", p.name, peerTimeout)
			}
			checkResults(t, pr, peerClientChecks)

			// The peer's close 1000 "done" must reach Read as a CloseError.
			shutdown()
			es.mu.Lock()
			defer es.mu.Unlock()
			found := false
			for _, err := range es.ends {
				var ce *conn.CloseError
				if conn.CloseStatus(err) == conn.StatusNormalClosure && errors.As(err, &ce) && ce.Reason == "done" {
					found = true
				}
			}
			if !found {
				t.Errorf("no echo loop ended with a CloseError 1000 \"done\"; loop ends: %v", es.ends)
			}
		})
	}
}
