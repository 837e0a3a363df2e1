package raw

import (
	"context"
	"errors"
	"net"
	"os"
	"time"
)

// longAgo is a deadline in the past: setting it makes a blocked read or
// write return at once, which is how a cancelled context interrupts I/O
// without closing the connection.
var longAgo = time.Unix(1, 0)

// interrupter arms a context so that its cancellation interrupts blocked
// I/O through a deadline, and disarms it afterwards, putting the deadline
// back. For a context that can never be cancelled it does nothing and
// costs nothing.
type interrupter struct {
	set func(time.Time) error
}

// arm starts watching ctx; the returned func must be called when the I/O
// is over. It waits for an interrupt already under way, so that no stale
// deadline is left behind for the next operation.
func (it *interrupter) arm(ctx context.Context) (disarm func()) {
	if ctx.Done() == nil {
		return nop
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		it.set(longAgo)
		close(done)
	})
	return func() {
		if stop() {
			return
		}
		<-done
		it.set(time.Time{})
	}
}

func nop() {}

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
