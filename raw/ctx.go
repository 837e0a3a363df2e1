package raw

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hybi-go/hybi/internal/ctxflag"
)

// longAgo is a deadline in the past: setting it makes a blocked read or
// write return at once, which is how a cancelled context interrupts I/O
// without closing the connection.
var longAgo = time.Unix(1, 0)

// interrupter makes the cancellation of a context interrupt blocked I/O
// through a deadline, and puts the deadline back afterwards. For a
// context that can never be cancelled, or whose cancellation closes the
// connection anyway (internal/ctxflag), it does nothing and costs nothing.
//
// It watches one context's Done channel at a time and keeps watching it
// between operations: a connection used with the same cancellable
// context (a request's, a server's, conn/poll's) registers one
// context.AfterFunc for its lifetime rather than one per read or write,
// which cost an allocation of a few hundred bytes and a turn on the
// parent context's lock each time. release drops the watch.
type interrupter struct {
	write bool // sets the write deadline, not the read deadline

	mu          sync.Mutex      // guards the rest against the callback
	watch       <-chan struct{} // Done of the watched context
	stop        func() bool     // unregisters the watch
	gen         uint32          // which watch the callback belongs to
	active      bool            // an operation is in progress
	fired       bool            // the watched context is done
	interrupted bool            // the deadline was moved into the past
	released    bool            // the connection is closed: watch nothing
}

// deadlines are a Conn's two interrupters, for its reads and its writes.
// Most connections never need them (those served under
// context.Background, conn.Handler's context or conn/poll's), so they are
// allocated the first time a read or a write is made under a context that
// can be cancelled: 80 bytes that an idle connection does not otherwise
// hold.
type deadlines struct {
	r, w interrupter
}

// arm starts a read, or with write a write, under ctx; if it returns
// true, disarm must be called when the operation is over.
func (c *Conn) arm(write bool, ctx context.Context) bool {
	if d := ctx.Done(); d == nil || ctxflag.ClosesConn(ctx, d) {
		return false // checked again by interrupter.arm, but first: no allocation
	}
	dl := c.dl.Load()
	if dl == nil {
		dl = c.newDeadlines()
	}
	if write {
		return dl.w.arm(c.nc, ctx)
	}
	return dl.r.arm(c.nc, ctx)
}

// disarm ends the operation arm began.
func (c *Conn) disarm(write bool) {
	dl := c.dl.Load()
	if write {
		dl.w.disarm(c.nc)
	} else {
		dl.r.disarm(c.nc)
	}
}

// newDeadlines installs c's interrupters. The reader and a writer may
// race to do it: one wins and both use its.
func (c *Conn) newDeadlines() *deadlines {
	dl := &deadlines{w: interrupter{write: true}}
	if !c.dl.CompareAndSwap(nil, dl) {
		return c.dl.Load()
	}
	if c.closed.Fired() {
		// Close may have looked for them before they were there:
		// release them here, so that no watch outlives the connection.
		dl.r.release()
		dl.w.release()
	}
	return dl
}

// arm starts an operation under ctx. If it returns true, disarm must be
// called when the operation is over.
func (it *interrupter) arm(nc net.Conn, ctx context.Context) bool {
	d := ctx.Done()
	if d == nil || ctxflag.ClosesConn(ctx, d) {
		return false
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.released {
		return false
	}
	if d != it.watch {
		if it.stop != nil {
			it.stop()
		}
		it.gen++
		gen := it.gen
		it.watch, it.fired = d, false
		// The callback runs in its own goroutine and waits for mu.
		it.stop = context.AfterFunc(ctx, func() { it.fire(nc, gen) })
	}
	it.active = true
	if it.fired {
		it.interrupt(nc)
	}
	return true
}

// fire is the watch's callback: the context is done.
func (it *interrupter) fire(nc net.Conn, gen uint32) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if gen != it.gen {
		return // a watch since replaced
	}
	it.fired = true
	if it.active {
		it.interrupt(nc)
	}
}

func (it *interrupter) interrupt(nc net.Conn) {
	it.setDeadline(nc, longAgo)
	it.interrupted = true
}

// disarm ends the operation begun by arm; an interrupt already under way
// has finished when it returns, so no stale deadline is left behind.
func (it *interrupter) disarm(nc net.Conn) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.active = false
	if it.interrupted {
		it.interrupted = false
		it.setDeadline(nc, time.Time{})
	}
}

// release drops the watch, so that a long-lived context does not keep a
// closed connection reachable. Safe from any goroutine.
func (it *interrupter) release() {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.released = true
	if it.stop != nil {
		it.stop()
		it.stop = nil
	}
	it.gen++
	it.watch = nil
}

// reset drops the watch, as release does, but goes on watching the
// contexts of later operations: the connection's net.Conn was replaced
// (conn/poll's Serve), and a watch made before would interrupt the old
// one.
func (it *interrupter) reset() {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.stop != nil {
		it.stop()
		it.stop = nil
	}
	it.gen++
	it.watch, it.fired = nil, false
}

func (it *interrupter) setDeadline(nc net.Conn, t time.Time) {
	if it.write {
		nc.SetWriteDeadline(t)
	} else {
		nc.SetReadDeadline(t)
	}
}

// ctxErr turns the timeout caused by an interrupt into the context's error,
// so that callers see context.Canceled or DeadlineExceeded rather than an
// I/O timeout.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && isTimeout(err) {
		return ctx.Err()
	}
	return err
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
