package poll

import (
	"context"
	"time"

	"github.com/hybi-go/hybi/internal/ctxflag"
)

// A worker bounds its reads with deadlines on the socket rather than with
// context.WithTimeout: a timer context per wake-up, and the cancellation
// watch package raw arms for every read under a cancellable context, were
// a third of the CPU a message cost here. The socket's read deadline is
// FrameWait while the worker waits for a frame header (so that a wake-up
// that brought only a ping or part of a header hands the connection back
// to epoll), then MessageTimeout for the rest of the message; its write
// deadline is MessageTimeout from the wake-up while the worker waits for
// a header (the pongs it writes), then from the message's start while the
// handler runs, and none once the worker hands the connection back.

// readCtx is the context a worker reads with. It is never cancelled
// (Done is nil, so raw arms nothing): the socket's read deadline does the
// interrupting, and Err reports the timeout as a context error once the
// deadline has passed, which tells raw and conn that the read was cut
// short on purpose and the connection is still good. Poller.Close
// interrupts reads by closing the connections. One readCtx serves a
// worker; it is changed only between reads.
//
// It also offers conn the last wait of a connection (ctxflag.DrainKey):
// when conn fails a connection, or a client's closing handshake is done,
// conn leaves the socket open and the wait for the peer's end of stream
// to the poller, which does it in epoll (Poller.end) instead of holding
// the worker for up to conn.Options.CloseTimeout.
type readCtx struct {
	// The deadline is start plus limit, kept apart so that a message
	// costs no time.Time arithmetic: Err reads only the monotonic clock,
	// and Deadline adds them when asked.
	start time.Time
	limit time.Duration
	// drain is what Value offers under ctxflag.DrainKey, made once so that
	// offering it allocates nothing; it sets drainTimeout, which is
	// nonzero when conn has left the wait to the poller.
	drain        func(time.Duration)
	drainTimeout time.Duration
	buf          [512]byte // discarded input of a draining connection
}

func newReadCtx() *readCtx {
	c := new(readCtx)
	c.drain = func(d time.Duration) { c.drainTimeout = max(d, time.Nanosecond) }
	return c
}

func (c *readCtx) Deadline() (time.Time, bool) { return c.start.Add(c.limit), true }
func (c *readCtx) Done() <-chan struct{}       { return nil }
func (c *readCtx) Value(key any) any {
	if key == ctxflag.DrainKey {
		return c.drain
	}
	return nil
}
func (c *readCtx) Err() error {
	if time.Since(c.start) < c.limit {
		return nil
	}
	return context.DeadlineExceeded
}

// handlerCtx is the context a Handler gets: done when the poller closes,
// with the message's deadline, past which Err reports DeadlineExceeded.
// Its Done channel is the poller's own, so the context package attaches
// watches to the poller's context directly. The deadline itself is
// enforced on the socket (writes) and by Done for handlers that wait on
// something else; a handler that needs Done to fire at the deadline wraps
// ctx with context.WithDeadline(ctx, deadline).
type handlerCtx struct {
	parent context.Context // the poller's
	// The deadline is start plus limit, as in readCtx.
	start time.Time
	limit time.Duration
}

func (c *handlerCtx) Deadline() (time.Time, bool) { return c.start.Add(c.limit), true }
func (c *handlerCtx) Done() <-chan struct{}       { return c.parent.Done() }
func (c *handlerCtx) Value(key any) any {
	if key == ctxflag.Key {
		// Close closes every connection: raw need not watch this
		// context, and an idle connection keeps no registration for it.
		return c.parent.Done()
	}
	return c.parent.Value(key)
}
func (c *handlerCtx) Err() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	// time.Since reads only the monotonic clock (start has a monotonic
	// reading), where time.Now reads the wall clock too: Err runs
	// several times for every message a handler writes.
	if time.Since(c.start) < c.limit {
		return nil
	}
	return context.DeadlineExceeded
}
