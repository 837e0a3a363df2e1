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

// ReadAheadInto does nothing where ReadAhead does nothing: Read waits.
func (c *Conn) ReadAheadInto(ctx context.Context, p []byte) error { return nil }

func (c *Conn) initSockWrite() {}

type sockWriter struct{}

func (c *Conn) directFrame(h frame.Header, p []byte) (*sockWriter, int) { return nil, -1 }

func (c *Conn) sockWriteDirect(w *sockWriter, held int) (int, error) {
	panic("raw: sockWrite without a socket")
}

func (c *Conn) sockWrite(b []byte) (int, error) { panic("raw: sockWrite without a socket") }

func (c *Conn) sockWritev(head, body []byte) (int, error) {
	panic("raw: sockWritev without a socket")
}

// TypicalReadSpin is a length to give SetReadSpin; on this platform
// ReadAhead never spins.
const TypicalReadSpin = 50 * time.Microsecond

// SetReadSpin does nothing where ReadAhead does nothing.
func (c *Conn) SetReadSpin(d time.Duration) {}
