package conn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/raw"
)

// queuePair is a server Conn with a SendQueue and the raw client at the
// other end of a net.Pipe: a write blocks until the client reads, which
// makes "the peer stopped reading" exact.
func queuePair(t *testing.T, o *conn.QueueOptions) (*conn.SendQueue, *raw.Conn) {
	a, b := net.Pipe()
	peer := raw.New(a, nil, raw.Client, nil)
	s := conn.New(raw.New(b, nil, raw.Server, &raw.Options{}), "", &conn.Options{CloseTimeout: 200 * time.Millisecond})
	q := conn.NewSendQueue(s, o)
	t.Cleanup(func() {
		peer.Close()
		s.CloseNow()
		q.Close()
	})
	return q, peer
}

// readQueued reads one frame from peer: its payload, or the close code.
func readQueued(t *testing.T, peer *raw.Conn) (string, conn.StatusCode) {
	t.Helper()
	h, err := peer.NextFrame(testCtx(t))
	if err != nil {
		t.Fatalf("peer read: %v", err)
	}
	p, _ := io.ReadAll(peer)
	if h.Opcode == 8 {
		code := conn.StatusCode(0)
		if len(p) >= 2 {
			code = conn.StatusCode(int(p[0])<<8 | int(p[1]))
		}
		return string(p), code
	}
	return string(p), 0
}

func msg(s string) *conn.PreparedMessage { return conn.NewPreparedMessage(conn.MessageText, []byte(s)) }

// waitLen waits until the queue holds n messages: the writer has taken
// the first into its write.
func waitLen(t *testing.T, q *conn.SendQueue, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d, want %d", q.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Messages arrive whole and in order, and a direct Write from other
// goroutines at the same time never interleaves with them.
func TestSendQueueOrderWithDirectWrites(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	q := conn.NewSendQueue(server, &conn.QueueOptions{Overflow: conn.OverflowBlock})
	defer q.Close()
	ctx := testCtx(t)
	const n, writers = 200, 3
	var wg sync.WaitGroup
	wg.Add(1 + writers)
	go func() {
		defer wg.Done()
		for i := range n {
			if err := q.Enqueue(ctx, msg(fmt.Sprintf("q%04d", i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for w := range writers {
		go func() {
			defer wg.Done()
			for i := range n / 10 {
				server.Write(ctx, conn.MessageText, fmt.Appendf(nil, "w%d-%04d", w, i))
			}
		}()
	}
	next := 0
	direct := 0
	for next < n || direct < writers*n/10 {
		_, p, err := client.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch s := string(p); {
		case s[0] == 'q':
			if want := fmt.Sprintf("q%04d", next); s != want {
				t.Fatalf("queued message %q, want %q", s, want)
			}
			next++
		case s[0] == 'w' && len(s) == 7:
			direct++
		default:
			t.Fatalf("mangled message %q", s)
		}
	}
	wg.Wait()
}

// Under OverflowDrop a peer that does not read costs exactly the budget:
// one message in the stuck write, MaxMessages waiting, the rest dropped
// and counted, however many are offered; the connection stays open and
// gets the queued ones, in order, once the peer reads again.
func TestSendQueueDropBoundedByCount(t *testing.T) {
	q, peer := queuePair(t, &conn.QueueOptions{MaxMessages: 4, Overflow: conn.OverflowDrop})
	ctx := testCtx(t)
	if err := q.Enqueue(ctx, msg("0")); err != nil {
		t.Fatal(err)
	}
	waitLen(t, q, 0) // the writer is in its write of "0"
	for i := 1; i < 1000; i++ {
		err := q.Enqueue(ctx, msg(fmt.Sprint(i)))
		if i <= 4 && err != nil || i > 4 && !errors.Is(err, conn.ErrQueueFull) {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
		if q.Len() > 4 {
			t.Fatalf("queue holds %d messages, budget 4", q.Len())
		}
	}
	if q.Dropped() != 995 || q.Len() != 4 {
		t.Fatalf("dropped %d, holds %d; want 995, 4", q.Dropped(), q.Len())
	}
	for i := range 5 {
		if p, _ := readQueued(t, peer); p != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, p)
		}
	}
	if q.Err() != nil {
		t.Fatalf("Err = %v", q.Err())
	}
}

// The byte budget holds whatever the count limit: messages of 300 bytes
// against 1,000 bytes leave three waiting.
func TestSendQueueByteBudget(t *testing.T) {
	q, _ := queuePair(t, &conn.QueueOptions{MaxBytes: 1000, MaxMessages: -1, Overflow: conn.OverflowDrop})
	ctx := testCtx(t)
	p := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 300))
	q.Enqueue(ctx, p)
	waitLen(t, q, 0)
	for range 100 {
		q.Enqueue(ctx, p)
		if q.Bytes() > 1000 {
			t.Fatalf("%d bytes waiting, budget 1000", q.Bytes())
		}
	}
	if q.Len() != 3 || q.Bytes() != 900 || q.Dropped() != 97 {
		t.Fatalf("Len %d Bytes %d Dropped %d; want 3 900 97", q.Len(), q.Bytes(), q.Dropped())
	}
	big := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 1001))
	if err := q.Enqueue(ctx, big); !errors.Is(err, conn.ErrMessageTooLarge) {
		t.Fatalf("oversized message: %v", err)
	}
}

// The close policies refuse the message, close with their code once the
// write in flight is done, and send nothing that was waiting: the peer
// sees the first message and then the close frame.
func TestSendQueueOverflowClose(t *testing.T) {
	for _, tc := range []struct {
		o    conn.Overflow
		code conn.StatusCode
	}{{conn.OverflowClose, conn.StatusPolicyViolation}, {conn.OverflowTryAgain, conn.StatusTryAgainLater}} {
		t.Run(tc.o.String(), func(t *testing.T) {
			stopped := make(chan error, 1)
			q, peer := queuePair(t, &conn.QueueOptions{MaxMessages: 2, Overflow: tc.o, OnStop: func(err error) { stopped <- err }})
			ctx := testCtx(t)
			q.Enqueue(ctx, msg("first"))
			waitLen(t, q, 0)
			q.Enqueue(ctx, msg("stale1"))
			q.Enqueue(ctx, msg("stale2"))
			err := q.Enqueue(ctx, msg("overflow"))
			var oe *conn.QueueOverflowError
			if !errors.As(err, &oe) || oe.Code != tc.code || !errors.Is(err, conn.ErrQueueFull) {
				t.Fatalf("Enqueue on overflow: %v", err)
			}
			if q.Len() != 0 {
				t.Fatalf("%d messages still waiting after the overflow", q.Len())
			}
			if p, _ := readQueued(t, peer); p != "first" {
				t.Fatalf("first message %q", p)
			}
			if p, code := readQueued(t, peer); code != tc.code {
				t.Fatalf("after the first message: %q (code %d), want close %d", p, code, tc.code)
			}
			if err := q.Enqueue(ctx, msg("late")); !errors.Is(err, conn.ErrQueueFull) {
				t.Fatalf("Enqueue after the overflow: %v", err)
			}
			peer.Close() // no close frame back: the handshake times out
			<-q.Done()
			if err := <-stopped; !errors.As(err, &oe) {
				t.Fatalf("OnStop got %v", err)
			}
		})
	}
}

// OverflowBlock waits for room, gives up when its context ends (sending
// nothing), and goes on once the peer reads again.
func TestSendQueueBlock(t *testing.T) {
	q, peer := queuePair(t, &conn.QueueOptions{MaxMessages: 1, Overflow: conn.OverflowBlock})
	ctx := testCtx(t)
	q.Enqueue(ctx, msg("a"))
	waitLen(t, q, 0)
	q.Enqueue(ctx, msg("b"))
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.Enqueue(short, msg("never")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enqueue past its deadline: %v", err)
	}
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := q.Enqueue(done, msg("never")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enqueue with a done context: %v", err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- q.Enqueue(ctx, msg("c")) }()
	select {
	case err := <-blocked:
		t.Fatalf("Enqueue returned %v with the queue full", err)
	case <-time.After(20 * time.Millisecond):
	}
	var got []string
	for range 3 {
		p, _ := readQueued(t, peer)
		got = append(got, p)
	}
	if err := <-blocked; err != nil || strings.Join(got, "") != "abc" {
		t.Fatalf("got %q, blocked Enqueue %v", got, err)
	}
}

// Close in the middle: what waits is discarded and never sent, the write
// in flight finishes, Enqueue fails, a blocked Enqueue wakes, and the
// connection stays open for direct writes.
func TestSendQueueCloseInTheMiddle(t *testing.T) {
	q, peer := queuePair(t, &conn.QueueOptions{MaxMessages: 3, Overflow: conn.OverflowBlock})
	ctx := testCtx(t)
	q.Enqueue(ctx, msg("inflight"))
	waitLen(t, q, 0)
	for i := range 3 {
		q.Enqueue(ctx, msg(fmt.Sprint("stale", i)))
	}
	blocked := make(chan error, 1)
	go func() { blocked <- q.Enqueue(ctx, msg("blocked")) }()
	closed := make(chan struct{})
	go func() { q.Close(); close(closed) }()
	if err := <-blocked; !errors.Is(err, conn.ErrQueueClosed) {
		t.Fatalf("blocked Enqueue after Close: %v", err)
	}
	if p, _ := readQueued(t, peer); p != "inflight" {
		t.Fatalf("got %q", p)
	}
	<-closed // Close waited for the write in flight
	if err := q.Enqueue(ctx, msg("late")); !errors.Is(err, conn.ErrQueueClosed) || !errors.Is(q.Err(), conn.ErrQueueClosed) {
		t.Fatalf("Enqueue after Close: %v (Err %v)", err, q.Err())
	}
	go q.Conn().Write(ctx, conn.MessageText, []byte("direct"))
	if p, _ := readQueued(t, peer); p != "direct" {
		t.Fatalf("after Close the peer got %q, want the direct write", p)
	}
	q.Close() // twice is fine
}

// A peer that stops reading is cut off after WriteTimeout: the connection
// is closed at once and the queue stops with ErrWriteTimeout.
func TestSendQueueWriteTimeout(t *testing.T) {
	q, _ := queuePair(t, &conn.QueueOptions{WriteTimeout: 30 * time.Millisecond})
	q.Enqueue(testCtx(t), msg("never read"))
	select {
	case <-q.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the queue's write is still blocked")
	}
	if !errors.Is(q.Err(), conn.ErrWriteTimeout) {
		t.Fatalf("Err = %v", q.Err())
	}
	if err := q.Conn().Write(testCtx(t), conn.MessageText, nil); err == nil {
		t.Fatal("the connection is still open")
	}
}

// A connection closed under the queue stops it at its next write, with
// nothing sent after.
func TestSendQueueConnClosed(t *testing.T) {
	q, _ := queuePair(t, nil)
	q.Conn().CloseNow()
	if err := q.Enqueue(testCtx(t), msg("x")); err != nil {
		t.Fatalf("Enqueue: %v", err) // accepted: the queue learns at the write
	}
	<-q.Done()
	if !errors.Is(q.Err(), conn.ErrClosed) {
		t.Fatalf("Err = %v", q.Err())
	}
	if err := q.Enqueue(testCtx(t), msg("y")); !errors.Is(err, conn.ErrClosed) {
		t.Fatalf("Enqueue after the failure: %v", err)
	}
}

// Many goroutines enqueue while the queue is closed at a random moment:
// no message arrives twice or out of its sender's order, nothing queued
// arrives after a direct write made once Close returned, nothing hangs.
func TestSendQueueRace(t *testing.T) {
	for round := range 20 {
		client, server := pipePair()
		q := conn.NewSendQueue(server, &conn.QueueOptions{MaxMessages: 8, Overflow: conn.OverflowBlock})
		ctx := testCtx(t)
		read := make(chan struct{})
		go func() {
			defer close(read)
			last := map[byte]int{}
			marker := false
			for {
				_, p, err := client.Read(ctx)
				if err != nil {
					return
				}
				if p[0] == 'z' {
					marker = true
					continue
				}
				if marker {
					t.Errorf("round %d: %q arrived after Close returned", round, p)
				}
				var n int
				fmt.Sscan(string(p[1:]), &n)
				if n <= last[p[0]] {
					t.Errorf("round %d: %q after %d", round, p, last[p[0]])
				}
				last[p[0]] = n
			}
		}()
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1; i < 200; i++ {
					if q.Enqueue(ctx, msg(fmt.Sprintf("%c%d", 'a'+s, i))) != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		q.Close()
		server.Write(ctx, conn.MessageText, []byte("z"))
		wg.Wait()
		server.CloseNow()
		<-read
		client.CloseNow()
	}
}

// An idle queue holds no goroutine: the writer exits once it has emptied
// the queue, and the next Enqueue starts another.
func TestSendQueueNoIdleGoroutine(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	q := conn.NewSendQueue(server, nil)
	defer q.Close()
	ctx := testCtx(t)
	for i := range 3 {
		q.Enqueue(ctx, msg(fmt.Sprint(i)))
		if _, p, err := client.Read(ctx); err != nil || string(p) != fmt.Sprint(i) {
			t.Fatalf("read %q %v", p, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for strings.Contains(goroutineDump(), "SendQueue).drain") {
			if time.Now().After(deadline) {
				t.Fatal("the queue's writer outlived an empty queue")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// A prepared message is compressed once for every compressing queue it
// is put on, and each peer reads it whole.
func TestSendQueueDeflateEncodeOnce(t *testing.T) {
	counts := newCounts()
	url, conns := acceptConns(t, func(*http.Request) *conn.AcceptOptions {
		return &conn.AcceptOptions{Extensions: countingDeflate(counts, nil)}
	})
	ctx := testCtx(t)
	data := []byte(strings.Repeat("hello, queue ", 100))
	pm := conn.NewPreparedMessage(conn.MessageText, data)
	var clients []*conn.Conn
	for range 3 {
		c, s := connPair(t, url, conns, &conn.DialOptions{Extensions: exts(nil)})
		q := conn.NewSendQueue(s, nil)
		defer q.Close()
		if err := q.Enqueue(ctx, pm); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		if _, p, err := c.Read(ctx); err != nil || string(p) != string(data) {
			t.Fatalf("read %d bytes, %v", len(p), err)
		}
	}
	got := counts.get()
	total := 0
	for _, n := range got {
		total += n
	}
	if total != 1 {
		t.Fatalf("compressed %d times, want once (%v)", total, got)
	}
}

// The steady state of a queue that keeps up allocates nothing per
// message.
func TestSendQueueAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
	defer s.CloseNow()
	defer b.Close()
	q := conn.NewSendQueue(s, &conn.QueueOptions{Overflow: conn.OverflowBlock})
	defer q.Close()
	pm := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 1024))
	ctx := context.Background()
	for range 100 { // grow the ring
		q.Enqueue(ctx, pm)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := q.Enqueue(ctx, pm); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Enqueue, want 0", allocs)
	}
}

func goroutineDump() string {
	b := make([]byte, 1<<20)
	return string(b[:runtime.Stack(b, true)])
}

// Starting the writer of an idle queue allocates nothing either: a
// fan-out starts one per member per message.
func TestSendQueueIdleStartAllocs(t *testing.T) { idleStartAllocs(t, nil) }

// idleStartAllocs fails t if putting a message on an idle queue made
// with o allocates.
func idleStartAllocs(t *testing.T, o *conn.QueueOptions) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	a, b := net.Pipe()
	read := make(chan struct{})
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(b, buf[:2+16]); err != nil {
				return
			}
			read <- struct{}{}
		}
	}()
	s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
	defer s.CloseNow()
	defer b.Close()
	q := conn.NewSendQueue(s, o)
	defer q.Close()
	pm := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 16))
	ctx := context.Background()
	base := runtime.NumGoroutine()
	idle := func() {
		for runtime.NumGoroutine() > base {
			runtime.Gosched()
		}
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := q.Enqueue(ctx, pm); err != nil {
			t.Fatal(err)
		}
		<-read
		idle()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Enqueue on an idle queue, want 0", allocs)
	}
}
