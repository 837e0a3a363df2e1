package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/leakcheck"
	"github.com/hybi-go/hybi/raw"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// waitFor waits until b holds s.
func waitFor(t *testing.T, b *syncbuf.Buffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q; it is:\n%s", s, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// session runs hybi with args in the background; its stdin is a pipe the
// test writes lines to.
type session struct {
	stdin          *io.PipeWriter
	stdout, stderr syncbuf.Buffer
	code           chan int
}

func start(t *testing.T, args ...string) *session {
	t.Helper()
	s := &session{code: make(chan int, 1)}
	r, w := io.Pipe()
	s.stdin = w
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() {
		s.code <- run(ctx, args, r, &s.stdout, &s.stderr)
		cancel()
	}()
	t.Cleanup(func() { w.Close() })
	return s
}

func (s *session) send(line string) { io.WriteString(s.stdin, line+"\n") }

func (s *session) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-s.code:
		return code
	case <-time.After(20 * time.Second):
		t.Fatalf("hybi did not exit; stdout:\n%s\nstderr:\n%s", s.stdout.String(), s.stderr.String())
		return -1
	}
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// server runs h on each accepted Default-session connection.
func server(t *testing.T, o *conn.AcceptOptions, h func(r *http.Request, c *conn.Conn)) *httptest.Server {
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, o)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer c.CloseNow()
		h(r, c)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

func TestDialDefault(t *testing.T) {
	serverErr := make(chan error, 1)
	srv := server(t, nil, func(_ *http.Request, c *conn.Conn) {
		ctx := context.Background()
		for msg, err := range c.Messages(ctx) {
			if err != nil {
				serverErr <- err
				return
			}
			c.Write(ctx, msg.Type, msg.Data)
			c.Write(ctx, conn.MessageBinary, []byte{0, 1, 0xff})
		}
		serverErr <- c.CloseReason()
	})
	s := start(t, "dial", wsURL(srv))
	waitFor(t, &s.stderr, "connected to ")
	s.send("héllo")
	waitFor(t, &s.stdout, "< text héllo\n< binary 3 bytes: 0001ff\n")
	s.send("//slash")
	waitFor(t, &s.stdout, "< text /slash\n")
	s.send("/ping")
	waitFor(t, &s.stdout, "< pong ")
	s.send("/nonsense")
	waitFor(t, &s.stderr, "unknown command /nonsense")
	s.send("/close 4001 see you")
	if code := s.wait(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr.String())
	}
	if !strings.HasSuffix(s.stdout.String(), "> close 4001 see you\n< close 4001\n") {
		t.Errorf("stdout:\n%s", s.stdout.String())
	}
	if err := <-serverErr; conn.CloseStatus(err) != 4001 || !strings.Contains(err.Error(), "see you") {
		t.Errorf("server saw %v", err)
	}
}

// The end of stdin closes with 1000; a server that closes first is shown
// with its code and reason.
func TestDialEndings(t *testing.T) {
	t.Run("stdin EOF", func(t *testing.T) {
		serverErr := make(chan error, 1)
		srv := server(t, nil, func(_ *http.Request, c *conn.Conn) {
			_, _, err := c.Read(context.Background())
			serverErr <- err
		})
		s := start(t, "dial", wsURL(srv))
		s.stdin.Close()
		if code := s.wait(t); code != 0 || s.stdout.String() != "< close 1000\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, s.stdout.String(), s.stderr.String())
		}
		if err := <-serverErr; conn.CloseStatus(err) != conn.StatusNormalClosure {
			t.Errorf("server saw %v", err)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		srv := server(t, nil, func(_ *http.Request, c *conn.Conn) { c.Close(conn.StatusGoingAway, "restarting") })
		s := start(t, "dial", wsURL(srv))
		if code := s.wait(t); code != 0 || s.stdout.String() != "< close 1001 restarting\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, s.stdout.String(), s.stderr.String())
		}
	})
	t.Run("dropped", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if res, err := (&handshake.Upgrader{}).Upgrade(w, r); err == nil {
				res.Conn.Close()
			}
		}))
		defer srv.Close()
		for _, mode := range [][]string{{"dial"}, {"dial", "-raw"}} {
			s := start(t, append(mode, wsURL(srv))...)
			if code := s.wait(t); code != 1 || !strings.Contains(s.stderr.String(), "hybi: ") {
				t.Fatalf("%v: exit %d, stderr %q", mode, code, s.stderr.String())
			}
		}
	})
}

func TestDialHeadersAndSubprotocol(t *testing.T) {
	got := make(chan string, 1)
	srv := server(t, &conn.AcceptOptions{Upgrader: handshake.Upgrader{Subprotocols: []string{"chat.v2", "chat.v1"}}},
		func(r *http.Request, c *conn.Conn) {
			got <- r.Header.Get("Authorization") + "|" + r.Header.Get("X-Trace") + "|" + c.Subprotocol()
			c.Close(conn.StatusNormalClosure, "")
		})
	s := start(t, "dial", "-H", "Authorization: Bearer t0k", "-H", "X-Trace:abc", "-s", "chat.v1", "-s", "chat.v2", "-deflate", wsURL(srv))
	if code := s.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, s.stderr.String())
	}
	if g := <-got; g != "Bearer t0k|abc|chat.v2" {
		t.Errorf("server saw %q", g)
	}
	if !strings.Contains(s.stderr.String(), `(subprotocol "chat.v2")`) {
		t.Errorf("stderr %q", s.stderr.String())
	}
}

func TestDialDeflate(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-deflate"}, "permessage-deflate"},
		{nil, ""},
	} {
		got := make(chan string, 1)
		srv := server(t, &conn.AcceptOptions{Extensions: []extension.Extension{deflate.New(nil)}},
			func(r *http.Request, c *conn.Conn) {
				got <- c.Extensions()
				c.Write(context.Background(), conn.MessageText, []byte(strings.Repeat("compress me ", 100)))
				c.Close(conn.StatusNormalClosure, "")
			})
		s := start(t, append(append([]string{"dial"}, tc.flags...), wsURL(srv))...)
		if code := s.wait(t); code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.flags, code, s.stderr.String())
		}
		if g := <-got; !strings.HasPrefix(g, tc.want) || (tc.want == "" && g != "") {
			t.Errorf("%q: server agreed %q, want %q", tc.flags, g, tc.want)
		}
		if !strings.Contains(s.stdout.String(), "compress me compress me") {
			t.Errorf("%q: message not shown: %q", tc.flags, s.stdout.String())
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"listen"}, {"dial"}, {"dial", "-H", "nocolon", "ws://x"}, {"dial", "a", "b"},
		{"ws://x", "ws://y"}, {"listen", "nonsense:port:"}, {"dial", "-nopong", "ws://x"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"dial", "ws://127.0.0.1:1/"}, strings.NewReader(""), &stdout, &stderr); code != 1 {
		t.Errorf("unreachable server: exit %d, want 1", code)
	}
}

// rawServer runs h on the Raw session of each connection, so that the test
// controls every frame.
func rawServer(t *testing.T, h func(rc *raw.Conn)) *httptest.Server {
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := (&handshake.Upgrader{}).Upgrade(w, r)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		rc := raw.New(res.Conn, res.Buffered, raw.Server, nil)
		defer rc.Close()
		h(rc)
	}))
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return srv
}

type frameRec struct {
	op frame.Opcode
	p  string
}

// readFrame reads one frame.
func readFrame(rc *raw.Conn) (frameRec, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := rc.NextFrame(ctx)
	if err != nil {
		return frameRec{}, err
	}
	p, err := io.ReadAll(rc)
	return frameRec{h.Opcode, string(p)}, err
}

// TestDialRaw: -raw shows every frame, answers pings and echoes the
// server's close.
func TestDialRaw(t *testing.T) {
	serverSaw := make(chan []frameRec, 1)
	srv := rawServer(t, func(rc *raw.Conn) {
		ctx := context.Background()
		var saw []frameRec
		defer func() { serverSaw <- saw }()
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("p1"))
		f, err := readFrame(rc) // the pong
		if err != nil {
			return
		}
		saw = append(saw, f)
		rc.WriteFrame(ctx, frame.Header{Opcode: frame.OpText}, []byte("hel"))
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpContinuation}, []byte("lo"))
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, []byte{0xde, 0xad})
		f, err = readFrame(rc) // the client's text
		if err != nil {
			return
		}
		saw = append(saw, f)
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, 1000, "bye"))
		f, err = readFrame(rc) // the echo
		if err != nil {
			return
		}
		saw = append(saw, f)
	})
	s := start(t, "dial", "-raw", wsURL(srv))
	waitFor(t, &s.stdout, "< binary fin=1 rsv=000 len=2: dead\n")
	s.send("from client")
	if code := s.wait(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr.String())
	}
	want := strings.Join([]string{
		"< ping fin=1 rsv=000 len=2: p1",
		"> pong fin=1 rsv=000 len=2",
		"< text fin=0 rsv=000 len=3: hel",
		"< continuation fin=1 rsv=000 len=2: lo",
		"< binary fin=1 rsv=000 len=2: dead",
		"> text fin=1 rsv=000 len=11",
		"< close fin=1 rsv=000 len=5: 1000 bye",
		"> close fin=1 rsv=000 len=2: 1000",
	}, "\n") + "\n"
	if got := s.stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	saw := <-serverSaw
	if fmt.Sprint(saw) != fmt.Sprint([]frameRec{{frame.OpPong, "p1"}, {frame.OpText, "from client"}, {frame.OpClose, "\x03\xe8"}}) {
		t.Errorf("server saw %v", saw)
	}
}

// TestDialRawClientCloses: with -raw, /close sends the close frame and
// waits for the server's.
func TestDialRawClientCloses(t *testing.T) {
	serverSaw := make(chan frameRec, 1)
	srv := rawServer(t, func(rc *raw.Conn) {
		f, _ := readFrame(rc)
		serverSaw <- f
		if f.op == frame.OpClose {
			rc.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpClose}, []byte(f.p))
		}
	})
	s := start(t, "dial", "-raw", wsURL(srv))
	waitFor(t, &s.stderr, "connected")
	s.send("/ping toolong" + strings.Repeat("x", 130))
	waitFor(t, &s.stderr, "at most 125 bytes")
	s.send("/close 4002 later")
	if code := s.wait(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr.String())
	}
	want := "> close fin=1 rsv=000 len=7: 4002 later\n< close fin=1 rsv=000 len=7: 4002 later\n"
	if got := s.stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if f := <-serverSaw; f.op != frame.OpClose || f.p != "\x0f\xa2later" {
		t.Errorf("server saw %v", f)
	}
}
