package conn

import (
	"context"
	"fmt"
	"time"

	"github.com/hybi-go/hybi/frame"
)

// keepaliveTick runs on the keepalive timer: it alternates between sending
// a ping and, PongTimeout later, checking that its pong came. A ping that
// cannot be sent within PongTimeout fails the connection as a missing
// pong does.
func (c *Conn) keepaliveTick() {
	if c.terminal() != nil {
		return
	}
	k := c.x.Load().keepalive
	if c.keepaliveArm {
		c.keepaliveArm = false
		if c.flag(flagPongPending) {
			c.failKeepalive()
			return
		}
		next := k.interval - k.pongTimeout
		if next <= 0 {
			next = time.Millisecond
		}
		k.Reset(next)
		return
	}
	x := c.extras()
	x.pingMu.Lock()
	x.keepaliveAt = sinceEpoch()
	x.pingMu.Unlock()
	c.flags.Or(flagPongPending)
	ctx, cancel := context.WithTimeout(context.Background(), k.pongTimeout)
	err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, c.keepalivePayload())
	cancel()
	if cutByContext(ctx, err) {
		// The ping could not go out within PongTimeout: a write to a
		// peer that stopped reading holds the frame lock, or the peer's
		// window is shut. That is the dead peer the keepalive is for.
		c.failKeepalive()
		return
	}
	if err != nil {
		c.failWrite(ctx, err)
		return
	}
	c.keepaliveArm = true
	k.Reset(k.pongTimeout)
}

// failKeepalive fails the connection for want of a pong. Closing TCP ends
// any read or write blocked on it; readers get a CloseError of
// StatusAbnormalClosure wrapping ErrPongTimeout.
func (c *Conn) failKeepalive() {
	c.setCause(ErrPongTimeout)
	c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, ErrPongTimeout))
	c.shutdown()
}

func (c *Conn) stopKeepalive() {
	if x := c.x.Load(); x != nil && x.keepalive != nil {
		x.keepalive.Stop()
	}
}

// keepalivePayload returns the payload of keepalive pings.
func (c *Conn) keepalivePayload() []byte {
	if c.rare != nil && c.rare.pingPayload != nil {
		return c.rare.pingPayload
	}
	return defaultPingPayload
}

var defaultPingPayload = []byte(DefaultPingPayload)
