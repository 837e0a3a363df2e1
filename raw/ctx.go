package raw

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
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

// readInterrupter and writeInterrupter are the interrupters of a Conn's
// reads and writes, made on the first operation under a context that can
// be cancelled: most connections never have one (conn/poll's, conn's
// Handler's and Background are not), and a Conn keeps 8 bytes for each
// rather than the 40 of an interrupter (issue #15: what an idle
// connection holds).
type (
	readInterrupter  struct{ lazyInterrupter }
	writeInterrupter struct{ lazyInterrupter }
)

func (r *readInterrupter) arm(nc net.Conn, ctx context.Context) bool {
	return r.armAs(false, nc, ctx)
}

func (w *writeInterrupter) arm(nc net.Conn, ctx context.Context) bool {
	return w.armAs(true, nc, ctx)
}

// lazyInterrupter holds an interrupter once one is needed; released once
// the connection is closed.
type lazyInterrupter struct{ p atomic.Pointer[interrupter] }

// released marks a lazyInterrupter whose connection is closed: it makes
// no interrupter any more. It is never used as one.
var released = new(interrupter)

func (l *lazyInterrupter) armAs(write bool, nc net.Conn, ctx context.Context) bool {
	d := ctx.Done()
	if d == nil || ctxflag.ClosesConn(ctx, d) {
		return false
	}
	it := l.p.Load()
	if it == nil {
		l.p.CompareAndSwap(nil, &interrupter{write: write})
		it = l.p.Load() // this one, another operation's, or released
	}
	if it == released {
		return false
	}
	return it.arm(nc, ctx)
}

// disarm ends an operation armAs armed.
func (l *lazyInterrupter) disarm(nc net.Conn) {
	if it := l.p.Load(); it != nil && it != released {
		it.disarm(nc)
	}
}

// release drops the watch for good; see interrupter.release.
func (l *lazyInterrupter) release() {
	if it := l.p.Swap(released); it != nil && it != released {
		it.release()
	}
}

// reset drops the watch; see interrupter.reset.
func (l *lazyInterrupter) reset() {
	if it := l.p.Load(); it != nil && it != released {
		it.reset()
	}
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
// contexts of later operations: the connection's net.Conn was replaced,
// and a watch made before would interrupt the old one.
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
