//go:build !unix

package raw

import (
	"context"
	"net"
)

type idleReader struct{}

func (c *Conn) initIdle() {}

func (c *Conn) rebindIdle(net.Conn) bool { return false }

func (c *Conn) readIdle() (bool, error) { return false, nil }

// ReadAhead does nothing where sockets cannot be waited on without a
// buffer: NextFrame waits.
func (c *Conn) ReadAhead(ctx context.Context) error { return nil }
