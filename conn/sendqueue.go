package conn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Overflow is what a SendQueue does with a message that does not fit.
type Overflow int

const (
	// OverflowClose, the default, refuses the message and closes the
	// connection with StatusPolicyViolation (1008): the queue never
	// grows past its budget, the enqueuer never waits, and the peer
	// misses nothing silently (it sees the close and can reconnect).
	OverflowClose Overflow = iota
	// OverflowTryAgain is OverflowClose with StatusTryAgainLater (1013):
	// for a server shedding load rather than judging the peer.
	OverflowTryAgain
	// OverflowDrop refuses the message, counts it (SendQueue.Dropped)
	// and keeps the connection: for feeds where a newer message
	// supersedes an older one.
	OverflowDrop
	// OverflowBlock makes Enqueue wait, as long as its context allows,
	// until the message fits.
	OverflowBlock
)

func (o Overflow) String() string {
	switch o {
	case OverflowClose:
		return "close"
	case OverflowTryAgain:
		return "try-again"
	case OverflowDrop:
		return "drop"
	case OverflowBlock:
		return "block"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// Defaults for QueueOptions.
const (
	DefaultQueueBytes        = 1 << 20
	DefaultQueueMessages     = 1024
	DefaultQueueWriteTimeout = 10 * time.Second
)

// QueueOptions configures a SendQueue. The zero value gives the
// defaults; a nil *QueueOptions means the zero value.
type QueueOptions struct {
	// MaxBytes is the budget of payload bytes waiting in the queue (the
	// message being written is not counted: it has left the queue). 0
	// means DefaultQueueBytes; negative means no byte limit. A message
	// larger than a positive MaxBytes is refused with ErrMessageTooLarge
	// whatever the policy.
	MaxBytes int
	// MaxMessages is how many messages may wait. 0 means
	// DefaultQueueMessages; negative means no count limit.
	MaxMessages int
	// Overflow is the policy for a message that does not fit.
	Overflow Overflow
	// WriteTimeout bounds each write from the queue. A write that takes
	// longer (the peer stopped reading and the socket buffers are full)
	// closes the connection at once, since no close frame could get
	// through the stuck write, and stops the queue with ErrWriteTimeout.
	// 0 means DefaultQueueWriteTimeout; negative means no limit.
	WriteTimeout time.Duration
	// OnStop, if set, is called once when the queue has stopped and its
	// goroutines are done, with the reason (what Err returns). It runs on
	// the queue's writer goroutine or in Close, never inside Enqueue, so
	// it may take locks that are held around Enqueue. It must not call
	// Close, which waits for it.
	OnStop func(err error)
	// Writers, if set, is the pool whose goroutines write from the
	// queue, in place of a goroutine started for this queue alone: for
	// the many queues of a fan-out (see WriterPool). Each queue still has
	// at most one writer at a time, and its messages go out in order.
	Writers *WriterPool
}

// Errors of a SendQueue.
var (
	// ErrQueueFull is returned by Enqueue for a message that did not fit:
	// under OverflowDrop alone, and wrapped in a *QueueOverflowError
	// under the close policies.
	ErrQueueFull = errors.New("websocket: send queue full")
	// ErrQueueClosed is returned by Enqueue after SendQueue.Close.
	ErrQueueClosed = errors.New("websocket: send queue closed")
	// ErrWriteTimeout is why a queue stopped when a write took longer
	// than QueueOptions.WriteTimeout.
	ErrWriteTimeout = errors.New("websocket: write timed out; connection closed")
	// ErrMessageTooLarge is returned by Enqueue for a message larger than
	// the whole byte budget.
	ErrMessageTooLarge = errors.New("websocket: message larger than the send queue's byte budget")
)

// QueueOverflowError is why a queue stopped under OverflowClose or
// OverflowTryAgain: the connection was closed with Code. It matches
// ErrQueueFull with errors.Is.
type QueueOverflowError struct{ Code StatusCode }

func (e *QueueOverflowError) Error() string {
	return fmt.Sprintf("websocket: send queue full; connection closed with %d", int(e.Code))
}

func (e *QueueOverflowError) Unwrap() error { return ErrQueueFull }

// SendQueue is a bounded queue of messages for one connection: Enqueue
// returns without waiting for the network, and the queue's writer sends
// the messages in order. It is what a server that fans out needs, so
// that a peer that reads slowly (or not at all) costs its own queue and
// never the sender's time: see QueueOptions for the budget and the
// policy when it is exhausted.
//
// Messages are PreparedMessages, so that one broadcast is framed and
// compressed once for every queue it is put on; the queue holds a
// reference, not a copy, and counts the payload against its budget.
//
// # Who writes
//
// At most one goroutine writes from a queue. It is started by the
// Enqueue that finds the queue empty and idle, writes until the queue is
// empty, and exits: an idle queue holds no goroutine, and none is started
// per message (a burst of messages costs one). With QueueOptions.Writers
// it is a pool's worker instead, which goes on to the next queue. Its writes are ordinary
// WritePrepared calls, so a concurrent direct Write (or Writer, or
// another queue on the same connection) is safe: messages never
// interleave, though their order between the two paths is the order in
// which they take the connection.
//
// # Stopping
//
// A queue stops for good when Close is called, when a write fails (the
// connection closed or broke), when a write exceeds WriteTimeout, or when
// a close policy overflows. Messages still waiting are then discarded,
// never sent later, and Enqueue returns the reason. A queue notices a
// connection closed by others at its next write.
//
// A SendQueue is safe for concurrent use.
type SendQueue struct {
	c    *Conn
	opts QueueOptions

	mu       sync.Mutex
	ring     []*PreparedMessage // waiting messages, from head, n of them
	head, n  int
	bytes    int
	draining bool          // a writer goroutine owns the connection's queue side
	waiting  bool          // draining, but still in line for a worker of opts.Writers
	running  int           // the writer and the closer, when they run
	err      error         // why the queue stopped; nil while it runs
	space    chan struct{} // closed when room is made; for OverflowBlock
	finished bool          // OnStop called and done closed
	done     chan struct{}

	drainFn  func()      // q.drain, made once: "go q.drain()" would allocate a closure per start
	timer    *time.Timer // WriteTimeout; owned by the writer
	timedOut atomic.Bool

	depth   atomic.Int64 // n, readable without the lock
	depthB  atomic.Int64 // bytes, likewise
	dropped atomic.Int64
}

// NewSendQueue returns a queue that writes to c. Close it when done with
// it (before or after c).
func NewSendQueue(c *Conn, o *QueueOptions) *SendQueue {
	var opts QueueOptions
	if o != nil {
		opts = *o
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultQueueBytes
	}
	if opts.MaxMessages == 0 {
		opts.MaxMessages = DefaultQueueMessages
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultQueueWriteTimeout
	}
	q := &SendQueue{c: c, opts: opts, done: make(chan struct{})}
	q.drainFn = q.drain
	return q
}

// Conn returns the connection the queue writes to.
func (q *SendQueue) Conn() *Conn { return q.c }

// Len returns how many messages wait (not counting one being written).
// It takes no lock: it is meant for metrics, polled often.
func (q *SendQueue) Len() int { return int(q.depth.Load()) }

// Bytes returns the payload bytes waiting, like Len.
func (q *SendQueue) Bytes() int { return int(q.depthB.Load()) }

// Dropped returns how many messages OverflowDrop refused.
func (q *SendQueue) Dropped() int64 { return q.dropped.Load() }

// Done is closed when the queue has stopped and its goroutines have
// returned (after a close policy, once the closing handshake is over).
func (q *SendQueue) Done() <-chan struct{} { return q.done }

// Err returns why the queue stopped, or nil while it runs:
// ErrQueueClosed after Close, a *QueueOverflowError, ErrWriteTimeout, or
// the error of the write that failed.
func (q *SendQueue) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Enqueue puts pm on the queue and returns without waiting for it to be
// written. When pm does not fit, the queue's Overflow policy decides:
// OverflowDrop returns ErrQueueFull; the close policies return a
// *QueueOverflowError and close the connection (in the background, once
// the write in flight is done); OverflowBlock waits for room until ctx is
// done and then returns ctx.Err(). A ctx already done enqueues nothing.
// A nil return means pm will be written unless the queue stops first.
func (q *SendQueue) Enqueue(ctx context.Context, pm *PreparedMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size := len(pm.Data())
	if q.opts.MaxBytes > 0 && size > q.opts.MaxBytes {
		return ErrMessageTooLarge
	}
	q.mu.Lock()
	for {
		if q.err != nil {
			err := q.err
			q.mu.Unlock()
			return err
		}
		if q.fits(size) {
			q.push(pm, size)
			if !q.draining {
				q.draining = true
				q.running++
				if w := q.opts.Writers; w != nil {
					q.waiting = true
					w.schedule(q)
				} else {
					go q.drainFn()
				}
			}
			q.mu.Unlock()
			return nil
		}
		switch q.opts.Overflow {
		case OverflowDrop:
			q.mu.Unlock()
			q.dropped.Add(1)
			return ErrQueueFull
		case OverflowBlock:
			if q.space == nil {
				q.space = make(chan struct{})
			}
			space := q.space
			q.mu.Unlock()
			select {
			case <-space:
			case <-ctx.Done():
				return ctx.Err()
			}
			q.mu.Lock()
		default:
			code := StatusPolicyViolation
			if q.opts.Overflow == OverflowTryAgain {
				code = StatusTryAgainLater
			}
			err := &QueueOverflowError{Code: code}
			q.stopLocked(err)
			// The close frame waits for the write in flight, which
			// WriteTimeout bounds; the closer, not the enqueuer, waits.
			q.running++
			go q.closeConn(code)
			q.mu.Unlock()
			return err
		}
	}
}

// Close stops the queue: messages waiting are discarded and Enqueue
// returns ErrQueueClosed. It waits for a write in flight to end (which
// WriteTimeout bounds) and leaves the connection open. Close may be
// called more than once; it returns nil.
func (q *SendQueue) Close() error {
	q.mu.Lock()
	q.stopLocked(ErrQueueClosed)
	if q.waiting {
		// Still in line for a pool's worker, which will find it
		// released: no writer is to wait for.
		q.waiting, q.draining = false, false
		q.running--
	}
	last := q.lastLocked()
	q.mu.Unlock()
	if last {
		q.finish()
	}
	<-q.done
	return nil
}

func (q *SendQueue) fits(size int) bool {
	if q.n == 0 {
		return true // a message within MaxBytes always fits an empty queue
	}
	if q.opts.MaxMessages > 0 && q.n >= q.opts.MaxMessages {
		return false
	}
	return q.opts.MaxBytes < 0 || q.bytes+size <= q.opts.MaxBytes
}

// push appends pm; under q.mu. The ring grows by doubling up to the
// count limit, and is then reused: the steady state allocates nothing.
func (q *SendQueue) push(pm *PreparedMessage, size int) {
	if q.n == len(q.ring) {
		size := max(4, 2*len(q.ring))
		if m := q.opts.MaxMessages; m > 0 {
			size = min(size, m)
		}
		grown := make([]*PreparedMessage, size)
		k := copy(grown, q.ring[q.head:])
		copy(grown[k:], q.ring[:q.head])
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = pm
	q.n++
	q.bytes += size
	q.depth.Store(int64(q.n))
	q.depthB.Store(int64(q.bytes))
	q.c.observeSendQueue(q.n) // under q.mu, so that depths are reported in order
}

// pop takes the first message; under q.mu, with q.n > 0.
func (q *SendQueue) pop() *PreparedMessage {
	pm := q.ring[q.head]
	q.ring[q.head] = nil
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	q.bytes -= len(pm.Data())
	q.depth.Store(int64(q.n))
	q.depthB.Store(int64(q.bytes))
	q.c.observeSendQueue(q.n)
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	return pm
}

// stopLocked stops the queue with err, unless it stopped already, and
// discards what waits; under q.mu.
func (q *SendQueue) stopLocked(err error) {
	if q.err != nil {
		return
	}
	q.err = err
	clear(q.ring)
	q.ring, q.head, q.n, q.bytes = nil, 0, 0, 0
	q.depth.Store(0)
	q.depthB.Store(0)
	q.c.observeSendQueue(0)
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// lastLocked reports whether the caller is to finish the stopped queue:
// nothing runs any more, and nobody finished it yet. Under q.mu.
func (q *SendQueue) lastLocked() bool {
	if q.err == nil || q.running > 0 || q.finished {
		return false
	}
	q.finished = true
	return true
}

// finish runs OnStop and closes done; called once, without q.mu.
func (q *SendQueue) finish() {
	if q.opts.OnStop != nil {
		q.opts.OnStop(q.err) // q.err no longer changes
	}
	close(q.done)
}

// exit ends one of the queue's goroutines.
func (q *SendQueue) exit() {
	q.mu.Lock()
	q.running--
	last := q.lastLocked()
	q.mu.Unlock()
	if last {
		q.finish()
	}
}

// drainPooled is drain run by a worker of opts.Writers, unless Close
// released the queue while it waited for the worker.
func (q *SendQueue) drainPooled() {
	q.mu.Lock()
	if !q.waiting {
		q.mu.Unlock()
		return
	}
	q.waiting = false
	q.mu.Unlock()
	q.drain()
}

// drain is the queue's writer: it writes until the queue is empty or
// stopped, and exits.
func (q *SendQueue) drain() {
	for {
		q.mu.Lock()
		if q.err != nil || q.n == 0 {
			q.draining = false
			q.running--
			last := q.lastLocked()
			q.mu.Unlock()
			if last {
				q.finish()
			}
			return
		}
		pm := q.pop()
		q.mu.Unlock()
		if err := q.write(pm); err != nil {
			q.mu.Lock()
			q.stopLocked(err)
			q.mu.Unlock()
		}
	}
}

// write sends pm under WriteTimeout: a timer, armed around the write,
// that closes the connection when it fires (a context that can expire
// would cost allocations on every write of a fan-out).
func (q *SendQueue) write(pm *PreparedMessage) error {
	d := q.opts.WriteTimeout
	if d > 0 {
		if q.timer == nil {
			q.timer = time.AfterFunc(d, q.expire)
		} else {
			q.timer.Reset(d)
		}
	}
	err := q.c.WritePrepared(context.Background(), pm)
	if d > 0 && !q.timer.Stop() || q.timedOut.Load() {
		return ErrWriteTimeout
	}
	return err
}

func (q *SendQueue) expire() {
	q.timedOut.Store(true)
	q.c.CloseNow()
}

// closeConn closes the connection for an overflow.
func (q *SendQueue) closeConn(code StatusCode) {
	defer q.exit()
	q.c.Close(code, "send queue full")
}
