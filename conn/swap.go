package conn

import (
	"errors"

	"github.com/hybi-go/hybi/internal/netswap"
)

func init() {
	netswap.Conn = func(c any, f netswap.Func) error { return c.(*Conn).swapNetConn(f) }
	netswap.TakeDrained = func(c any) bool { return netswap.RawTakeDrained(c.(*Conn).rc) }
	netswap.ControlPending = func(c any) bool { return c.(*Conn).cutControl() != nil }
}

// swapNetConn replaces the net.Conn under c (see internal/netswap), unless
// a read is in progress.
func (c *Conn) swapNetConn(f netswap.Func) error {
	if !c.readMu.TryLock() {
		return errors.New("websocket: read in progress")
	}
	defer c.readMu.Unlock()
	return netswap.Raw(c.rc, f)
}
