package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// countingConn counts the Write calls of a server's socket; it keeps the
// socket's raw access (SyscallConn), so reads wait in the poller as usual.
type countingConn struct {
	*net.TCPConn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(p)
}

// replyPair returns a Raw client over loopback TCP, and the server Conn
// at its other end, whose socket counts its writes. No opening handshake:
// both sides start framing at once.
func replyPair(t *testing.T) (client *raw.Conn, server *conn.Conn, sock *countingConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sock = &countingConn{TCPConn: sc.(*net.TCPConn)}
	server = conn.New(raw.New(sock, nil, raw.Server, nil), "", nil)
	client = raw.New(cc, nil, raw.Client, nil)
	t.Cleanup(func() { server.CloseNow(); client.Close() })
	return client, server, sock
}

// replyLoop echoes with AppendRead and WriteReply, as WriteReply's doc
// shows, until the connection ends.
func replyLoop(s *conn.Conn) error {
	ctx := context.Background()
	var p []byte
	for {
		typ, q, err := s.AppendRead(ctx, p[:0])
		if err != nil {
			return err
		}
		p = q
		if err := s.WriteReply(ctx, typ, p); err != nil {
			return err
		}
	}
}

// readMsg reads one whole single-frame message on a Raw client.
func readMsg(t *testing.T, c *raw.Conn) (frame.Opcode, []byte) {
	t.Helper()
	c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.NetConn().SetReadDeadline(time.Time{})
	h, err := c.NextFrame(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return h.Opcode, p
}

// TestWriteReplyCoalesces sends a burst of messages in one write: their
// echoes must come back in order, whole, in far fewer writes than one
// each.
func TestWriteReplyCoalesces(t *testing.T) {
	const n = 32
	c, s, sock := replyPair(t)
	go replyLoop(s)
	ctx := context.Background()
	var want [][]byte
	for i := range n {
		p := []byte(fmt.Sprintf("message %02d", i))
		want = append(want, p)
		if err := c.HoldFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		op, p := readMsg(t, c)
		if op != frame.OpText || !bytes.Equal(p, want[i]) {
			t.Fatalf("echo %d: %v %q, want %q", i, op, p, want[i])
		}
	}
	// The burst arrives in one or a few reads; each read's echoes leave
	// in one write.
	if w := sock.writes.Load(); w > 4 {
		t.Fatalf("%d writes for %d echoes of one burst, want at most 4", w, n)
	}
}

// TestWriteReplyNoWaitForInput: a reply held because more input is
// buffered goes out as soon as the reader has to wait for the network,
// here for the rest of a frame the peer has not finished sending. The
// peer waits for that reply before it sends the rest, so a reply held
// until more input came would never arrive.
func TestWriteReplyNoWaitForInput(t *testing.T) {
	c, s, _ := replyPair(t)
	go replyLoop(s)
	nc := c.NetConn()
	first := maskedFrame(frame.OpBinary, []byte("first"))
	second := maskedFrame(frame.OpBinary, bytes.Repeat([]byte("x"), 100))
	if _, err := nc.Write(append(first, second[:20]...)); err != nil {
		t.Fatal(err)
	}
	if _, p := readMsg(t, c); string(p) != "first" {
		t.Fatalf("got %q, want the first echo", p)
	}
	if _, err := nc.Write(second[20:]); err != nil {
		t.Fatal(err)
	}
	if _, p := readMsg(t, c); len(p) != 100 {
		t.Fatalf("second echo of %d bytes, want 100", len(p))
	}
	// A lone message is answered at once too.
	if _, err := nc.Write(maskedFrame(frame.OpText, []byte("lone"))); err != nil {
		t.Fatal(err)
	}
	if _, p := readMsg(t, c); string(p) != "lone" {
		t.Fatalf("got %q, want lone", p)
	}
}

// TestWriteReplyOrder: held replies go out before a message another
// goroutine writes after them, and before the close frame.
func TestWriteReplyOrder(t *testing.T) {
	c, s, _ := replyPair(t)
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		typ, p, err := s.Read(ctx)
		if err == nil {
			err = s.WriteReply(ctx, typ, p) // held: the second frame is buffered
		}
		if err == nil && !s.Buffered() {
			err = fmt.Errorf("the second message is not buffered")
		}
		if err == nil {
			// Another goroutine's message, after the held reply.
			errc := make(chan error, 1)
			go func() { errc <- s.Write(ctx, conn.MessageText, []byte("other")) }()
			err = <-errc
		}
		if err == nil {
			typ, p, err = s.Read(ctx)
		}
		if err == nil {
			err = s.WriteReply(ctx, typ, p) // held: a third frame is buffered
		}
		if err == nil {
			err = s.Close(conn.StatusNormalClosure, "")
		}
		done <- err
	}()
	var b []byte
	for _, m := range []string{"one", "two", "three"} {
		b = append(b, maskedFrame(frame.OpText, []byte(m))...)
	}
	if _, err := c.NetConn().Write(b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "other", "two"} {
		if _, p := readMsg(t, c); string(p) != want {
			t.Fatalf("got %q, want %q", p, want)
		}
	}
	if op, _ := readMsg(t, c); op != frame.OpClose {
		t.Fatalf("got %v, want the close frame", op)
	}
	c.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, 1000, ""))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriteReplyFlush: a goroutine that holds a reply and stops reading
// sends it with Flush.
func TestWriteReplyFlush(t *testing.T) {
	c, s, _ := replyPair(t)
	b := append(maskedFrame(frame.OpText, []byte("a")), maskedFrame(frame.OpText, []byte("b"))...)
	if _, err := c.NetConn().Write(b); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for !s.Buffered() {
		typ, p, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WriteReply(ctx, typ, p); err != nil {
			t.Fatal(err)
		}
		if s.Buffered() {
			break
		}
		// The two frames arrived in two reads: try again.
		if _, err := c.NetConn().Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, p := readMsg(t, c); string(p) != "a" {
		t.Fatalf("got %q, want a", p)
	}
}

// TestWriteReplyAllocs: echoing bursts with WriteReply allocates nothing
// in the steady state, client included.
func TestWriteReplyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c, s, _ := replyPair(t)
	go replyLoop(s)
	ctx := context.Background()
	msg := make([]byte, 100)
	buf := make([]byte, 200)
	burst := func() {
		for range 8 {
			if err := c.HoldFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, msg); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for range 8 {
			if _, err := c.NextFrame(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := io.ReadFull(c, buf[:len(msg)]); err != nil || n != len(msg) {
				t.Fatal(n, err)
			}
		}
	}
	burst()
	if allocs := testing.AllocsPerRun(100, burst); allocs != 0 {
		t.Fatalf("%v allocations per burst of 8 echoes, want 0", allocs)
	}
}
