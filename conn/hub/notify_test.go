package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/raw"
)

// change is one notification.
type change struct {
	m       *hub.Member
	join    bool
	members int
}

// notified returns hub options that record every notification in order.
func notified(o hub.Options) (*hub.Options, func() []change) {
	var mu sync.Mutex
	var log []change
	o.OnJoin = func(m *hub.Member, n int) {
		mu.Lock()
		log = append(log, change{m, true, n})
		mu.Unlock()
	}
	o.OnLeave = func(m *hub.Member, n int) {
		mu.Lock()
		log = append(log, change{m, false, n})
		mu.Unlock()
	}
	return &o, func() []change {
		mu.Lock()
		defer mu.Unlock()
		return append([]change(nil), log...)
	}
}

// TestJoinLeaveOrder adds and removes members from many goroutines at
// once: every member is announced once on joining and once on leaving,
// joining first, and the counts step by one in the order delivered.
func TestJoinLeaveOrder(t *testing.T) {
	o, changes := notified(hub.Options{})
	h := hub.New(o)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				a, b := net.Pipe()
				c := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
				m := h.Add(c)
				h.Remove(m)
				h.Remove(m) // a second Remove announces nothing
				c.CloseNow()
				a.Close()
			}
		}()
	}
	wg.Wait()
	log := changes()
	if len(log) != 2*workers*rounds {
		t.Fatalf("%d notifications, want %d", len(log), 2*workers*rounds)
	}
	count := 0
	joined := make(map[*hub.Member]bool)
	for i, ch := range log {
		if ch.join {
			count++
			if joined[ch.m] {
				t.Fatalf("notification %d: a member joined twice", i)
			}
			joined[ch.m] = true
		} else {
			count--
			if !joined[ch.m] {
				t.Fatalf("notification %d: a member left before it joined", i)
			}
			delete(joined, ch.m)
		}
		if ch.members != count {
			t.Fatalf("notification %d says %d members, the changes before it make %d", i, ch.members, count)
		}
	}
	if h.Len() != 0 || len(joined) != 0 {
		t.Fatalf("Len %d, %d members never left", h.Len(), len(joined))
	}
}

// TestLeaveOnSlowConsumer checks that a member disconnected by the hub
// is announced, from its writer, and that the hooks may broadcast and
// send.
func TestLeaveOnSlowConsumer(t *testing.T) {
	const queue = 8
	var h *hub.Hub
	left := make(chan *hub.Member, 1)
	h = hub.New(&hub.Options{
		QueueSize: queue,
		OnJoin: func(m *hub.Member, n int) {
			m.Send(conn.NewPreparedMessage(conn.MessageText, []byte("welcome")))
		},
		OnLeave: func(m *hub.Member, n int) {
			h.Broadcast(conn.MessageText, []byte("someone left"))
			left <- m
		},
	})
	slow, slowPeer := pipeMember(t, h, nil)
	_, fastPeer := pipeMember(t, h, nil)
	fast := make(chan []string, 1)
	go func() {
		var msgs []string
		for len(msgs) < queue+3 {
			if _, err := fastPeer.NextFrame(context.Background()); err != nil {
				break
			}
			b, _ := io.ReadAll(fastPeer)
			msgs = append(msgs, string(b))
		}
		fast <- msgs
	}()
	// slow's writer blocks on its welcome; queue broadcasts fill its
	// queue and the next overflows it. The pauses let fast keep up.
	time.Sleep(10 * time.Millisecond)
	for i := range queue + 1 {
		h.Broadcast(conn.MessageText, []byte(fmt.Sprint(i)))
		time.Sleep(time.Millisecond)
	}
	go readFrames(slowPeer)
	select {
	case m := <-left:
		if m != slow {
			t.Fatal("OnLeave announced the wrong member")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnLeave for the slow consumer")
	}
	<-slow.Done()
	if !errors.Is(slow.Err(), hub.ErrSlowConsumer) || h.Len() != 1 {
		t.Fatalf("Err %v, Len %d", slow.Err(), h.Len())
	}
	got := <-fast
	if len(got) != queue+3 || got[0] != "welcome" || got[1] != "0" || got[queue+2] != "someone left" {
		t.Fatalf("fast member got %q", got)
	}
}

// TestPanickingLeave checks what the notes on notifications promise of a
// panicking OnLeave: Remove panics, and the member is gone with its
// writer stopped; the hub goes on.
func TestPanickingLeave(t *testing.T) {
	var armed atomic.Bool // for the first Remove only
	armed.Store(true)
	h := hub.New(&hub.Options{OnLeave: func(*hub.Member, int) {
		if armed.Swap(false) {
			panic("leave")
		}
	}})
	m, _ := pipeMember(t, h, nil)
	func() {
		defer func() {
			if r := recover(); r != "leave" {
				t.Errorf("Remove recovered %v, want OnLeave's panic", r)
			}
		}()
		h.Remove(m)
	}()
	select {
	case <-m.Done():
	default:
		t.Fatal("the member's writer still runs")
	}
	if h.Len() != 0 || m.Send(conn.NewPreparedMessage(conn.MessageText, nil)) {
		t.Fatalf("member still in the hub: Len %d", h.Len())
	}
	m2, _ := pipeMember(t, h, nil)
	if h.Len() != 1 || !m2.Send(conn.NewPreparedMessage(conn.MessageText, []byte("x"))) {
		t.Fatal("hub unusable after the panic")
	}
}
