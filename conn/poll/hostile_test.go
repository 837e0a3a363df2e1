//go:build linux

package poll_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
)

// hostileBound is how long the tests below give the poller to free a
// worker a hostile peer holds, beyond MessageTimeout: generous, for slow
// machines and the race detector.
const hostileBound = 5 * time.Second

// smallWindowServer is server with each accepted socket's send buffer
// made small, so that a peer that stops reading closes the TCP window
// after a few kilobytes.
func smallWindowServer(t *testing.T, o *poll.Options, h poll.Handler) (*poll.Poller, string) {
	t.Helper()
	p, err := poll.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.NetConn().(*net.TCPConn).SetWriteBuffer(4096)
		if err := p.Serve(c, h); err != nil && !errors.Is(err, poll.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	return p, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// pingFlood dials url and sends pings without ever reading, with a small
// receive buffer so that the server's pongs soon fill the window. stalled
// is closed once the server has stopped reading (the flood made no
// progress for a quarter of a second); ended gets the error that ended the flood: the connection
// closed or reset by the server, or ctx's.
func pingFlood(t *testing.T, ctx context.Context, url string) (stalled <-chan struct{}, ended <-chan error) {
	t.Helper()
	var d handshake.Dialer
	res, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	nc := res.Conn
	nc.(*net.TCPConn).SetReadBuffer(4096)
	st := make(chan struct{})
	end := make(chan error, 1)
	ping := bytes.Repeat(masked(frame.OpPing, true, bytes.Repeat([]byte("p"), 125)), 32)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer nc.Close()
		var once sync.Once
		idle := 0 // writes in a row that sent nothing
		for {
			if err := ctx.Err(); err != nil {
				end <- err
				return
			}
			nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := nc.Write(ping)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if idle++; n > 0 {
					idle = 0
				}
				if idle == 5 {
					once.Do(func() { close(st) })
				}
				continue
			}
			if err != nil {
				if idle > 0 {
					// Writes had stopped going through, then the server
					// closed the connection: on a slow machine its
					// MessageTimeout can come before five idle writes.
					once.Do(func() { close(st) })
				}
				end <- err
				return
			}
			idle = 0
		}
	}()
	t.Cleanup(func() { nc.Close(); wg.Wait() })
	return st, end
}

// TestPingFloodHoldsNoWorker: as many peers as there are workers flood
// pings and never read, so the pongs the workers write between messages
// block in closed TCP windows. Each must hold its worker at most
// MessageTimeout and then be closed, and a well-behaved client must still
// be served.
func TestPingFloodHoldsNoWorker(t *testing.T) {
	const workers = 2
	const timeout = 300 * time.Millisecond
	p, url := smallWindowServer(t, &poll.Options{Workers: workers, MessageTimeout: timeout}, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 4*hostileBound)
	defer cancel()
	var ended []<-chan error
	for range workers {
		stalled, end := pingFlood(t, ctx, url)
		select {
		case <-stalled:
		case err := <-end:
			select {
			case <-stalled: // stalled, then closed by the server
				again := make(chan error, 1)
				again <- err
				end = again
			default:
				t.Fatalf("flood ended before the server stopped reading: %v", err)
			}
		}
		ended = append(ended, end)
	}

	good := dial(t, ctx, url)
	echoCtx, cancelEcho := context.WithTimeout(ctx, timeout+hostileBound)
	defer cancelEcho()
	if err := good.Write(echoCtx, conn.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := good.Read(echoCtx); err != nil || string(b) != "hello" {
		t.Fatalf("well-behaved client beside %d ping flooders: %q, %v; want its echo", workers, b, err)
	}
	for i, end := range ended {
		if err := <-end; errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("flooder %d was never closed", i)
		}
	}
	waitLen(t, p, 1)
}

// TestHandlerPanic: a handler that panics is recovered as net/http
// recovers its handlers: the panic and its stack are logged, that
// connection is closed with 1011, and the poller goes on serving the
// others with the same worker.
func TestHandlerPanic(t *testing.T) {
	var logged syncbuf.Buffer
	o := &poll.Options{Workers: 1, ErrorLog: log.New(&logged, "", 0)}
	p, url := server(t, o, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if string(b) == "panic" {
			panic("handler panics on purpose")
		}
		return c.Write(ctx, typ, b)
	})
	ctx := testCtx(t)
	other := dial(t, ctx, url)
	bad := dial(t, ctx, url)
	if err := bad.Write(ctx, conn.MessageText, []byte("panic")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Read(ctx); conn.CloseStatus(err) != conn.StatusInternalError {
		t.Errorf("after the handler panicked the client read %v, want close 1011", err)
	}
	for i := range 3 {
		if err := other.Write(ctx, conn.MessageText, []byte("still here")); err != nil {
			t.Fatal(err)
		}
		if _, b, err := other.Read(ctx); err != nil || string(b) != "still here" {
			t.Fatalf("echo %d on another connection after the panic: %q, %v", i, b, err)
		}
	}
	waitLen(t, p, 1)
	if s := logged.String(); !strings.Contains(s, "handler panics on purpose") || !strings.Contains(s, "TestHandlerPanic") {
		t.Errorf("the panic was not logged with its stack:\n%s", s)
	}
}

// TestStalledHeaderBound is the bound the package documentation gives for
// a peer that sends the start of a message and stalls: it holds a worker
// for MessageTimeout and is then closed, and the others are served again.
func TestStalledHeaderBound(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p, url := server(t, &poll.Options{Workers: 1, MessageTimeout: timeout}, echo)
	ctx := testCtx(t)
	_, nc := rawClient(t, ctx, url)
	m := masked(frame.OpBinary, true, make([]byte, 100))
	nc.Write(m[:20]) // header and part of the payload, then nothing
	good := dial(t, ctx, url)
	waitLen(t, p, 2)
	echoCtx, cancel := context.WithTimeout(ctx, timeout+hostileBound)
	defer cancel()
	if err := good.Write(echoCtx, conn.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := good.Read(echoCtx); err != nil || string(b) != "hello" {
		t.Fatalf("client beside a stalled peer: %q, %v; want its echo", b, err)
	}
	nc.SetReadDeadline(time.Now().Add(hostileBound))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Errorf("stalled peer not closed: %v", err)
	}
	waitLen(t, p, 1)
}
