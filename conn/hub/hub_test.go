package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/leakcheck"
	"github.com/hybi-go/hybi/raw"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// hubServer serves connections that join h and read until they end.
func hubServer(t *testing.T, h *hub.Hub) string {
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		defer c.CloseNow()
		m := h.Add(c)
		defer h.Remove(m)
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(handlers.Wait)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestBroadcast1000 broadcasts to 1,000 connections over TCP: each
// receives every message exactly once and in order.
func TestBroadcast1000(t *testing.T) {
	const conns, msgs = 1000, 50
	h := hub.New(&hub.Options{QueueSize: msgs})
	url := hubServer(t, h)
	ctx := testCtx(t)
	clients := make([]*conn.Conn, conns)
	for i := range clients {
		c, _, err := conn.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		clients[i] = c
	}
	for h.Len() < conns {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range msgs {
				typ, p, err := c.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("client %d, message %d: %w", i, j, err)
					return
				}
				if want := fmt.Sprintf("message %d", j); typ != conn.MessageText || string(p) != want {
					errs <- fmt.Errorf("client %d got %v %q, want %q", i, typ, p, want)
					return
				}
			}
		}()
	}
	for j := range msgs {
		h.Broadcast(conn.MessageText, []byte(fmt.Sprintf("message %d", j)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Nothing more arrived: each message came exactly once.
	for _, c := range clients[:10] {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, p, err := c.Read(rctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("extra read: %q %v", p, err)
		}
	}
	for _, c := range clients {
		go c.Close(conn.StatusNormalClosure, "")
	}
	for h.Len() > 0 {
		time.Sleep(time.Millisecond)
	}
}

// pipeMember joins a server Conn to h whose peer is a Raw client the test
// reads (or does not read) itself.
func pipeMember(t *testing.T, h *hub.Hub, o *conn.Options) (*hub.Member, *raw.Conn) {
	a, b := net.Pipe()
	peer := raw.New(a, nil, raw.Client, nil)
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", o)
	m := h.Add(s)
	t.Cleanup(func() {
		peer.Close()
		s.CloseNow()
		h.Remove(m)
	})
	return m, peer
}

// readFrames reads data frames from peer until a close frame, which it
// echoes, or an error.
func readFrames(peer *raw.Conn) (msgs []string, code frame.StatusCode) {
	ctx := context.Background()
	for {
		hd, err := peer.NextFrame(ctx)
		if err != nil {
			return msgs, 0
		}
		p, _ := io.ReadAll(peer)
		if hd.Opcode == frame.OpClose {
			code, _, _ := frame.ParseClose(p)
			peer.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, p)
			return msgs, code
		}
		msgs = append(msgs, string(p))
	}
}

// Under Drop, a member that does not read loses the messages past its
// queue; the others get everything.
func TestSlowConsumerDrop(t *testing.T) {
	h := hub.New(&hub.Options{QueueSize: 4, SlowConsumer: hub.Drop})
	slow, slowPeer := pipeMember(t, h, nil)
	fast, fastPeer := pipeMember(t, h, nil)
	got := make(chan []string, 1)
	go func() {
		var msgs []string
		for len(msgs) < 20 {
			if _, err := fastPeer.NextFrame(context.Background()); err != nil {
				break
			}
			p, _ := io.ReadAll(fastPeer)
			msgs = append(msgs, string(p))
		}
		got <- msgs
	}()
	for i := range 20 {
		h.Broadcast(conn.MessageBinary, []byte{byte(i)})
		time.Sleep(time.Millisecond) // let the fast writer keep up
	}
	if msgs := <-got; len(msgs) != 20 {
		t.Fatalf("fast member got %d messages", len(msgs))
	}
	// The slow writer holds one message in its blocked write and four in
	// its queue.
	if d := slow.Dropped(); d != 15 {
		t.Errorf("slow member dropped %d, want 15", d)
	}
	if fast.Dropped() != 0 || h.Len() != 2 {
		t.Errorf("fast dropped %d, hub has %d members", fast.Dropped(), h.Len())
	}
	_ = slowPeer
}

// Under Disconnect, a member whose queue overflows is closed with 1008
// once its write in flight is done; it gets no more messages.
func TestSlowConsumerDisconnect(t *testing.T) {
	h := hub.New(&hub.Options{QueueSize: 2})
	slow, slowPeer := pipeMember(t, h, nil)
	h.Broadcast(conn.MessageText, []byte("0")) // the writer blocks on it
	time.Sleep(10 * time.Millisecond)
	for i := 1; i <= 3; i++ { // 1 and 2 fill the queue, 3 overflows
		h.Broadcast(conn.MessageText, []byte{'0' + byte(i)})
	}
	msgs, code := readFrames(slowPeer)
	if code != conn.StatusPolicyViolation || strings.Join(msgs, "") != "0" {
		t.Fatalf("slow peer got %q then close %d; want 0 then 1008", msgs, code)
	}
	<-slow.Done()
	if !errors.Is(slow.Err(), hub.ErrSlowConsumer) || h.Len() != 0 {
		t.Fatalf("Err = %v, Len = %d", slow.Err(), h.Len())
	}
	if r := slow.Conn().CloseReason(); r == nil || r.Code != conn.StatusPolicyViolation {
		t.Fatalf("CloseReason = %v", r)
	}
}

// A write that takes longer than WriteTimeout disconnects the member.
func TestWriteTimeout(t *testing.T) {
	h := hub.New(&hub.Options{WriteTimeout: 50 * time.Millisecond})
	m, _ := pipeMember(t, h, &conn.Options{CloseTimeout: 50 * time.Millisecond})
	h.Broadcast(conn.MessageText, []byte("never read"))
	select {
	case <-m.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("writer still blocked")
	}
	if !errors.Is(m.Err(), hub.ErrSlowConsumer) || h.Len() != 0 {
		t.Fatalf("Err = %v, Len = %d", m.Err(), h.Len())
	}
}

// Send reaches one member; Remove stops its writer and leaves the
// connection open.
func TestSendAndRemove(t *testing.T) {
	h := hub.New(nil)
	a, ap := pipeMember(t, h, nil)
	_, bp := pipeMember(t, h, nil)
	got := make(chan string, 2)
	for _, p := range []*raw.Conn{ap, bp} {
		go func() {
			if _, err := p.NextFrame(context.Background()); err == nil {
				b, _ := io.ReadAll(p)
				got <- string(b)
			}
		}()
	}
	if !a.Send(conn.NewPreparedMessage(conn.MessageText, []byte("just a"))) {
		t.Fatal("Send failed")
	}
	if g := <-got; g != "just a" {
		t.Fatalf("got %q", g)
	}
	h.Remove(a)
	h.Remove(a) // twice is fine
	if a.Send(conn.NewPreparedMessage(conn.MessageText, nil)) || h.Len() != 1 || a.Err() != nil {
		t.Fatalf("after Remove: Len %d, Err %v", h.Len(), a.Err())
	}
	// The connection is still open.
	go a.Conn().Write(context.Background(), conn.MessageText, []byte("direct"))
	if _, err := ap.NextFrame(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(ap); string(b) != "direct" {
		t.Fatalf("got %q", b)
	}
}

// A member whose peer stopped reading never holds up a broadcast, under
// either policy: Broadcast returns while that member's write is stuck,
// and the other members get every message.
func TestBroadcastNeverWaitsForSlowMember(t *testing.T) {
	for _, p := range []hub.Policy{hub.Drop, hub.Disconnect} {
		t.Run(p.String(), func(t *testing.T) {
			h := hub.New(&hub.Options{QueueSize: 2, QueueBytes: 4096, SlowConsumer: p, WriteTimeout: -1})
			slow, _ := pipeMember(t, h, &conn.Options{CloseTimeout: 50 * time.Millisecond})
			_, fastPeer := pipeMember(t, h, nil)
			// The broadcaster waits for the reading member to have each
			// message before it sends the next (never for the slow one):
			// with a queue of 2, a reader the machine starves for a moment
			// must not lose messages to the Drop policy, which would make
			// the count below a measure of the machine's load.
			acks := make(chan int, 1)
			go func() {
				defer close(acks)
				for n := range 100 {
					if _, err := fastPeer.NextFrame(context.Background()); err != nil {
						return
					}
					io.ReadAll(fastPeer)
					acks <- n
				}
			}()
			returned := make(chan struct{})
			read := 0
			go func() {
				defer close(returned)
				for i := range 100 {
					h.Broadcast(conn.MessageBinary, []byte{byte(i)})
					if slow.Queue().Len() > 2 || slow.Queue().Bytes() > 4096 {
						t.Errorf("slow member holds %d messages, %d bytes", slow.Queue().Len(), slow.Queue().Bytes())
					}
					select {
					case _, ok := <-acks:
						if !ok {
							return
						}
						read++
					case <-time.After(10 * time.Second):
						t.Errorf("the reading member did not get message %d in 10 s", i)
						return
					}
				}
			}()
			select {
			case <-returned:
			case <-time.After(30 * time.Second):
				t.Fatal("Broadcast waited for the member that does not read")
			}
			if read != 100 {
				t.Fatalf("the reading member got %d of 100", read)
			}
		})
	}
}

// Members join, leave and fail while broadcasts run: nothing deadlocks or
// panics, a removed member gets nothing queued after Remove returned, and
// every goroutine ends (leakcheck).
func TestChurnDuringBroadcast(t *testing.T) {
	h := hub.New(&hub.Options{QueueSize: 4, SlowConsumer: hub.Drop})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				h.Broadcast(conn.MessageText, []byte("x"))
			}
		}
	}()
	for i := range 100 {
		a, b := net.Pipe()
		peer := raw.New(a, nil, raw.Client, nil)
		s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
		m := h.Add(s)
		read := make(chan []string, 1)
		sawDirect := make(chan struct{})
		go func() {
			var msgs []string
			for {
				if _, err := peer.NextFrame(context.Background()); err != nil {
					read <- msgs
					return
				}
				p, _ := io.ReadAll(peer)
				msgs = append(msgs, string(p))
				if string(p) == "direct" {
					close(sawDirect)
				}
			}
		}()
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		switch i % 3 {
		case 0: // leaves; the connection stays open for direct writes
			h.Remove(m)
			go s.Write(context.Background(), conn.MessageText, []byte("direct"))
			<-sawDirect
		case 1: // its peer goes away
			peer.Close()
			<-m.Done()
			h.Remove(m)
		case 2: // its connection is closed under it
			s.CloseNow()
			h.Remove(m)
		}
		peer.Close()
		s.CloseNow()
		msgs := <-read
		if i%3 == 0 && msgs[len(msgs)-1] != "direct" {
			t.Fatalf("after Remove and a direct write, the member got %q", msgs[len(msgs)-1])
		}
	}
	close(stop)
	wg.Wait()
	if h.Len() != 0 {
		t.Fatalf("%d members left", h.Len())
	}
}
