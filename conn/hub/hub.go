// Package hub fans messages out to many WebSocket connections: a chat
// room, a live feed, a game lobby. A broadcast is framed and compressed once (see
// conn.PreparedMessage) and put on each member's conn.SendQueue, whose
// single writer drains it; the broadcaster never waits for a slow
// connection, no goroutine is started per message, and an idle member
// holds none. The queues' writers come from a bounded pool
// (Options.Writers).
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
	"time"

	"github.com/hybi-go/hybi/conn"
)

// Policy is what a hub does with a member whose queue is full.
type Policy int

const (
	// Disconnect closes the member's connection with
	// StatusPolicyViolation (1008) and reason "send queue full".
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
	// QueueBytes is the budget of payload bytes that may wait for each
	// member (see conn.QueueOptions.MaxBytes): 0 means
	// conn.DefaultQueueBytes, negative no byte limit.
	QueueBytes int
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
	// Writers is how many goroutines write to the members at once (a
	// conn.WriterPool shared by their queues), not counting writes to
	// members that stopped reading, which never hold up the others. 0
	// means 128; negative means a goroutine per member with messages
	// waiting, which a fan-out to many members pays for in goroutine
	// starts and stack growth (about a fifth of the server's CPU on a
	// 10,000-member broadcast of 1 KiB).
	Writers int
}

// Hub is a set of members that messages are broadcast to. Its methods are
// safe for concurrent use. Every member receives the broadcasts in the
// order Broadcast was called, each exactly once, unless it is dropped.
type Hub struct {
	opts    Options
	writers *conn.WriterPool // nil with Options.Writers < 0

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
	h := &Hub{opts: opts}
	if opts.Writers >= 0 {
		h.writers = conn.NewWriterPool(&conn.WriterPoolOptions{Size: opts.Writers})
	}
	return h
}

// Member is a connection in a hub.
type Member struct {
	h     *Hub
	q     *conn.SendQueue
	index int // in h.members, -1 once removed; guarded by h.mu
}

// Add makes c a member. The caller keeps reading c (the hub only writes)
// and must call Remove when it is done with c, typically deferred right
// after Add. A member holds no goroutine while nothing is queued for it:
// a worker of the hub's pool (Options.Writers) writes from its queue when
// a message arrives, and goes on to other members' queues once it is
// empty (see conn.SendQueue and conn.WriterPool).
func (h *Hub) Add(c *conn.Conn) *Member {
	m := &Member{h: h}
	overflow := conn.OverflowClose
	if h.opts.SlowConsumer == Drop {
		overflow = conn.OverflowDrop
	}
	m.q = conn.NewSendQueue(c, &conn.QueueOptions{
		MaxMessages:  h.opts.QueueSize,
		MaxBytes:     h.opts.QueueBytes,
		Overflow:     overflow,
		WriteTimeout: h.opts.WriteTimeout,
		OnStop:       func(error) { h.detach(m) },
		Writers:      h.writers,
	})
	hooked := h.beginChange()
	h.mu.Lock()
	m.index = len(h.members)
	h.members = append(h.members, m)
	n := len(h.members)
	h.mu.Unlock()
	h.endChange(hooked, h.opts.OnJoin, m, n)
	return m
}

// Remove takes m out of the hub and waits for a write in flight to it.
// Messages still queued for m are discarded. The connection is left open.
// Remove may be called more than once.
func (h *Hub) Remove(m *Member) {
	// Deferred, so that a panicking OnLeave stops the queue too.
	defer m.q.Close()
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
	ctx := context.Background() // the policies never block
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.members {
		m.q.Enqueue(ctx, pm)
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
	return m.q.Enqueue(context.Background(), pm) == nil
}

// Conn returns the member's connection.
func (m *Member) Conn() *conn.Conn { return m.q.Conn() }

// Queue returns the member's send queue, for its depth (Len, Bytes) in
// metrics. Enqueueing on it directly bypasses the hub's membership.
func (m *Member) Queue() *conn.SendQueue { return m.q }

// Dropped returns how many messages were dropped for m under the Drop
// policy.
func (m *Member) Dropped() int64 { return m.q.Dropped() }

// Done is closed when m's queue has stopped: after Remove, a failed
// write, or a disconnection for being slow. Err then says why.
func (m *Member) Done() <-chan struct{} { return m.q.Done() }

// Err returns why m's queue stopped once Done is closed: nil after
// Remove, the write error, or ErrSlowConsumer.
func (m *Member) Err() error {
	select {
	case <-m.q.Done():
	default:
		return nil
	}
	err := m.q.Err()
	switch {
	case errors.Is(err, conn.ErrQueueClosed):
		return nil
	case errors.Is(err, conn.ErrQueueFull), errors.Is(err, conn.ErrWriteTimeout):
		return ErrSlowConsumer
	}
	return err
}

// ErrSlowConsumer is Member.Err for a member that was disconnected because
// its queue was full (its connection was closed with StatusPolicyViolation,
// 1008) or a write took longer than WriteTimeout (its connection was
// closed at once).
var ErrSlowConsumer = errors.New("hub: slow consumer disconnected")
