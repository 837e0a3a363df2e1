//go:build linux

package poll_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// echo writes each message back, streamed.
func echo(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
	w, err := c.Writer(ctx, typ)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Close()
}

// server starts an httptest server whose connections are served by a
// new poller with h; both are closed at the end of the test.
func server(t testing.TB, o *poll.Options, h poll.Handler) (*poll.Poller, string) {
	t.Helper()
	p, err := poll.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return serverOn(t, p, h)
}

// serverOn is server with a poller of the caller's.
func serverOn(t testing.TB, p *poll.Poller, h poll.Handler) (*poll.Poller, string) {
	t.Helper()
	return serverAccepting(t, p, nil, h)
}

// serverAccepting is serverOn with the options connections are accepted
// with.
func serverAccepting(t testing.TB, p *poll.Poller, ao *conn.AcceptOptions, h poll.Handler) (*poll.Poller, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			return
		}
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

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, ctx context.Context, url string) *conn.Conn {
	t.Helper()
	c, _, err := conn.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitLen waits until p serves n connections.
func waitLen(t *testing.T, p *poll.Poller, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("poller serves %d connections, want %d", p.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func payload(n int, text bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = 'a' + byte(i%26)
		} else {
			b[i] = byte(i * 7)
		}
	}
	return b
}

func TestEchoMany(t *testing.T) {
	p, url := server(t, nil, echo)
	ctx := testCtx(t)
	const conns = 200
	sizes := []int{0, 1, 125, 126, 1000, 65536, 70000}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := conn.Dial(ctx, url, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			for k, n := range sizes {
				if i%4 != 0 && n > 1000 {
					continue // large messages on a quarter of the connections
				}
				typ := conn.MessageBinary
				if k%2 == 0 {
					typ = conn.MessageText
				}
				msg := payload(n, typ == conn.MessageText)
				if err := c.Write(ctx, typ, msg); err != nil {
					errs <- err
					return
				}
				gt, got, err := c.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("conn %d size %d: %w", i, n, err)
					return
				}
				if gt != typ || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("conn %d size %d: echo differs", i, n)
					return
				}
			}
			// A fragmented message, streamed through Writer in pieces.
			w, err := c.Writer(ctx, conn.MessageBinary)
			if err != nil {
				errs <- err
				return
			}
			for range 3 {
				w.Write([]byte("part"))
				if f, ok := w.(interface{ Flush() error }); ok {
					f.Flush()
				}
			}
			if err := w.Close(); err != nil {
				errs <- err
				return
			}
			if _, got, err := c.Read(ctx); err != nil || string(got) != "partpartpart" {
				errs <- fmt.Errorf("conn %d fragmented: %q %v", i, got, err)
				return
			}
			if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
				errs <- fmt.Errorf("conn %d close: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitLen(t, p, 0)
}

// rawClient dials url and returns a Raw session on the connection, for
// sending frames conn would not send.
func rawClient(t *testing.T, ctx context.Context, url string) (*raw.Conn, net.Conn) {
	c := dial(t, ctx, url)
	nc := c.NetConn()
	return raw.New(nc, nil, raw.Client, &raw.Options{AllowIllegalWrites: true}), nc
}

// masked returns a masked client frame.
func masked(op frame.Opcode, fin bool, p []byte) []byte {
	h := frame.Header{Fin: fin, Opcode: op, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(p))}
	b := frame.AppendHeader(nil, h)
	q := append([]byte(nil), p...)
	frame.Mask(h.Mask, 0, q)
	return append(b, q...)
}

// readFrame reads one whole frame from rc.
func readFrame(ctx context.Context, rc *raw.Conn) (frame.Header, []byte, error) {
	h, err := rc.NextFrame(ctx)
	if err != nil {
		return h, nil, err
	}
	p, err := io.ReadAll(rc)
	return h, p, err
}

func TestPipelinedAndControl(t *testing.T) {
	// One worker: a connection that woke it for a ping alone must give
	// it back quickly.
	p, url := server(t, &poll.Options{Workers: 1}, echo)
	ctx := testCtx(t)
	rc, nc := rawClient(t, ctx, url)
	// Several messages, a ping and a fragmented message with a ping in
	// the middle, all in one write.
	var b []byte
	for i := range 5 {
		b = append(b, masked(frame.OpText, true, fmt.Appendf(nil, "m%d", i))...)
	}
	b = append(b, masked(frame.OpPing, true, []byte("p1"))...)
	b = append(b, masked(frame.OpBinary, false, []byte("ab"))...)
	b = append(b, masked(frame.OpPing, true, []byte("p2"))...)
	b = append(b, masked(frame.OpContinuation, true, []byte("cd"))...)
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	want := []string{"text m0", "text m1", "text m2", "text m3", "text m4", "pong p1", "pong p2", "binary abcd"}
	for _, w := range want {
		h, p, err := readFrame(ctx, rc)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%s %s", strings.ToLower(h.Opcode.String()), p)
		if got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	// A ping alone: answered, and the connection goes back to epoll.
	start := time.Now()
	if _, err := nc.Write(masked(frame.OpPing, true, []byte("solo"))); err != nil {
		t.Fatal(err)
	}
	if h, p, err := readFrame(ctx, rc); err != nil || h.Opcode != frame.OpPong || string(p) != "solo" {
		t.Fatalf("pong: %v %q %v", h.Opcode, p, err)
	}
	// Another connection is served by the only worker at once.
	c2 := dial(t, ctx, url)
	if err := c2.Write(ctx, conn.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c2.Read(ctx); err != nil || string(got) != "hi" {
		t.Fatalf("second conn: %q %v", got, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the worker was held %v by a ping", d)
	}
	// A header split over two writes.
	m := masked(frame.OpText, true, []byte("split"))
	nc.Write(m[:1])
	time.Sleep(20 * time.Millisecond) // longer than FrameWait
	nc.Write(m[1:])
	if h, p, err := readFrame(ctx, rc); err != nil || string(p) != "split" || h.Opcode != frame.OpText {
		t.Fatalf("split: %q %v", p, err)
	}
	waitLen(t, p, 2)
}

// TestControlFrameAcrossWakeUps sends a ping, then a close frame, each
// cut in the middle of its payload with a pause longer than FrameWait:
// the worker hands the connection back to epoll with the frame half read,
// and the next wake-up must finish it, answering the ping with its whole
// payload and the close with its code.
func TestControlFrameAcrossWakeUps(t *testing.T) {
	p, url := server(t, nil, echo)
	ctx := testCtx(t)
	rc, nc := rawClient(t, ctx, url)
	for _, f := range []struct {
		op   frame.Opcode
		p    []byte
		want frame.Opcode
	}{
		{frame.OpPing, []byte("a ping payload"), frame.OpPong},
		{frame.OpClose, frame.AppendClose(nil, 4001, "bye"), frame.OpClose},
	} {
		m := masked(f.op, true, f.p)
		cut := len(m) - len(f.p) + 3
		nc.Write(m[:cut])
		time.Sleep(20 * time.Millisecond) // longer than FrameWait
		nc.Write(m[cut:])
		h, got, err := readFrame(ctx, rc)
		if err != nil || h.Opcode != f.want {
			t.Fatalf("after a %v cut in two: %v %q %v, want a %v", f.op, h.Opcode, got, err, f.want)
		}
		if f.op == frame.OpPing && string(got) != string(f.p) {
			t.Fatalf("pong %q, want %q", got, f.p)
		}
		if code, _, _ := frame.ParseClose(got); f.op == frame.OpClose && code != 4001 {
			t.Fatalf("close answered with %d, want 4001", code)
		}
	}
	waitLen(t, p, 0)
}

func TestPeerClose(t *testing.T) {
	var calls atomic.Int32
	p, url := server(t, nil, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		calls.Add(1)
		return echo(ctx, c, typ, r)
	})
	ctx := testCtx(t)
	const n = 20
	var cs []*conn.Conn
	for range n {
		c := dial(t, ctx, url)
		if err := c.Write(ctx, conn.MessageText, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	waitLen(t, p, n)
	for i, c := range cs {
		if i%2 == 0 {
			if err := c.Close(conn.StatusGoingAway, "bye"); err != nil {
				t.Errorf("close: %v", err)
			}
		} else {
			c.CloseNow() // dropped without a close frame
		}
	}
	waitLen(t, p, 0)
	if got := calls.Load(); got != n {
		t.Errorf("handler called %d times, want %d", got, n)
	}
}

func TestProtocolError(t *testing.T) {
	p, url := server(t, nil, echo)
	ctx := testCtx(t)
	rc, nc := rawClient(t, ctx, url)
	nc.Write(masked(frame.Opcode(3), true, []byte("bad"))) // reserved opcode
	h, b, err := readFrame(ctx, rc)
	if err != nil || h.Opcode != frame.OpClose {
		t.Fatalf("got %v %q %v, want a close frame", h.Opcode, b, err)
	}
	if code, _, _ := frame.ParseClose(b); code != conn.StatusProtocolError {
		t.Errorf("close code %d, want 1002", code)
	}
	nc.Close()
	waitLen(t, p, 0)
}

func TestHandlerError(t *testing.T) {
	p, url := server(t, nil, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		b, _ := io.ReadAll(r)
		if string(b) == "quit" {
			c.Close(conn.StatusPolicyViolation, "asked to")
			return errors.New("quit")
		}
		return c.Write(ctx, typ, b)
	})
	ctx := testCtx(t)
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("quit"))
	_, _, err := c.Read(ctx)
	if conn.CloseStatus(err) != conn.StatusPolicyViolation {
		t.Errorf("read after quit: %v, want 1008", err)
	}
	waitLen(t, p, 0)
}

func TestMessageTimeout(t *testing.T) {
	p, url := server(t, &poll.Options{MessageTimeout: 100 * time.Millisecond}, echo)
	ctx := testCtx(t)
	_, nc := rawClient(t, ctx, url)
	m := masked(frame.OpBinary, true, make([]byte, 100))
	nc.Write(m[:20]) // header and part of the payload, then nothing
	waitLen(t, p, 1)
	waitLen(t, p, 0)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Errorf("stalled peer not closed: %v", err)
	}
}

func TestClose(t *testing.T) {
	p, url := server(t, nil, echo)
	ctx := testCtx(t)
	var cs []*conn.Conn
	for range 10 {
		c := dial(t, ctx, url)
		c.Write(ctx, conn.MessageText, []byte("x"))
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	p.Close()
	if p.Len() != 0 {
		t.Errorf("Len after Close = %d", p.Len())
	}
	for _, c := range cs {
		if _, _, err := c.Read(ctx); conn.CloseStatus(err) != conn.StatusAbnormalClosure {
			t.Errorf("client read after Close: %v", err)
		}
	}
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("x"))
	if _, _, err := c.Read(ctx); err == nil {
		t.Error("served after Close")
	}
}

func TestCloseNowFromOutside(t *testing.T) {
	var mu sync.Mutex
	var served []*conn.Conn
	p, err := poll.New(&poll.Options{SweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		served = append(served, c)
		mu.Unlock()
		p.Serve(c, echo)
	}))
	defer srv.Close()
	ctx := testCtx(t)
	c := dial(t, ctx, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c.Write(ctx, conn.MessageText, []byte("x"))
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	served[0].CloseNow()
	mu.Unlock()
	waitLen(t, p, 0)
}

func TestNotSocket(t *testing.T) {
	p, err := poll.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b := net.Pipe()
	defer b.Close()
	c := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
	defer c.CloseNow()
	if err := p.Serve(c, echo); !errors.Is(err, poll.ErrNotSocket) {
		t.Errorf("Serve on a pipe: %v, want ErrNotSocket", err)
	}
}

// TestHandshakeBuffered sends a frame in the same write as the opening
// handshake: it is read with the handshake, and epoll never reports it.
func TestHandshakeBuffered(t *testing.T) {
	_, url := server(t, nil, echo)
	nc, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "ws://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	nc.Write(append([]byte(req), masked(frame.OpText, true, []byte("early"))...))
	var resp []byte
	buf := make([]byte, 1)
	for !bytes.HasSuffix(resp, []byte("\r\n\r\n")) {
		if _, err := nc.Read(buf); err != nil {
			t.Fatalf("response: %q %v", resp, err)
		}
		resp = append(resp, buf[0])
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		t.Fatalf("response: %q", resp)
	}
	rc := raw.New(nc, nil, raw.Client, nil)
	h, p, err := readFrame(context.Background(), rc)
	if err != nil || h.Opcode != frame.OpText || string(p) != "early" {
		t.Fatalf("echo of the early frame: %v %q %v", h.Opcode, p, err)
	}
}

// TestTinyFrameWait makes the wait for a frame header expire all the
// time, also just as a header has been read: no message may be lost or
// connection dropped for it.
func TestTinyFrameWait(t *testing.T) {
	for _, deflated := range []bool{false, true} {
		t.Run(fmt.Sprintf("deflate=%v", deflated), func(t *testing.T) {
			p, err := poll.New(&poll.Options{FrameWait: time.Microsecond, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var ao conn.AcceptOptions
			var do conn.DialOptions
			if deflated {
				ao.Extensions = []extension.Extension{deflate.New(nil)}
				do.Extensions = []extension.Extension{deflate.New(nil)}
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := conn.Accept(w, r, &ao)
				if err != nil {
					return
				}
				p.Serve(c, echo)
			}))
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			ctx := testCtx(t)
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, _, err := conn.Dial(ctx, url, &do)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.CloseNow()
					for k := range 40 {
						msg := payload([]int{3, 200, 5000, 70000}[(i+k)%4], false)
						// Pipeline two messages now and then.
						n := 1 + k%2
						for range n {
							if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
								t.Error(err)
								return
							}
						}
						for range n {
							_, got, err := c.Read(ctx)
							if err != nil || !bytes.Equal(got, msg) {
								t.Errorf("conn %d msg %d: %d bytes, %v", i, k, len(got), err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestKeepalive: pongs reach a served connection through the poller, so
// Ping and Options.PingInterval work; a peer that stops answering is
// closed by conn and forgotten by the poller's sweep.
func TestKeepalive(t *testing.T) {
	p, err := poll.New(&poll.Options{SweepInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	served := make(chan *conn.Conn, 2)
	ao := &conn.AcceptOptions{Options: conn.Options{PingInterval: 30 * time.Millisecond}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			return
		}
		served <- c
		p.Serve(c, echo)
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := testCtx(t)

	// A client that reads answers pings.
	live := dial(t, ctx, url)
	sc := <-served
	echoes := make(chan string, 1)
	go func() {
		for {
			_, b, err := live.Read(ctx)
			if err != nil {
				close(echoes)
				return
			}
			echoes <- string(b)
		}
	}()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := sc.Ping(pctx); err != nil {
		t.Errorf("Ping of a served connection: %v", err)
	}
	cancel()
	time.Sleep(200 * time.Millisecond) // several keepalive rounds
	live.Write(ctx, conn.MessageText, []byte("still here"))
	if got := <-echoes; got != "still here" {
		t.Errorf("echo after keepalive: %q", got)
	}

	// A client that never reads does not answer: conn gives up on it.
	dial(t, ctx, url)
	<-served
	waitLen(t, p, 2)
	waitLen(t, p, 1)
	live.CloseNow()
	<-echoes
	waitLen(t, p, 0)
}

// TestCloseUnderLoad closes the poller while connections are busy.
func TestCloseUnderLoad(t *testing.T) {
	p, url := server(t, &poll.Options{Workers: 2}, echo)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range 20 {
		c := dial(t, ctx, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := payload(3000, false)
			for {
				if c.Write(ctx, conn.MessageBinary, msg) != nil {
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	p.Close()
	wg.Wait()
	if n := p.Len(); n != 0 {
		t.Errorf("Len after Close = %d", n)
	}
}

// A handler waiting on its context wakes when the poller closes.
func TestCloseWakesHandler(t *testing.T) {
	started := make(chan struct{})
	woke := make(chan error, 1)
	p, url := server(t, nil, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		close(started)
		<-ctx.Done()
		woke <- ctx.Err()
		return ctx.Err()
	})
	ctx := testCtx(t)
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("x"))
	<-started
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case err := <-woke:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler's ctx.Err() = %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler not woken by Close")
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

// The handler's context carries the message deadline; a write the peer
// never reads is cut off there and the connection closed.
func TestHandlerWriteTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	deadlines := make(chan time.Duration, 1)
	p, url := server(t, &poll.Options{MessageTimeout: timeout}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("handler ctx has no deadline")
		}
		deadlines <- time.Until(d)
		big := make([]byte, 1<<20)
		for {
			if err := c.Write(ctx, conn.MessageBinary, big); err != nil {
				return err
			}
		}
	})
	ctx := testCtx(t)
	_, nc := rawClient(t, ctx, url)
	nc.Write(masked(frame.OpBinary, true, []byte("go")))
	if d := <-deadlines; d <= 0 || d > timeout {
		t.Errorf("handler deadline %v away, want within (0, %v]", d, timeout)
	}
	waitLen(t, p, 1)
	start := time.Now()
	waitLen(t, p, 0) // the client never reads: the write must give up
	if el := time.Since(start); el > 20*timeout {
		t.Errorf("stalled write held the connection %v", el)
	}
}

// The write deadline of a handled message does not outlive it: another
// goroutine can write to the connection long after.
func TestWriteAfterMessageTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	served := make(chan *conn.Conn, 1)
	_, url := server(t, &poll.Options{MessageTimeout: timeout}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		select {
		case served <- c:
		default:
		}
		return echo(ctx, c, typ, r)
	})
	ctx := testCtx(t)
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("x"))
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	s := <-served
	time.Sleep(4 * timeout)
	if err := s.Write(context.Background(), conn.MessageText, []byte("later")); err != nil {
		t.Fatalf("write from another goroutine after the message: %v", err)
	}
	if _, p, err := c.Read(ctx); err != nil || string(p) != "later" {
		t.Fatalf("client read %q, %v", p, err)
	}
}

// serverCloseTimeout is server with conn.Options.CloseTimeout set on the
// accepted connections.
func serverCloseTimeout(t *testing.T, o *poll.Options, closeTimeout time.Duration) (*poll.Poller, string) {
	t.Helper()
	p, err := poll.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ao := &conn.AcceptOptions{}
	ao.CloseTimeout = closeTimeout
	return serverAccepting(t, p, ao, echo)
}

// A peer that breaks the protocol and then neither closes nor reads must
// not hold a worker while the server waits for its end of stream: with one
// worker, another connection is still echoed, and the wait ends as soon as
// the bad peer closes.
func TestProtocolErrorDrainHoldsNoWorker(t *testing.T) {
	p, url := serverCloseTimeout(t, &poll.Options{Workers: 1}, time.Minute)
	ctx := testCtx(t)
	good := dial(t, ctx, url)
	rc, nc := rawClient(t, ctx, url)
	waitLen(t, p, 2)
	nc.Write(masked(frame.Opcode(3), true, []byte("bad")))
	h, b, err := readFrame(ctx, rc)
	if err != nil || h.Opcode != frame.OpClose {
		t.Fatalf("got %v %q %v, want a close frame", h.Opcode, b, err)
	}
	// The server still waits for the bad peer (a minute), yet its only
	// worker echoes the good one. More input from the bad peer, sent after
	// the deadlines the worker read under have passed, is discarded
	// meanwhile.
	time.Sleep(2 * poll.DefaultFrameWait)
	nc.Write(masked(frame.OpText, true, []byte("ignored")))
	time.Sleep(50 * time.Millisecond)
	want := []byte("still served")
	if err := good.Write(ctx, conn.MessageText, want); err != nil {
		t.Fatal(err)
	}
	_, got, err := good.Read(ctx)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo while a peer drains: %q, %v", got, err)
	}
	if n := p.Len(); n != 2 {
		t.Fatalf("poller serves %d connections during the drain, want 2", n)
	}
	nc.Close()
	waitLen(t, p, 1)
}

// A peer that breaks the protocol and then hangs on is closed when
// conn.Options.CloseTimeout runs out: it reads the close frame, then the
// end of the stream.
func TestProtocolErrorDrainTimeout(t *testing.T) {
	p, url := serverCloseTimeout(t, nil, 100*time.Millisecond)
	ctx := testCtx(t)
	rc, nc := rawClient(t, ctx, url)
	waitLen(t, p, 1)
	nc.Write(masked(frame.OpText, true, []byte{0xff})) // invalid UTF-8
	h, b, err := readFrame(ctx, rc)
	if err != nil || h.Opcode != frame.OpClose {
		t.Fatalf("got %v %q %v, want a close frame", h.Opcode, b, err)
	}
	if code, _, _ := frame.ParseClose(b); code != conn.StatusInvalidFramePayloadData {
		t.Errorf("close code %d, want 1007", code)
	}
	if _, err := rc.NextFrame(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the close frame: %v, want EOF", err)
	}
	waitLen(t, p, 0)
}

// A client connection can be served too. After the server's close, conn
// answers it and leaves the wait for the server's end of stream to the
// poller (a client lets the server close TCP first): the server's Close
// completes, and the connection leaves the poller when TCP ends.
func TestServeClient(t *testing.T) {
	closed := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			closed <- err
			return
		}
		typ, b, err := c.Read(r.Context())
		if err == nil {
			err = c.Write(r.Context(), typ, b)
		}
		if err != nil {
			closed <- err
			return
		}
		closed <- c.Close(conn.StatusNormalClosure, "bye")
	}))
	defer srv.Close()
	p, err := poll.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := testCtx(t)
	c := dial(t, ctx, "ws"+strings.TrimPrefix(srv.URL, "http"))
	got := make(chan string, 1)
	err = p.Serve(c, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		b, err := io.ReadAll(r)
		got <- string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, conn.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "hello" {
		t.Errorf("echo %q", s)
	}
	if err := <-closed; err != nil {
		t.Errorf("server's Close: %v", err)
	}
	waitLen(t, p, 0)
	if _, _, err := c.Read(ctx); conn.CloseStatus(err) != conn.StatusNormalClosure {
		t.Errorf("client after the close: %v, want 1000", err)
	}
}

// A sweep interval shorter than the time New takes to return: the first
// tick may run before New has stored its timer, and must find it there
// (it resets it), not nil.
func TestSweepTinyInterval(t *testing.T) {
	for range 50 {
		p, err := poll.New(&poll.Options{SweepInterval: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // some ticks
		p.Close()
	}
}

// TestHandlerContextDeadline: the context a handler gets has the
// message's deadline, MessageTimeout after the message was read; its Err
// is nil before it and DeadlineExceeded after, and a write under it then
// fails fast with that error.
func TestHandlerContextDeadline(t *testing.T) {
	const timeout = 100 * time.Millisecond
	type seen struct {
		before, after, write error
		left                 time.Duration
	}
	got := make(chan seen, 1)
	_, url := server(t, &poll.Options{MessageTimeout: timeout}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		var s seen
		dl, _ := ctx.Deadline()
		s.left = time.Until(dl)
		s.before = ctx.Err()
		time.Sleep(time.Until(dl) + 10*time.Millisecond)
		s.after = ctx.Err()
		s.write = c.Write(ctx, conn.MessageText, []byte("late"))
		got <- s
		return nil
	})
	ctx := testCtx(t)
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("x"))
	s := <-got
	if s.left <= 0 || s.left > timeout {
		t.Errorf("deadline %v away at the handler's start, want within (0, %v]", s.left, timeout)
	}
	if s.before != nil {
		t.Errorf("Err before the deadline = %v, want nil", s.before)
	}
	if !errors.Is(s.after, context.DeadlineExceeded) {
		t.Errorf("Err after the deadline = %v, want DeadlineExceeded", s.after)
	}
	if !errors.Is(s.write, context.DeadlineExceeded) {
		t.Errorf("Write under the expired context = %v, want DeadlineExceeded", s.write)
	}
}

// TestCloseWhileLoopHandsOver closes the poller while its one worker is
// in a handler and the loop waits to hand it another ready connection:
// Close wakes the handler, the worker takes what the loop held, finds it
// closed, and everything ends (leakcheck sees no goroutine left).
func TestCloseWhileLoopHandsOver(t *testing.T) {
	started := make(chan struct{}, 2)
	p, url := server(t, &poll.Options{Workers: 1}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	ctx := testCtx(t)
	a, b := dial(t, ctx, url), dial(t, ctx, url)
	waitLen(t, p, 2)
	a.Write(ctx, conn.MessageText, []byte("x"))
	<-started
	// b's message is ready while the only worker is busy: the loop
	// waits to hand it over.
	b.Write(ctx, conn.MessageText, []byte("y"))
	time.Sleep(50 * time.Millisecond)
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if n := p.Len(); n != 0 {
		t.Errorf("Len after Close = %d", n)
	}
}

// TestHandlerContextPerMessage: a context a handler keeps after it
// returns still carries its own message's deadline, not a later one's.
func TestHandlerContextPerMessage(t *testing.T) {
	ctxs := make(chan context.Context, 2)
	_, url := server(t, &poll.Options{MessageTimeout: time.Hour}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		ctxs <- ctx
		return nil
	})
	ctx := testCtx(t)
	c := dial(t, ctx, url)
	c.Write(ctx, conn.MessageText, []byte("a"))
	first := <-ctxs
	d1, _ := first.Deadline()
	time.Sleep(20 * time.Millisecond)
	c.Write(ctx, conn.MessageText, []byte("b"))
	second := <-ctxs
	d2, _ := second.Deadline()
	if !d2.After(d1) {
		t.Fatalf("second message's deadline %v is not after the first's %v", d2, d1)
	}
	if d, _ := first.Deadline(); !d.Equal(d1) {
		t.Errorf("the first message's kept context changed its deadline from %v to %v", d1, d)
	}
}

// TestLastMessageThenEndOfStream: a client that sends a message and at
// once ends its side (its FIN arriving with the message, so that epoll
// reports both in one event) gets the echo, and the server then ends the
// connection. An edge-triggered epoll set reports the end of the stream
// once; a read that returns the message leaves it unread behind, and
// nothing later would make epoll report the socket again.
func TestLastMessageThenEndOfStream(t *testing.T) {
	p, url := server(t, &poll.Options{FrameWait: time.Millisecond}, echo)
	ctx := testCtx(t)
	for i := range 20 {
		_, nc := rawClient(t, ctx, url)
		waitLen(t, p, 1)
		if _, err := nc.Write(masked(frame.OpText, true, []byte("bye"))); err != nil {
			t.Fatal(err)
		}
		nc.(*net.TCPConn).CloseWrite()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(nc)
		if err != nil {
			t.Fatalf("round %d: %v after %d bytes (the server did not end the connection)", i, err, len(got))
		}
		msgs, _, _ := parseMessages(got)
		if len(msgs) != 1 || string(msgs[0].data) != "bye" {
			t.Fatalf("round %d: got %q, want the echo of \"bye\"", i, got)
		}
		waitLen(t, p, 0)
		nc.Close()
	}
}

// MessageTimeout counts from the message's first frame header: a header
// that took most of FrameWait to arrive leaves the handler the whole
// timeout, not what remained of it since the worker began to wait.
func TestMessageTimeoutFromHeader(t *testing.T) {
	const (
		frameWait = 2 * time.Second
		timeout   = 600 * time.Millisecond
		late      = 400 * time.Millisecond
	)
	left := make(chan time.Duration, 1)
	_, url := server(t, &poll.Options{FrameWait: frameWait, MessageTimeout: timeout}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		d, _ := ctx.Deadline()
		left <- time.Until(d)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	ctx := testCtx(t)
	_, nc := rawClient(t, ctx, url)
	msg := masked(frame.OpBinary, true, []byte("late"))
	nc.Write(msg[:1]) // wakes a worker, which waits for the rest
	time.Sleep(late)
	nc.Write(msg[1:])
	select {
	case d := <-left:
		if d <= timeout-late/2 || d > timeout {
			t.Errorf("handler started with its deadline %v away, want about %v (the header came %v after the worker began to wait)", d, timeout, late)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
}

// A ping that arrives while the worker is still in the handler of the
// message before it is read when the worker looks again, with no time
// left (wait 0): its pong, cut short by that deadline, still goes out,
// although the peer, waiting for it, sends nothing more.
func TestPingWhileHandlerRuns(t *testing.T) {
	release := make(chan struct{})
	first := make(chan struct{}, 1)
	_, url := server(t, &poll.Options{Workers: 1}, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		select {
		case first <- struct{}{}:
		default:
		}
		<-release
		return nil
	})
	ctx := testCtx(t)
	rc, nc := rawClient(t, ctx, url)
	if _, err := nc.Write(masked(frame.OpText, true, []byte("hold"))); err != nil {
		t.Fatal(err)
	}
	<-first
	if _, err := nc.Write(masked(frame.OpPing, true, []byte("p"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // epoll reports the ping to a busy worker
	close(release)
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if h, p, err := readFrame(short, rc); err != nil || h.Opcode != frame.OpPong || string(p) != "p" {
		t.Fatalf("after the handler returned: %v %q %v, want the pong", h.Opcode, p, err)
	}
}
