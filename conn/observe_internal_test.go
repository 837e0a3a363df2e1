package conn

import (
	"net"
	"testing"

	"github.com/hybi-go/hybi/raw"
)

// depthLog records the SendQueue events.
type depthLog struct {
	NopObserver
	depths []int
}

func (d *depthLog) SendQueue(_ *Conn, depth int) { d.depths = append(d.depths, depth) }

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
