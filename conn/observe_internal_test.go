package conn

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/hybi-go/hybi/raw"
)

// depthLog records the SendQueue events.
type depthLog struct {
	NopObserver
	mu     sync.Mutex
	depths []int
}

func (d *depthLog) SendQueue(_ *Conn, depth int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.depths = append(d.depths, depth)
}

// TestSendQueueReportsDepth: a SendQueue reports each change of its depth
// through the connection's Observer, in order, back to 0 once drained.
func TestSendQueueReportsDepth(t *testing.T) {
	var log depthLog
	a, b := net.Pipe() // unbuffered: the writer waits until the peer reads
	defer a.Close()
	c := New(raw.New(b, nil, raw.Server, nil), "", &Options{Observer: &log})
	defer c.CloseNow()
	q := NewSendQueue(c, nil)
	pm := NewPreparedMessage(MessageText, []byte("queued"))
	for range 5 {
		if err := q.Enqueue(context.Background(), pm); err != nil {
			t.Fatal(err)
		}
	}
	peer := raw.New(a, nil, raw.Client, nil)
	for range 5 {
		if _, err := peer.NextFrame(context.Background()); err != nil {
			t.Fatal(err)
		}
		io.ReadAll(peer)
	}
	q.Close()
	log.mu.Lock()
	defer log.mu.Unlock()
	top, last := 0, -1
	for _, d := range log.depths {
		top = max(top, d)
		last = d
	}
	// Five pushes and five pops at least; the writer may take the first
	// message before the second is queued, so the top is 4 or 5.
	if len(log.depths) < 10 || top < 4 || last != 0 {
		t.Fatalf("depths reported %v: want 10 or more, up to 4 or 5, ending at 0", log.depths)
	}
}

// TestSendQueueSeam checks the seam the per-connection send queue is to
// report its depth through: each depth reaches the Observer, Counters
// keeps the deepest, and nothing is reported after Closed.
func TestSendQueueSeam(t *testing.T) {
	var log depthLog
	var counters Counters
	a, b := net.Pipe()
	defer a.Close()
	c := New(raw.New(b, nil, raw.Server, nil), "", &Options{Observer: &log})
	for _, d := range []int{1, 2, 3, 2, 0} {
		c.observeSendQueue(d)
	}
	c.CloseNow()
	c.observeSendQueue(7)
	log.mu.Lock()
	defer log.mu.Unlock()
	if got := log.depths; len(got) != 5 || got[2] != 3 || got[4] != 0 {
		t.Fatalf("depths reported %v, want 1 2 3 2 0", got)
	}
	c2 := New(raw.New(a, nil, raw.Client, nil), "", &Options{Observer: &counters})
	defer c2.CloseNow()
	for _, d := range []int{4, 9, 1} {
		c2.observeSendQueue(d)
	}
	if m := counters.Totals().SendQueueHighMark; m != 9 {
		t.Fatalf("high mark %d, want 9", m)
	}
	// Unobserved, the seam does nothing.
	New(raw.New(a, nil, raw.Client, nil), "", nil).observeSendQueue(1)
}
