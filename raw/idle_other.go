//go:build !unix

package raw

import (
	"context"
	"net"
	"time"

	"github.com/hybi-go/hybi/frame"
)

type idleReader struct{}

func (c *Conn) initIdle() {}

func (c *Conn) rebindIdle(net.Conn) bool { return false }

func (c *Conn) readIdle() (bool, error) { return false, nil }

// ReadAhead does nothing where sockets cannot be waited on without a
// buffer: NextFrame waits.
func (c *Conn) ReadAhead(ctx context.Context) error { return nil }

func (c *Conn) initSockWrite() {}

func (c *Conn) directFrame(h frame.Header, p []byte) (*[]byte, int) { return nil, -1 }

func (c *Conn) doneDirect(bp *[]byte, held, n int, err error) {}

func (c *Conn) sockWrite(b []byte) (int, error) { panic("raw: sockWrite without a socket") }

// TypicalReadSpin is a length to give SetReadSpin; on this platform
// ReadAhead never spins.
const TypicalReadSpin = 50 * time.Microsecond

// SetReadSpin does nothing where ReadAhead does nothing.
func (c *Conn) SetReadSpin(d time.Duration) {}
