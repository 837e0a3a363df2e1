package conn_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
)

// idleStack serves n connections with conn.Handler, each reading burst
// messages (at least one) that its client sends in one write, with Reader
// and, when echo is set, writing each back with WriteReply (which holds
// the replies while more messages are buffered, and is Write for the
// last), and returns the stack each idle connection's goroutine holds
// then: the growth of StackInuse per connection (the client ends have
// no goroutines).
func idleStack(tb testing.TB, n int, echo bool, burst int) float64 {
	return idleStackOf(tb, n, echo, burst, func(ctx context.Context, c *conn.Conn) {
		buf := make([]byte, 64)
		for {
			typ, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			k, err := io.ReadFull(r, buf)
			if err != nil && err != io.ErrUnexpectedEOF {
				return
			}
			if !echo {
				continue
			}
			if err := c.WriteReply(ctx, typ, buf[:k]); err != nil {
				return
			}
		}
	})
}

// idleStackOf is idleStack with connections served by handle.
func idleStackOf(tb testing.TB, n int, echo bool, burst int, handle func(context.Context, *conn.Conn)) float64 {
	return idleStackAfter(tb, n, echo, burst, maskedBurst(burst, "hello"), handle)
}

// idleStackAfter is idleStackOf with each client sending wire, its burst
// messages' frames; 64 KiB or more of them go in two halves, a
// millisecond apart.
func idleStackAfter(tb testing.TB, n int, echo bool, burst int, wire []byte, handle func(context.Context, *conn.Conn)) float64 {
	srv := httptest.NewServer(conn.Handler(nil, handle))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := context.Background()
	clients := make([]*conn.Conn, 0, 2*n)
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	// Two batches of n: what the first costs beyond its connections
	// (the stacks of net/http's exited goroutines, the pool of free
	// stacks) is not counted against the second.
	var stack [2]uint64
	for i := range stack {
		for range n {
			cl, _, err := conn.Dial(ctx, url, nil)
			if err != nil {
				tb.Fatal(err)
			}
			clients = append(clients, cl)
			// A large message goes in two writes, so that the handler
			// waits in the middle of its payload.
			half := len(wire) / 2
			if len(wire) < 64<<10 {
				half = len(wire)
			}
			for i, part := range [][]byte{wire[:half], wire[half:]} {
				if i > 0 {
					time.Sleep(time.Millisecond)
				}
				if _, err := cl.NetConn().Write(part); err != nil {
					tb.Fatal(err)
				}
			}
			for range burst {
				if !echo {
					break
				}
				if _, _, err := cl.Read(ctx); err != nil {
					tb.Fatal(err)
				}
			}
		}
		time.Sleep(50 * time.Millisecond) // the last reads reach their wait
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		stack[i] = m.StackInuse
	}
	return float64(int64(stack[1])-int64(stack[0])) / float64(n)
}

// A goroutine that waits for its idle peer in Reader keeps the 2 KiB
// stack it started with: the wait is made at the top of Reader
// (raw.Conn.ReadAhead), not 1,280 bytes deep in nextData, which grew
// every such goroutine to 4 KiB for good.
func TestIdleReaderStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	if got := idleStack(t, 300, false, 1); got > 3072 {
		t.Fatalf("an idle connection's goroutine holds %.0f bytes of stack, want 2048 (at most 3072 with noise)", got)
	}
}

// A goroutine that has echoed a message keeps its 2 KiB stack too: a
// small frame is written to the socket from the top of raw's WriteFrame
// (sockWrite), with WriteReply about 900 bytes deep, not through
// writeFrame, out and net.Conn.Write, 1,870 bytes deep, which grew every
// goroutine that wrote to 4 KiB for good.
func TestIdleEchoStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	if got := idleStack(t, 300, true, 1); got > 3072 {
		t.Fatalf("an idle connection's goroutine holds %.0f bytes of stack after an echo, want 2048 (at most 3072 with noise)", got)
	}
}

// The same for a goroutine that reads with Read or AppendRead, as the
// package's first example does: it waits under Read's thin frame and
// Reader's, not under the 700 bytes of the loop that collects a large
// message's chunks, which took every such goroutine to 4 KiB (4,041 B
// per idle connection, against 2,048 with Reader). (A message larger
// than 64 KiB is still read under that loop: its goroutine grows.)
func TestIdleReadStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	for _, appendRead := range []bool{false, true} {
		got := idleStackOf(t, 300, true, 1, func(ctx context.Context, c *conn.Conn) {
			var buf []byte
			for {
				var typ conn.MessageType
				var p []byte
				var err error
				if appendRead {
					typ, p, err = c.AppendRead(ctx, buf[:0])
					buf = p
				} else {
					typ, p, err = c.Read(ctx)
				}
				if err != nil {
					return
				}
				if err := c.Write(ctx, typ, p); err != nil {
					return
				}
			}
		})
		if got > 3072 {
			t.Errorf("AppendRead %v: an idle connection's goroutine holds %.0f bytes of stack after an echo, want 2048 (at most 3072 with noise)", appendRead, got)
		}
	}
}

// The same for a goroutine that echoes by streaming, io.Copy from the
// message's Reader to a Writer (copyEchoLoop), as conn/poll's example and
// coder/websocket's echo example do: the frames a Writer sends went out
// beneath flush's frame of 192 bytes (its error path, inlined), which
// took every such goroutine to 4 KiB.
func TestIdleWriterStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	got := idleStackOf(t, 300, true, 1, func(_ context.Context, c *conn.Conn) { copyEchoLoop(c) })
	if got > 3072 {
		t.Fatalf("an idle connection's goroutine holds %.0f bytes of stack after an echo through Writer, want 2048 (at most 3072 with noise)", got)
	}
}

// BenchmarkIdleHandler reports the stack of an idle connection served by
// conn.Handler after one echo (B/idle-stack: 2048 when the goroutine never
// grew, 4096 when the read or the write path went deeper than 2 KiB).
func BenchmarkIdleHandler(b *testing.B) {
	for range b.N {
		b.ReportMetric(idleStack(b, 500, true, 1), "B/idle-stack")
	}
}

// A goroutine that has answered a burst of pipelined messages keeps its
// 2 KiB stack too: WriteReply holds the first replies, and the last goes
// out with them from the top of raw's WriteFrame, not through
// writeFrame and out, which grew every goroutine that answered a burst
// to 4 KiB for good.
func TestIdleAfterBurstStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	if got := idleStack(t, 300, true, 20); got > 3072 {
		t.Fatalf("an idle connection's goroutine holds %.0f bytes of stack after answering a burst, want 2048 (at most 3072 with noise)", got)
	}
}

// A goroutine that echoes each message through a pooled bytes.Buffer
// (ReadFrom, then WriteReply), as bench/'s hybi server does, keeps its
// 2 KiB stack too, after one message and after a burst of pipelined
// ones, whose first replies are held (raw's HoldFrame). Its frames are
// larger than the handlers' above, and leave the library's read and
// write paths less room: 48 bytes more of raw's sockWriter.ready frame
// (a writev branch inlined into it) took every such goroutine to 4 KiB,
// and so did HoldFrame's closure and helper frames after a burst.
func TestIdlePooledEchoStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	handle := func(_ context.Context, c *conn.Conn) { pooledEcho(c) }
	for _, burst := range []int{1, 20} {
		got := idleStackOf(t, 300, true, burst, handle)
		if got > 3072 {
			t.Errorf("burst of %d: an idle connection's goroutine holds %.0f bytes of stack after a pooled echo, want 2048 (at most 3072 with noise)", burst, got)
		}
	}
	// A message larger than the largest read: the pooled buffer, grown
	// by earlier echoes, is lent to the reads (raw's ReadAheadInto),
	// which then moved more than nbsys.MaxDirect allowed, and went through
	// package syscall. The collector is kept out of the way: the clients'
	// messages would start a dozen cycles, and after each the first Get
	// of each of the read buffers' pools (sync.Pool's pinSlow) is deeper
	// than a wait; some connections grow by that, whatever the read.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	msg := bytes.Repeat([]byte("large "), 40<<10)
	if got := idleStackAfter(t, 100, true, 1, clientFrames(frame.OpBinary, msg, []int{len(msg)}), handle); got > 3072 {
		t.Errorf("an idle connection's goroutine holds %.0f bytes of stack after a pooled echo of 240 KiB, want 2048 (at most 3072 with noise)", got)
	}
}

// A goroutine that has read a message larger than one read takes in, and
// echoed it, keeps its 2 KiB stack too: the waits for the rest of the
// payload, and its reads, are made at the top of the message's Read
// (raw's ReadAheadInto), not beneath wireRead and fillMore in
// net.Conn.Read, which grew every such goroutine to 4 KiB. Both ways of
// reading are tried: into a buffer at least as large as the reads (the
// payload goes straight into it), and in pieces smaller than that (through
// the connection's buffer); and a message in 4 KiB fragments, whose next
// frame Read waits for (raw's ReadAhead) at the same depth. (The handler
// reads into a buffer of its own: a bytes.Buffer growing to the
// message's size allocates, and an allocation can go deeper than 2 KiB
// anywhere.)
func TestIdleAfterLargeStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	const size = 240 << 10
	msg := bytes.Repeat([]byte("large "), size/6)
	for _, tc := range []struct {
		piece  int   // the size of the handler's reads
		frames []int // the frame sizes of the message
	}{
		{size, []int{len(msg)}},
		{1000, []int{len(msg)}},
		{size, repeatInts(4096, len(msg)/4096)},
	} {
		if rest := len(msg) - 4096*(len(msg)/4096); len(tc.frames) > 1 && rest > 0 {
			tc.frames = append(tc.frames, rest)
		}
		piece := tc.piece
		got := idleStackAfter(t, 100, true, 1, clientFrames(frame.OpText, msg, tc.frames), func(ctx context.Context, c *conn.Conn) {
			buf := make([]byte, size)
			for {
				typ, r, err := c.Reader(ctx)
				if err != nil {
					return
				}
				n := 0
				for err == nil {
					var k int
					k, err = r.Read(buf[n:min(n+piece, len(buf))])
					n += k
				}
				if err != io.EOF {
					return
				}
				if err := c.WriteReply(ctx, typ, buf[:n]); err != nil {
					return
				}
			}
		})
		if got > 3072 {
			t.Errorf("%d frames read in pieces of %d bytes: an idle connection's goroutine holds %.0f bytes of stack after an echo of 240 KiB, want 2048 (at most 3072 with noise)", len(tc.frames), piece, got)
		}
	}
}

// The same when the handler reads only the start of a large message and
// asks for the next: Reader discards the rest (drain), and its waits are
// made as Read's are.
func TestIdleAfterDrainStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes every frame larger")
	}
	msg := bytes.Repeat([]byte("large "), 40<<10)
	got := idleStackAfter(t, 100, false, 1, clientFrames(frame.OpText, msg, []int{len(msg)}), func(ctx context.Context, c *conn.Conn) {
		buf := make([]byte, 10)
		for {
			_, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
		}
	})
	if got > 3072 {
		t.Fatalf("an idle connection's goroutine holds %.0f bytes of stack after discarding most of 240 KiB, want 2048 (at most 3072 with noise)", got)
	}
}

var echoBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// pooledEcho is bench/'s hybiPooledEcho.
func pooledEcho(c *conn.Conn) {
	defer c.CloseNow()
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return
		}
		b := echoBuffers.Get().(*bytes.Buffer)
		b.Reset()
		_, err = b.ReadFrom(r)
		if err == nil {
			err = c.WriteReply(ctx, typ, b.Bytes())
		}
		echoBuffers.Put(b)
		if err != nil {
			return
		}
	}
}

// maskedBurst is n client text frames of s, as one write.
func maskedBurst(n int, s string) []byte {
	one := clientFrames(frame.OpText, []byte(s), []int{len(s)})
	return bytes.Repeat(one, n)
}
