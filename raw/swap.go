package raw

import (
	"errors"
	"net"

	"github.com/hybi-go/hybi/internal/netswap"
)

func init() {
	netswap.Raw = func(rc any, f netswap.Func) error { return rc.(*Conn).swapNetConn(f) }
	netswap.RawTakeDrained = func(rc any) bool { return rc.(*Conn).takeDrained() }
}

// takeDrained reports and forgets c.drained (see internal/netswap).
func (c *Conn) takeDrained() bool {
	d := c.drained
	c.drained = false
	return d
}

// errSwapBusy is what swapNetConn returns when a write holds the
// connection.
var errSwapBusy = errors.New("websocket: connection busy")

// swapNetConn replaces nc with f(nc), for conn/poll (see internal/netswap).
// The reader's goroutine calls it, with no read in progress; a write in
// progress makes it fail, and writes that come after use the new nc. It
// runs under the closed event's lock, so that Close closes either the old
// nc (and the swap does not happen) or the new one.
func (c *Conn) swapNetConn(f netswap.Func) error {
	if !c.wmu.TryLock() {
		return errSwapBusy
	}
	defer c.unlockWrite()
	if c.werr != nil || c.rerr != nil || c.idle == nil {
		return errSwapBusy
	}
	var old net.Conn
	var err error
	if !c.closed.Unless(func() {
		nc, ferr := f(c.nc)
		if ferr != nil {
			err = ferr
			return
		}
		if !c.rebindIdle(nc) {
			nc.Close()
			err = errors.New("websocket: swapped connection is not a socket")
			return
		}
		old, c.nc = c.nc, nc
		// A poller's worker must not spin for one connection while
		// others wait for it.
		c.SetReadSpin(-1)
	}) {
		return ErrClosed
	}
	if err != nil {
		return err
	}
	// Watches made for earlier operations would interrupt the old nc.
	if dl := c.dl.Load(); dl != nil {
		dl.r.reset()
		dl.w.reset()
	}
	return old.Close()
}
