//go:build linux

package poll_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/handshake"
)

// serveListener serves ln over HTTP; each accepted WebSocket is handed
// to p with h, and what NetConn returned after Serve goes to served.
func serveListener(t *testing.T, ln net.Listener, p *poll.Poller, h poll.Handler, served chan<- net.Conn) {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		if err := p.Serve(c, h); err != nil {
			t.Errorf("Serve: %v", err)
			return
		}
		served <- c.NetConn()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
}

func newPoller(t *testing.T, o *poll.Options) *poll.Poller {
	t.Helper()
	p, err := poll.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func echoOnce(t *testing.T, ctx context.Context, c *conn.Conn) {
	t.Helper()
	msg := payload(70000, false)
	if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %d bytes, %v", len(got), err)
	}
}

// Serve moves a TCP socket out of the runtime's poller (its net.Conn is
// no longer the *net.TCPConn), and the connection works as before.
func TestServeMovesTCPSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan net.Conn, 1)
	serveListener(t, ln, newPoller(t, nil), echo, served)
	ctx := testCtx(t)
	c := dial(t, ctx, "ws://"+ln.Addr().String())
	nc := <-served
	if _, ok := nc.(*net.TCPConn); ok {
		t.Fatal("a served TCP connection still runs on its *net.TCPConn")
	}
	if _, ok := nc.(syscall.Conn); !ok {
		t.Fatal("a served socket does not offer its descriptor")
	}
	if nc.RemoteAddr().String() != c.NetConn().LocalAddr().String() {
		t.Errorf("RemoteAddr = %v, want %v", nc.RemoteAddr(), c.NetConn().LocalAddr())
	}
	echoOnce(t, ctx, c)
}

// A Unix socket moves too.
func TestServeMovesUnixSocket(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "ws.sock"))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan net.Conn, 1)
	serveListener(t, ln, newPoller(t, nil), echo, served)
	ctx := testCtx(t)
	c, _, err := conn.Dial(ctx, "ws://unix/", &conn.DialOptions{Dialer: handshake.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", ln.Addr().String())
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, ok := (<-served).(*net.UnixConn); ok {
		t.Fatal("a served Unix connection still runs on its *net.UnixConn")
	}
	echoOnce(t, ctx, c)
}

// wrappedConn is a net.Conn of the application's that offers the
// descriptor of the socket under it (by embedding).
type wrappedConn struct{ *net.TCPConn }

type wrappingListener struct{ net.Listener }

func (l wrappingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c.(*net.TCPConn)}, nil
}

// A net.Conn of another type is served as it is, even when it offers the
// descriptor: it may do something of its own with the bytes.
func TestServeKeepsWrappedConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan net.Conn, 1)
	serveListener(t, wrappingListener{ln}, newPoller(t, nil), echo, served)
	ctx := testCtx(t)
	c := dial(t, ctx, "ws://"+ln.Addr().String())
	if _, ok := (<-served).(wrappedConn); !ok {
		t.Fatal("Serve replaced the application's net.Conn")
	}
	echoOnce(t, ctx, c)
}

// A write from another goroutine to a served connection whose peer does
// not read is ended by its context, and Close ends one too: the moved
// socket waits as a *net.TCPConn would.
func TestServedWriteCancelAndClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan net.Conn, 1)
	conns := make(chan *conn.Conn, 1)
	ctxs := make(chan context.Context, 1)
	p := newPoller(t, nil)
	defer p.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		// A write before Serve, under the context the test cancels
		// later: the watch it leaves must follow the socket's move.
		if err := c.Write(<-ctxs, conn.MessageText, []byte("hi")); err != nil {
			t.Errorf("write before Serve: %v", err)
		}
		if err := p.Serve(c, echo); err != nil {
			t.Errorf("Serve: %v", err)
			return
		}
		served <- c.NetConn()
		conns <- c
	})}
	go srv.Serve(ln)
	defer srv.Close()
	ctx := testCtx(t)
	for _, how := range []string{"cancel", "close"} {
		// A client that never reads, with a small receive window.
		wctx, cancel := context.WithCancel(ctx)
		ctxs <- wctx
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.(*net.TCPConn).SetReadBuffer(4096)
		defer nc.Close()
		if _, _, err := (&handshake.Dialer{NetDialContext: func(context.Context, string, string) (net.Conn, error) { return nc, nil }}).Dial(ctx, "ws://"+ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		if _, ok := (<-served).(*net.TCPConn); ok {
			t.Fatal("the socket was not moved")
		}
		s := <-conns
		done := make(chan error, 1)
		go func() {
			big := make([]byte, 256<<10)
			for {
				if err := s.Write(wctx, conn.MessageBinary, big); err != nil {
					done <- err
					return
				}
			}
		}()
		time.Sleep(100 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("%s: a write to a peer that does not read ended by itself: %v", how, err)
		default:
		}
		if how == "cancel" {
			cancel()
		} else {
			s.CloseNow()
		}
		select {
		case err := <-done:
			want := context.Canceled
			if how == "close" {
				want = net.ErrClosed
			}
			if !errors.Is(err, want) && !(how == "close" && errors.Is(err, conn.ErrClosed)) {
				t.Errorf("%s: the waiting write returned %v, want %v", how, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not end a write waiting for a peer that does not read", how)
		}
		cancel()
		s.CloseNow()
	}
}

// A connection closed from outside leaves its slot to the next socket
// that gets its descriptor number, before any sweep: that one is served,
// and the poller counts one connection, not two.
func TestServeReusedDescriptor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := newPoller(t, &poll.Options{SweepInterval: -1})
	conns := make(chan *conn.Conn, 2)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		if err := p.Serve(c, echo); err != nil {
			t.Errorf("Serve: %v", err)
		}
		conns <- c
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	ctx := testCtx(t)
	url := "ws://" + ln.Addr().String()
	first := dial(t, ctx, url)
	s1 := <-conns
	fd := func(c *conn.Conn) (n uintptr) {
		rc, _ := c.NetConn().(syscall.Conn).SyscallConn()
		rc.Control(func(fd uintptr) { n = fd })
		return n
	}
	fd1 := fd(s1)
	s1.CloseNow() // from outside the poller; no sweep runs
	first.CloseNow()
	second := dial(t, ctx, url)
	s2 := <-conns
	if fd(s2) != fd1 {
		t.Skipf("the second socket got descriptor %d, not %d", fd(s2), fd1)
	}
	echoOnce(t, ctx, second)
	if n := p.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}
