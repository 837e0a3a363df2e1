package conn

import (
	"errors"

	"sync"
	"sync/atomic"
	"time"
)

// Observer receives the events of the connections it is set on with
// Options.Observer: what a metrics system needs to count connections,
// messages, bytes and close codes, time pings and watch send queues. Each
// method is one instrument of OpenTelemetry or Prometheus (a counter, an
// up-down counter or gauge, a histogram), so that an adapter to either is
// a few lines; Counters is one that keeps totals, for expvar say. Embed
// NopObserver to implement only some of the methods.
//
// Calls for one connection are made one at a time, never concurrently,
// in the order of the events, from the goroutine whose call caused the
// event (see each method); Opened comes first and Closed last, and no
// call for that connection follows Closed. Calls for different
// connections are concurrent.
//
// A method must return quickly and must not block: it runs inside the
// call that caused the event, so a slow Message delays the Read or Write
// it reports (and everything queued behind it on that connection), and a
// blocked one blocks the connection. It must not call methods of the Conn
// other than Stats, RTT, Subprotocol, Extensions and NetConn: Close from
// inside Message can deadlock. A panic is not recovered: it unwinds the
// call that reported the event, as a panic in the caller's own code would
// (and from the keepalive timer's goroutine, which has no caller, it ends
// the program); the connection's locks are released on the way.
type Observer interface {
	// Opened is called once, when the Default session starts (in Accept,
	// Dial, New or NewFromResult, on their goroutine).
	Opened(c *Conn)
	// Message is called for each data message read to its end (on the
	// reading goroutine) and each one written (on the writing goroutine,
	// once all its frames went out).
	Message(c *Conn, e MessageEvent)
	// PingRTT is called with the round-trip time of each ping whose pong
	// came back, keepalive's or Ping's, on the reading goroutine.
	PingRTT(c *Conn, rtt time.Duration)
	// SendQueue is called with the number of messages waiting in the
	// connection's send queue each time it changes, on the goroutine that
	// changed it.
	SendQueue(c *Conn, depth int)
	// Closed is called once, when the connection ends for reading: the
	// closing handshake completed, a close frame arrived, it failed or was
	// closed with CloseNow. It is called on the goroutine that ended it
	// (a reader, a writer, Close, CloseNow or the keepalive timer), before
	// Close returns and before a blocked reader gets its error.
	Closed(c *Conn, e CloseEvent)
}

// NopObserver is an Observer that does nothing, to embed in one that
// implements only some of its methods.
type NopObserver struct{}

func (NopObserver) Opened(*Conn)                 {}
func (NopObserver) Message(*Conn, MessageEvent)  {}
func (NopObserver) PingRTT(*Conn, time.Duration) {}
func (NopObserver) SendQueue(*Conn, int)         {}
func (NopObserver) Closed(*Conn, CloseEvent)     {}

// Direction says whether a message was read or written.
type Direction uint8

const (
	In  Direction = iota // read from the peer
	Out                  // written to the peer
)

func (d Direction) String() string {
	if d == In {
		return "in"
	}
	return "out"
}

// MessageEvent describes one data message read or written.
type MessageEvent struct {
	Dir  Direction
	Type MessageType
	// Size is the payload as the application read or wrote it: after
	// decompression for a message read, before compression for one
	// written.
	Size int64
	// Wire is the payload of the message's frames as they crossed the
	// wire: compressed by permessage-deflate, or equal to Size when no
	// extension transformed the message. Frame headers are not counted.
	Wire int64
}

// CloseEvent describes how a connection ended.
type CloseEvent struct {
	// Received is the code of the close frame the peer sent:
	// StatusNoStatusRcvd (1005) when it carried none, and
	// StatusAbnormalClosure (1006) when none arrived, which makes it what
	// RFC 6455, Section 7.1.5, calls the WebSocket Connection Close Code.
	Received StatusCode
	// Sent is the code of the close frame this end sent (its own Close,
	// the echo of the peer's, or a protocol error's), 0 when it sent
	// none.
	Sent StatusCode
	// Err is the error reads get from now on.
	Err error
}

// Stats are the counts of one connection; see Conn.Stats.
type Stats struct {
	MessagesIn, MessagesOut int64
	// BytesIn and BytesOut count payload as the application read and
	// wrote it, WireBytesIn and WireBytesOut as it crossed the wire (see
	// MessageEvent).
	BytesIn, BytesOut         int64
	WireBytesIn, WireBytesOut int64
}

// extra is the state that only some connections need: Ping's waiters,
// the round-trip time, the keepalive, a control frame a cancelled read
// cut short and, with an Observer, the observation. It is allocated on
// first use, or with the connection when keepalive or an Observer is
// set, so that a plain connection does not carry it; it is kept small
// (80 bytes) since a keepalive makes every connection carry it.
type extra struct {
	pingMu      sync.Mutex
	pings       []*pingWaiter // oldest first
	pingSeq     uint64
	keepaliveAt int64 // when the keepalive ping went out, as sinceEpoch; under pingMu

	lastRTT atomic.Int64 // nanoseconds; 0 before the first pong

	obs *observation // set when made, nil without an Observer

	// keepalive is set when made (newConn), nil without PingInterval.
	keepalive *keepalive
	// ctl is the control frame a cancelled read cut short, nil when
	// none is; only the reader uses it.
	ctl *cutControl
}

// observation is the state of an observed connection. evMu makes its
// events sequential and orders Closed after all the others; the counts
// are atomic so that Stats may be called from anywhere, a hook included.
type observation struct {
	o        Observer
	evMu     sync.Mutex
	closed   bool // Closed was delivered; under evMu
	sent     atomic.Int32
	msgIn    atomic.Int64
	msgOut   atomic.Int64
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	wireIn   atomic.Int64
	wireOut  atomic.Int64

	// The message being written: its payload as written and as framed,
	// under the message lock.
	wDataOut, wWireOut int64
}

// pingWaiter is a Ping waiting for the pong that echoes payload.
type pingWaiter struct {
	payload []byte
	sentAt  int64 // sinceEpoch
	done    chan struct{}
}

// epoch is what ping times are measured from: an int64 of monotonic time
// is a third of a time.Time.
var epoch = time.Now()

func sinceEpoch() int64 { return int64(time.Since(epoch)) + 1 } // never 0, which means none

// DefaultPingPayload is the payload of keepalive pings when
// Options.PingPayload is nil.
const DefaultPingPayload = "keepalive"

// newExtra returns the extra state the options ask for, or nil.
func newExtra(o *Options) *extra {
	if o.Observer == nil && o.PingInterval <= 0 {
		return nil
	}
	x := new(extra)
	if o.Observer != nil {
		x.obs = &observation{o: o.Observer}
	}
	return x
}

// extras returns c's extra state, making it on first use.
func (c *Conn) extras() *extra {
	if x := c.x.Load(); x != nil {
		return x
	}
	c.x.CompareAndSwap(nil, new(extra))
	return c.x.Load()
}

// observed returns c's observation when an Observer is set, else nil.
func (c *Conn) observed() *observation {
	if x := c.x.Load(); x != nil {
		return x.obs
	}
	return nil
}

// Stats returns the counts of c's messages and bytes so far. They are
// kept only when Options.Observer is set; otherwise they are zero.
func (c *Conn) Stats() Stats {
	x := c.observed()
	if x == nil {
		return Stats{}
	}
	return Stats{
		MessagesIn: x.msgIn.Load(), MessagesOut: x.msgOut.Load(),
		BytesIn: x.bytesIn.Load(), BytesOut: x.bytesOut.Load(),
		WireBytesIn: x.wireIn.Load(), WireBytesOut: x.wireOut.Load(),
	}
}

// RTT returns the round-trip time of the last ping answered, keepalive's
// (Options.PingInterval) or Ping's, or 0 before the first.
func (c *Conn) RTT() time.Duration {
	if x := c.x.Load(); x != nil {
		return time.Duration(x.lastRTT.Load())
	}
	return 0
}

// event delivers one event to the observer, unless Closed was delivered.
func (x *observation) event(f func()) {
	x.evMu.Lock()
	defer x.evMu.Unlock()
	if !x.closed {
		f()
	}
}

func (c *Conn) observeOpened() {
	if x := c.observed(); x != nil {
		x.evMu.Lock()
		defer x.evMu.Unlock()
		x.o.Opened(c)
	}
}

// observeMessage counts a message and reports it. It is called on every
// message when an Observer is set; the closure of event would allocate,
// so it locks itself.
func (x *observation) observeMessage(c *Conn, e MessageEvent) {
	if e.Dir == In {
		x.msgIn.Add(1)
		x.bytesIn.Add(e.Size)
		x.wireIn.Add(e.Wire)
	} else {
		x.msgOut.Add(1)
		x.bytesOut.Add(e.Size)
		x.wireOut.Add(e.Wire)
	}
	x.evMu.Lock()
	defer x.evMu.Unlock()
	if !x.closed {
		x.o.Message(c, e)
	}
}

// observeIn reports a message read to its end. It inlines to a nil
// check: the work is in reportIn.
func (m *messageReader) observeIn() {
	if m.c.x.Load() != nil {
		m.reportIn()
	}
}

func (m *messageReader) reportIn() {
	if x := m.c.observed(); x != nil {
		x.observeMessage(m.c, MessageEvent{Dir: In, Type: m.typ, Size: m.n, Wire: m.wn})
	}
}

// observeOut reports a message written whole: size bytes of payload that
// went out as wire bytes. It inlines to a nil check.
func (c *Conn) observeOut(typ MessageType, size, wire int64) {
	if c.x.Load() != nil {
		c.reportOut(typ, size, wire)
	}
}

func (c *Conn) reportOut(typ MessageType, size, wire int64) {
	if x := c.observed(); x != nil {
		x.observeMessage(c, MessageEvent{Dir: Out, Type: typ, Size: size, Wire: wire})
	}
}

// observeSendQueue reports the depth of c's SendQueue (sendqueue.go),
// which calls it under its lock after each change of its length.
func (c *Conn) observeSendQueue(depth int) {
	if x := c.observed(); x != nil {
		x.event(func() { x.o.SendQueue(c, depth) })
	}
}

// observeSent records the code of the close frame this end sent.
func (c *Conn) observeSent(code StatusCode) {
	if x := c.observed(); x != nil {
		x.sent.CompareAndSwap(0, int32(code))
	}
}

// observeClosed reports the end of the connection, whose terminal error
// is err. It is called once, by the setTerminal call that set it.
func (c *Conn) observeClosed(err error) {
	x := c.observed()
	if x == nil {
		return
	}
	e := CloseEvent{Received: StatusAbnormalClosure, Sent: StatusCode(x.sent.Load()), Err: err}
	var ce *CloseError
	if errors.As(err, &ce) && ce.Code != StatusAbnormalClosure {
		e.Received = ce.Code
	}
	x.evMu.Lock()
	defer x.evMu.Unlock()
	if x.closed {
		return
	}
	x.closed = true
	x.o.Closed(c, e)
}

// gotRTT records a ping's round-trip time.
func (c *Conn) gotRTT(x *extra, rtt time.Duration) {
	rtt = max(rtt, 1)
	x.lastRTT.Store(int64(rtt))
	if ob := x.obs; ob != nil {
		ob.event(func() { ob.o.PingRTT(c, rtt) })
	}
}

// countData counts n bytes of the message being written, as written.
func (w *messageWriter) countData(n int) {
	if x := w.c.observed(); x != nil {
		x.wDataOut += int64(n)
	}
}

// observedFinish is finish, and reports the message once it went out.
func (w *messageWriter) observedFinish() error {
	err := w.finish()
	if x := w.c.observed(); x != nil && err == nil {
		w.c.observeOut(MessageType(w.typ), x.wDataOut, x.wWireOut)
	}
	return err
}
