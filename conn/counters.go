package conn

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// Counters is an Observer that keeps totals over every connection it is
// set on: the counters a dashboard shows. Its zero value is ready to use,
// and it is safe for concurrent use; Totals reads them. One Counters is
// typically shared by all the connections of a server:
//
//	var counters conn.Counters
//	expvar.Publish("websocket", expvar.Func(func() any { return counters.Totals() }))
//	handler := conn.Handler(&conn.AcceptOptions{Options: conn.Options{Observer: &counters}}, serve)
type Counters struct {
	opened, closed         atomic.Int64
	msgIn, msgOut          atomic.Int64
	bytesIn, bytesOut      atomic.Int64
	wireIn, wireOut        atomic.Int64
	pings, rttSum, rttLast atomic.Int64
	queueHighMark          atomic.Int64

	mu    sync.Mutex
	codes map[StatusCode]int64 // by CloseEvent.Received
}

// Totals are the values of Counters at one moment. Each field is read
// atomically, but the fields are not read together: a message counted
// between two reads may show in one field and not the next.
type Totals struct {
	Opened, Closed int64
	Active         int64 // Opened - Closed
	// Closes counts the closed connections by CloseEvent.Received: the
	// peer's close code, or 1006 when none arrived.
	Closes map[StatusCode]int64

	MessagesIn, MessagesOut int64
	// Bytes are payload as the application read and wrote it,
	// WireBytes as it crossed the wire (see MessageEvent).
	BytesIn, BytesOut         int64
	WireBytesIn, WireBytesOut int64

	// Pings counts the round trips measured; RTTSum is their sum and
	// LastRTT the latest, so that RTTSum/Pings is the mean.
	Pings           int64
	RTTSum, LastRTT time.Duration

	// SendQueueHighMark is the deepest a connection's send queue was.
	SendQueueHighMark int64
}

// Totals returns the counts so far.
func (t *Counters) Totals() Totals {
	v := Totals{
		Opened: t.opened.Load(), Closed: t.closed.Load(),
		MessagesIn: t.msgIn.Load(), MessagesOut: t.msgOut.Load(),
		BytesIn: t.bytesIn.Load(), BytesOut: t.bytesOut.Load(),
		WireBytesIn: t.wireIn.Load(), WireBytesOut: t.wireOut.Load(),
		Pings:  t.pings.Load(),
		RTTSum: time.Duration(t.rttSum.Load()), LastRTT: time.Duration(t.rttLast.Load()),
		SendQueueHighMark: t.queueHighMark.Load(),
	}
	v.Active = v.Opened - v.Closed
	t.mu.Lock()
	v.Closes = maps.Clone(t.codes)
	t.mu.Unlock()
	if v.Closes == nil {
		v.Closes = map[StatusCode]int64{}
	}
	return v
}

// Opened implements Observer.
func (t *Counters) Opened(*Conn) { t.opened.Add(1) }

// Message implements Observer.
func (t *Counters) Message(_ *Conn, e MessageEvent) {
	if e.Dir == In {
		t.msgIn.Add(1)
		t.bytesIn.Add(e.Size)
		t.wireIn.Add(e.Wire)
		return
	}
	t.msgOut.Add(1)
	t.bytesOut.Add(e.Size)
	t.wireOut.Add(e.Wire)
}

// PingRTT implements Observer.
func (t *Counters) PingRTT(_ *Conn, rtt time.Duration) {
	t.pings.Add(1)
	t.rttSum.Add(int64(rtt))
	t.rttLast.Store(int64(rtt))
}

// SendQueue implements Observer.
func (t *Counters) SendQueue(_ *Conn, depth int) {
	for {
		m := t.queueHighMark.Load()
		if int64(depth) <= m || t.queueHighMark.CompareAndSwap(m, int64(depth)) {
			return
		}
	}
}

// Closed implements Observer.
func (t *Counters) Closed(_ *Conn, e CloseEvent) {
	t.mu.Lock()
	if t.codes == nil {
		t.codes = make(map[StatusCode]int64)
	}
	t.codes[e.Received]++
	t.mu.Unlock()
	t.closed.Add(1)
}
