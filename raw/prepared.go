package raw

import (
	"context"

	"github.com/hybi-go/hybi/frame"
)

// PreparedFrame is a frame encoded once, to be written to many
// connections: to a server connection as the very same bytes, which need
// no masking (RFC 6455, Section 5.1), and to a client connection through
// WriteFrame, masked with a fresh key each time. It is immutable and safe
// for concurrent use.
type PreparedFrame struct {
	h    frame.Header // Length set, Masked false
	wire []byte       // the unmasked header followed by the payload
	hlen int
}

// NewPreparedFrame encodes the frame h with payload p. p is copied: the
// caller may reuse it. h.Length, h.Masked and h.Mask are ignored.
func NewPreparedFrame(h frame.Header, p []byte) *PreparedFrame {
	h.Length = int64(len(p))
	h.Masked = false
	h.Mask = [4]byte{}
	wire := make([]byte, 0, h.Size()+len(p))
	wire = frame.AppendHeader(wire, h)
	hlen := len(wire)
	wire = append(wire, p...)
	return &PreparedFrame{h: h, wire: wire, hlen: hlen}
}

// Header returns the frame's header, unmasked, with Length set.
func (f *PreparedFrame) Header() frame.Header { return f.h }

// Payload returns the frame's payload. It must not be modified.
func (f *PreparedFrame) Payload() []byte { return f.wire[f.hlen:] }

// Wire returns the frame as a server sends it, header and payload. It must
// not be modified.
func (f *PreparedFrame) Wire() []byte { return f.wire }

// WritePrepared writes f under the frame write lock, as WriteFrame would
// write f.Header() and f.Payload(): a server writes the prepared bytes in
// one Write with no copy, a client masks a copy with a fresh key. The
// header is checked as WriteFrame checks it (an RSV bit the connection's
// extensions do not own is refused), and ctx and errors behave the same.
func (c *Conn) WritePrepared(ctx context.Context, f *PreparedFrame) error {
	if c.role == Client {
		return c.WriteFrame(ctx, f.h, f.Payload())
	}
	if c.flags&flagIllegal == 0 {
		if err := c.checkWrite(f.h); err != nil {
			return err
		}
	}
	return c.writeLocked(ctx, f.h.Opcode, func() (int, error) { return c.out(f.wire, nil) })
}
