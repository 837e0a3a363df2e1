package conn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// loopPair returns a client and a server Conn over loopback TCP, both
// closed when the test ends.
func loopPair(t *testing.T, o *conn.Options) (client, server *conn.Conn) {
	t.Helper()
	s, c := testnet.Loopback(t)
	client = conn.New(raw.New(c, nil, raw.Client, nil), "", o)
	server = conn.New(raw.New(s, nil, raw.Server, nil), "", o)
	t.Cleanup(func() { client.CloseNow(); server.CloseNow() })
	return client, server
}

// readResult is one Read of the peer.
type readResult struct {
	typ  conn.MessageType
	data string
	err  error
}

// readAll reads c until it fails, sending every result, the error last.
func readAll(c *conn.Conn) <-chan readResult {
	ch := make(chan readResult, 64)
	go func() {
		defer close(ch)
		for {
			typ, p, err := c.Read(context.Background())
			ch <- readResult{typ, string(p), err}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// next returns the next result from ch, failing the test after 5s.
func next(t *testing.T, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("peer read nothing in 5s")
		return readResult{}
	}
}

// wantMessage reads the next message from ch and checks it.
func wantMessage(t *testing.T, ch <-chan readResult, want string) {
	t.Helper()
	r := next(t, ch)
	if r.err != nil || r.data != want {
		t.Fatalf("peer read %q, %v; want %q", r.data, r.err, want)
	}
}

// TestWriterStaleHandle: a Writer already closed (the usual defer
// w.Close() beside an explicit one) must not end the message another
// Writer has open, nor release the lock that one holds (#13.6).
func TestWriterStaleHandle(t *testing.T) {
	c, s := loopPair(t, nil)
	peer := readAll(s)
	ctx := context.Background()

	w1, err := c.Writer(ctx, conn.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	w1.Write([]byte("first"))
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	wantMessage(t, peer, "first")

	w2, err := c.Writer(ctx, conn.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if err := w1.Close(); !errors.Is(err, conn.ErrWriterClosed) {
		t.Fatalf("stale Close = %v, want ErrWriterClosed", err)
	}
	if n, err := w1.Write([]byte("stale")); n != 0 || !errors.Is(err, conn.ErrWriterClosed) {
		t.Fatalf("stale Write = %d, %v; want 0, ErrWriterClosed", n, err)
	}
	// w2 still holds the message: a Write waits for it.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = c.Write(wctx, conn.MessageText, []byte("between"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write while w2 is open = %v, want DeadlineExceeded", err)
	}
	if _, err := w2.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	wantMessage(t, peer, "hello world")
	if err := w2.Close(); !errors.Is(err, conn.ErrWriterClosed) {
		t.Fatalf("second Close = %v, want ErrWriterClosed", err)
	}
}

// TestWriterStaleHandleConcurrent uses a stale handle from one goroutine
// while another streams its message: under the race detector, the stale
// calls must touch nothing the owner uses (#13.6).
func TestWriterStaleHandleConcurrent(t *testing.T) {
	c, s := loopPair(t, nil)
	peer := readAll(s)
	ctx := context.Background()
	stale, err := c.Writer(ctx, conn.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	wantMessage(t, peer, "")

	const msgs = 20
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range msgs {
			w, err := c.Writer(ctx, conn.MessageText)
			if err != nil {
				t.Error(err)
				return
			}
			for range 4 {
				w.Write([]byte("ab"))
			}
			if err := w.Close(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		stale.Write([]byte("x"))
		stale.Close()
	}
	for range msgs {
		wantMessage(t, peer, "abababab")
	}
}

// serverPeer returns a client Conn whose server end is a Raw session, to see
// the frames the client sends as they are.
func serverPeer(t *testing.T, o *conn.Options) (*conn.Conn, *raw.Conn) {
	t.Helper()
	s, c := testnet.Loopback(t)
	client := conn.New(raw.New(c, nil, raw.Client, nil), "", o)
	peer := raw.New(s, nil, raw.Server, nil)
	t.Cleanup(func() { client.CloseNow(); peer.Close() })
	return client, peer
}

// wireFrame is a frame the peer received.
type wireFrame struct {
	h frame.Header
	p string
}

// nextFrame reads the next frame the peer receives, failing the test
// after 5s.
func nextFrame(t *testing.T, peer *raw.Conn) wireFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := peer.NextFrame(ctx)
	if err != nil {
		t.Fatalf("peer: %v", err)
	}
	p, err := io.ReadAll(peer)
	if err != nil {
		t.Fatalf("peer: %v", err)
	}
	return wireFrame{h, string(p)}
}

// TestDoneContextSendsNothing: a call whose context is done before it
// starts sends nothing and returns ctx.Err() (#13.7).
func TestDoneContextSendsNothing(t *testing.T) {
	c, peer := serverPeer(t, nil)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	pm := conn.NewPreparedMessage(conn.MessageText, []byte("prepared"))
	for i := range 100 {
		if err := c.Write(done, conn.MessageText, []byte("cancelled")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Write #%d = %v, want Canceled", i, err)
		}
		if err := c.WritePrepared(done, pm); !errors.Is(err, context.Canceled) {
			t.Fatalf("WritePrepared #%d = %v, want Canceled", i, err)
		}
		if w, err := c.Writer(done, conn.MessageText); !errors.Is(err, context.Canceled) {
			if err == nil {
				w.Close()
			}
			t.Fatalf("Writer #%d = %v, want Canceled", i, err)
		}
		if err := c.Ping(done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping #%d = %v, want Canceled", i, err)
		}
	}
	// A Writer whose context ends before anything went out sends
	// nothing either, and leaves the connection as it was.
	wctx, wcancel := context.WithCancel(context.Background())
	w, err := c.Writer(wctx, conn.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("buffered"))
	wcancel()
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Writer Close after cancel = %v, want Canceled", err)
	}
	if err := c.Write(context.Background(), conn.MessageBinary, []byte("live")); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, peer); f.h.Opcode != frame.OpBinary || !f.h.Fin || f.p != "live" {
		t.Fatalf("peer got %v %q first, want the binary frame \"live\"", f.h, f.p)
	}
}

// readToEnd reads frames until the stream ends, failing the test after
// 5s.
func readToEnd(t *testing.T, peer *raw.Conn) []wireFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var fs []wireFrame
	for {
		h, err := peer.NextFrame(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("peer: stream did not end in 5s")
			}
			return fs
		}
		p, err := io.ReadAll(peer)
		if err != nil {
			return fs
		}
		fs = append(fs, wireFrame{h, string(p)})
	}
}

// TestNoDataAfterCloseFrame: a Writer open while another goroutine calls
// Close sends nothing after the close frame, and its calls fail with
// ErrClosed (RFC 6455, Section 5.5.1; #13.5).
func TestNoDataAfterCloseFrame(t *testing.T) {
	c, peer := serverPeer(t, nil)
	ctx := context.Background()
	w, err := c.Writer(ctx, conn.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 20000) // over the write buffer: a frame each
	if _, err := w.Write(chunk); err != nil {
		t.Fatal(err)
	}
	if f := nextFrame(t, peer); f.h.Opcode != frame.OpBinary || f.h.Fin {
		t.Fatalf("first frame %v, want a binary frame without FIN", f.h)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(conn.StatusNormalClosure, "") }()
	if f := nextFrame(t, peer); f.h.Opcode != frame.OpClose {
		t.Fatalf("second frame %v, want the close frame", f.h)
	}
	_, werr := w.Write(chunk)
	cerr := w.Close()
	if !errors.Is(werr, conn.ErrClosed) && !errors.Is(cerr, conn.ErrClosed) {
		t.Errorf("Write, Close after the close frame = %v, %v; want ErrClosed", werr, cerr)
	}
	if err := c.Write(ctx, conn.MessageText, []byte("late")); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("Write after the close frame = %v, want ErrClosed", err)
	}
	// Answer the close; what the peer still receives must hold no data.
	// The server ends TCP first, as a server does.
	peer.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, conn.StatusNormalClosure, ""))
	peer.NetConn().(*net.TCPConn).CloseWrite()
	for _, f := range readToEnd(t, peer) {
		if f.h.Opcode.IsData() {
			t.Errorf("peer got a %v frame (fin %v, %d bytes) after the close frame", f.h.Opcode, f.h.Fin, len(f.p))
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// gatedConn is a net.Conn whose writes wait while its gate is shut.
type gatedConn struct {
	net.Conn
	mu      sync.Mutex
	shut    chan struct{} // closed to open the gate; nil while open
	waiting chan struct{} // gets a value when a write starts to wait
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut != nil {
		g.waiting <- struct{}{}
		<-shut
	}
	return g.Conn.Write(p)
}

func (g *gatedConn) close() {
	g.mu.Lock()
	g.shut = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedConn) open() {
	g.mu.Lock()
	close(g.shut)
	g.shut = nil
	g.mu.Unlock()
}

// TestWriterCutAfterFirstFrame: a Writer whose context ends once a frame
// of its message has gone out must not leave the message open for the
// next one to start inside it (#13.4). The connection fails instead.
func TestWriterCutAfterFirstFrame(t *testing.T) {
	for _, where := range []string{"Close", "Write", "CloseWaitingForFrameLock"} {
		t.Run(where, func(t *testing.T) {
			// The peer that fails waits CloseTimeout for TCP to end.
			o := &conn.Options{CloseTimeout: 100 * time.Millisecond}
			sc, cc := testnet.Loopback(t)
			gc := &gatedConn{Conn: cc, waiting: make(chan struct{}, 1)}
			c := conn.New(raw.New(gc, nil, raw.Client, nil), "", o)
			s := conn.New(raw.New(sc, nil, raw.Server, nil), "", o)
			t.Cleanup(func() { c.CloseNow(); s.CloseNow() })
			peer := readAll(s)
			ctx, cancel := context.WithCancel(context.Background())
			w, err := c.Writer(ctx, conn.MessageBinary)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(make([]byte, 20000)); err != nil {
				t.Fatal(err)
			}
			var werr error
			if where == "CloseWaitingForFrameLock" {
				// A ping holds the frame lock, stuck in its write,
				// while the final frame waits for it.
				gc.close()
				// Nobody reads the client, so the ping waits for its
				// pong until pingCancel.
				pingCtx, pingCancel := context.WithCancel(context.Background())
				pinged := make(chan error, 1)
				go func() { pinged <- c.Ping(pingCtx) }()
				<-gc.waiting
				closed := make(chan error, 1)
				go func() { closed <- w.Close() }()
				time.Sleep(20 * time.Millisecond) // let Close reach the lock
				cancel()
				werr = <-closed
				gc.open()
				defer func() { pingCancel(); <-pinged }()
			} else {
				cancel()
			}
			if where == "Write" {
				_, werr = w.Write(make([]byte, 20000))
				if cerr := w.Close(); cerr == nil {
					t.Error("Close after a cut Write = nil")
				}
			} else if where == "Close" {
				werr = w.Close()
			}
			if !errors.Is(werr, context.Canceled) {
				t.Errorf("%s after cancel = %v, want Canceled", where, werr)
			}
			err = c.Write(context.Background(), conn.MessageText, []byte("next"))
			r := next(t, peer)
			if err == nil {
				// Then the message was finished, and "next" follows it.
				if r.err == nil {
					r = next(t, peer)
				}
				if r.err != nil || r.data != "next" {
					t.Fatalf("Write after the cut = nil, but the peer read %q, %v", r.data, r.err)
				}
				return
			}
			if r.err == nil {
				t.Fatalf("peer read a whole message (%d bytes) that was cut short", len(r.data))
			}
			if code := conn.CloseStatus(r.err); code == conn.StatusProtocolError {
				t.Fatalf("peer failed with 1002: %v", r.err)
			}
			if !errors.Is(err, conn.ErrClosed) {
				t.Errorf("Write after the cut = %v, want ErrClosed", err)
			}
			if !errors.Is(werr, raw.ErrBroken) {
				t.Errorf("%s after cancel = %v, want it to wrap raw.ErrBroken", where, werr)
			}
		})
	}
}

// TestCloseInvalidCode: Close with a code that may not be sent still ends
// the connection, with 1011, and says why it did not use the code; 1005
// sends a close frame with no code (#13.12).
func TestCloseInvalidCode(t *testing.T) {
	for _, code := range []conn.StatusCode{999, 1004, 1005, 1006, 1015, 2999, 5000} {
		t.Run(fmt.Sprint(int(code)), func(t *testing.T) {
			c, s := loopPair(t, nil)
			peer := readAll(s)
			err := c.Close(code, "bye")
			want := conn.StatusInternalError
			if code == conn.StatusNoStatusRcvd {
				want = code
				if err != nil {
					t.Errorf("Close(1005) = %v, want nil", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), fmt.Sprint(int(code))) {
				t.Errorf("Close(%d) = %v, want an error that names the code", code, err)
			}
			select {
			case r := <-peer:
				if got := conn.CloseStatus(r.err); got != want {
					t.Errorf("peer read %q, %v; want close code %d", r.data, r.err, want)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("peer got no close frame in 2s")
			}
			if err := c.Write(context.Background(), conn.MessageText, []byte("late")); !errors.Is(err, conn.ErrClosed) {
				t.Errorf("Write after Close = %v, want ErrClosed", err)
			}
		})
	}
}

// TestNoDataAfterCloseFrameDeflate is TestNoDataAfterCloseFrame with
// permessage-deflate: the message the close frame cuts leaves the
// compressor out of step with the peer, which no longer matters, so the
// closing handshake goes on and completes (#13.5).
func TestNoDataAfterCloseFrameDeflate(t *testing.T) {
	x := []extension.Extension{deflate.New(nil)}
	header, _, err := extension.Negotiate(x, extension.Offers(x))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := extension.Confirm(x, header)
	if err != nil {
		t.Fatal(err)
	}
	sc, cc := testnet.Loopback(t)
	c := conn.NewFromResult(&handshake.Result{Conn: cc, Extensions: header}, raw.Client, cli, nil)
	peer := raw.New(sc, nil, raw.Server, &raw.Options{AllowedRSV: frame.RSV1})
	t.Cleanup(func() { c.CloseNow(); peer.Close() })
	ctx := context.Background()

	w, err := c.Writer(ctx, conn.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{1}).Read(chunk) // incompressible: frames go out
	if _, err := w.Write(chunk); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close(conn.StatusNormalClosure, "bye") }()
	for {
		if f := nextFrame(t, peer); f.h.Opcode == frame.OpClose {
			break
		}
	}
	// The close frame is out, the peer's not yet in.
	_, werr := w.Write(chunk)
	cerr := w.Close()
	if !errors.Is(werr, conn.ErrClosed) && !errors.Is(cerr, conn.ErrClosed) {
		t.Errorf("Write, Close after the close frame = %v, %v; want ErrClosed", werr, cerr)
	}
	peer.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, conn.StatusNormalClosure, ""))
	peer.NetConn().(*net.TCPConn).CloseWrite()
	for _, f := range readToEnd(t, peer) {
		if f.h.Opcode.IsData() {
			t.Errorf("peer got a %v frame after the close frame", f.h.Opcode)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close with a compressed message open = %v, want nil", err)
	}
}
