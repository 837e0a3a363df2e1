package conn

import (
	"context"
	"time"

	"github.com/hybi-go/hybi/frame"
)

// keepaliveTick runs on the keepalive timer: it alternates between sending
// a ping and, PongTimeout later, checking that its pong came.
func (c *Conn) keepaliveTick() {
	if c.terminal() != nil {
		return
	}
	if c.keepaliveArm {
		c.keepaliveArm = false
		if c.pongPending.Load() {
			c.mu.Lock()
			if c.cause == nil {
				c.cause = ErrPongTimeout
			}
			c.mu.Unlock()
			c.shutdown()
			return
		}
		next := c.opts.PingInterval - c.opts.PongTimeout
		if next <= 0 {
			next = time.Millisecond
		}
		c.keepalive.Reset(next)
		return
	}
	c.pongPending.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.PongTimeout)
	err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("keepalive"))
	cancel()
	if err != nil {
		c.failWrite(ctx, err)
		return
	}
	c.keepaliveArm = true
	c.keepalive.Reset(c.opts.PongTimeout)
}

func (c *Conn) stopKeepalive() {
	if c.keepalive != nil {
		c.keepalive.Stop()
	}
}
