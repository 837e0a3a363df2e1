// Package hub fans messages out to many WebSocket connections: a chat
// room, a live feed, a game lobby. A broadcast is framed and compressed once (see
// conn.PreparedMessage) and put on a bounded queue per member, which that
// member's single writer goroutine drains; the broadcaster never waits for
// a slow connection, and no goroutine is started per message.
//
// When a member's queue is full, the hub applies its SlowConsumer policy:
// Disconnect (the default) closes the member's connection with
// StatusPolicyViolation (1008), so that it misses nothing silently and can
// reconnect; Drop discards the message for that member only and counts it.
package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// Policy is what a hub does with a member whose queue is full.
type Policy int

const (
	// Disconnect closes the member's connection with
	// StatusPolicyViolation (1008) and reason "slow consumer".
	Disconnect Policy = iota
	// Drop discards the message for that member; Member.Dropped counts
	// them.
	Drop
)

func (p Policy) String() string {
	switch p {
	case Disconnect:
		return "disconnect"
	case Drop:
		return "drop"
	}
	return "Policy(?)"
}

// Defaults for Options.
const (
	DefaultQueueSize    = 64
	DefaultWriteTimeout = 10 * time.Second
)

// Options configures a Hub. The zero value gives the defaults; a nil
// *Options means the zero value.
type Options struct {
	// QueueSize is how many messages may wait for each member's writer.
	// 0 means DefaultQueueSize.
	QueueSize int
	// SlowConsumer is the policy for a member whose queue is full.
	SlowConsumer Policy
	// WriteTimeout bounds each write to a member; one that takes longer
	// disconnects the member, whatever the policy: its connection is
	// closed at once (CloseNow), since no close frame can get through a
	// write that is stuck. 0 means DefaultWriteTimeout; negative means no
	// limit.
	WriteTimeout time.Duration
	// OnJoin and OnLeave, when set, are told of each member that joined
	// (Add) or left (Remove, a failed write, a slow consumer's
	// disconnection), with the number of members right after; see
	// notify.go for when and where they run.
	OnJoin, OnLeave func(m *Member, members int)
}

// Hub is a set of members that messages are broadcast to. Its methods are
// safe for concurrent use. Every member receives the broadcasts in the
// order Broadcast was called, each exactly once, unless it is dropped.
type Hub struct {
	opts Options

	mu      sync.Mutex // guards members; held through a broadcast's fan-out
	members []*Member

	notifyMu sync.Mutex // orders OnJoin and OnLeave; taken before mu
}

// New returns an empty hub.
func New(o *Options) *Hub {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	return &Hub{opts: opts}
}

// Member is a connection in a hub.
type Member struct {
	h       *Hub
	c       *conn.Conn
	q       chan *conn.PreparedMessage
	index   int           // in h.members, -1 once removed; guarded by h.mu
	kick    chan struct{} // closed to disconnect a slow consumer
	leave   chan struct{} // closed by Remove
	done    chan struct{} // closed when the writer has returned
	once    sync.Once
	kicked  atomic.Bool
	dropped atomic.Int64
	err     error // why the writer stopped; read after done
}

// Add makes c a member and starts its writer goroutine. The caller keeps
// reading c (the hub only writes) and must call Remove when it is done
// with c, typically deferred right after Add.
func (h *Hub) Add(c *conn.Conn) *Member {
	m := &Member{
		h:     h,
		c:     c,
		q:     make(chan *conn.PreparedMessage, h.opts.QueueSize),
		kick:  make(chan struct{}),
		leave: make(chan struct{}),
		done:  make(chan struct{}),
	}
	hooked := h.beginChange()
	h.mu.Lock()
	m.index = len(h.members)
	h.members = append(h.members, m)
	n := len(h.members)
	h.mu.Unlock()
	go m.writer()
	h.endChange(hooked, h.opts.OnJoin, m, n)
	return m
}

// Remove takes m out of the hub and waits for its writer to return.
// Messages still queued for m are discarded. The connection is left open.
// Remove may be called more than once.
func (h *Hub) Remove(m *Member) {
	defer func() {
		// Deferred, so that a panicking OnLeave stops the writer too.
		m.once.Do(func() { close(m.leave) })
		<-m.done
	}()
	h.detach(m)
}

// detach takes m out of the member list, so that no more broadcasts reach
// it.
func (h *Hub) detach(m *Member) {
	hooked := h.beginChange()
	h.mu.Lock()
	i := m.index
	if i < 0 {
		h.mu.Unlock()
		h.endChange(hooked, nil, m, 0)
		return
	}
	last := len(h.members) - 1
	h.members[i] = h.members[last]
	h.members[i].index = i
	h.members[last] = nil
	h.members = h.members[:last]
	m.index = -1
	h.mu.Unlock()
	h.endChange(hooked, h.opts.OnLeave, m, last)
}

// Len returns the number of members.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

// Broadcast sends data as one message of type typ to every member. It is
// framed and compressed once; see BroadcastPrepared.
func (h *Hub) Broadcast(typ conn.MessageType, data []byte) {
	h.BroadcastPrepared(conn.NewPreparedMessage(typ, data))
}

// BroadcastPrepared queues pm for every member and returns without
// waiting for any write. A member whose queue is full gets the hub's
// SlowConsumer policy.
func (h *Hub) BroadcastPrepared(pm *conn.PreparedMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.members {
		m.enqueue(pm)
	}
}

// Send queues pm for m alone, under the same policy as a broadcast. It
// reports whether pm was queued.
func (m *Member) Send(pm *conn.PreparedMessage) bool {
	m.h.mu.Lock()
	defer m.h.mu.Unlock()
	if m.index < 0 {
		return false
	}
	return m.enqueue(pm)
}

// enqueue is called with h.mu held.
func (m *Member) enqueue(pm *conn.PreparedMessage) bool {
	select {
	case m.q <- pm:
		return true
	default:
	}
	if m.h.opts.SlowConsumer == Drop {
		m.dropped.Add(1)
		return false
	}
	if !m.kicked.Swap(true) {
		close(m.kick)
	}
	return false
}

// Conn returns the member's connection.
func (m *Member) Conn() *conn.Conn { return m.c }

// Dropped returns how many messages were dropped for m under the Drop
// policy.
func (m *Member) Dropped() int64 { return m.dropped.Load() }

// Done is closed when m's writer has stopped: after Remove, a failed
// write, or a disconnection for being slow. Err then says why.
func (m *Member) Done() <-chan struct{} { return m.done }

// Err returns why m's writer stopped once Done is closed: nil after
// Remove, the write error, or ErrSlowConsumer.
func (m *Member) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

// ErrSlowConsumer is Member.Err for a member that was disconnected because
// its queue was full (its connection was closed with StatusPolicyViolation,
// 1008, and reason "slow consumer") or a write took longer than
// WriteTimeout (its connection was closed at once).
var ErrSlowConsumer = errors.New("hub: slow consumer disconnected")

// writer is m's one goroutine: it drains the queue into the connection.
func (m *Member) writer() {
	defer close(m.done)
	// WriteTimeout is a timer armed around each write that closes the
	// connection when it fires, rather than a context: the member is to be
	// disconnected anyway, and a write under a context that can be
	// cancelled costs a few allocations, which add up over a fan-out.
	var timer *time.Timer
	var timedOut atomic.Bool
	if d := m.h.opts.WriteTimeout; d > 0 {
		timer = time.AfterFunc(d, func() {
			timedOut.Store(true)
			m.c.CloseNow()
		})
		timer.Stop()
		defer timer.Stop()
	}
	ctx := context.Background()
	for {
		select {
		case <-m.leave:
			return
		case <-m.kick:
			m.disconnect()
			return
		case pm := <-m.q:
			select {
			case <-m.kick:
				// Found slow while this message waited: what is queued
				// is not sent.
				m.disconnect()
				return
			default:
			}
			if timer != nil {
				timer.Reset(m.h.opts.WriteTimeout)
			}
			err := m.c.WritePrepared(ctx, pm)
			if timer != nil && !timer.Stop() || timedOut.Load() {
				// Too slow: the timer closed the connection; no close
				// frame could go out through the stuck write.
				m.h.detach(m)
				m.err = ErrSlowConsumer
				return
			}
			if err != nil {
				m.h.detach(m)
				m.err = err
				return
			}
		}
	}
}

// disconnect closes a slow member's connection with 1008.
func (m *Member) disconnect() {
	m.h.detach(m)
	m.err = ErrSlowConsumer
	m.c.Close(conn.StatusPolicyViolation, "slow consumer")
}
