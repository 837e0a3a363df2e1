package frame

import (
	"encoding/binary"
	"io"
	"strconv"
)

// Opcode is the 4-bit frame opcode (RFC 6455, Section 5.2).
type Opcode byte

// Opcodes defined by RFC 6455, Section 11.8.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode (the high bit set;
// RFC 6455, Section 5.5), reserved ones included.
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsData reports whether o is a non-control opcode, reserved ones included.
func (o Opcode) IsData() bool { return o&0x8 == 0 }

// IsReserved reports whether o is one of the opcodes RFC 6455 leaves for
// future use (0x3-0x7 and 0xB-0xF). A peer that receives one must fail the
// connection (RFC 6455, Section 5.2).
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// RSV holds the three reserved bits of a frame header in their wire
// positions within the first byte, so that they can be combined with |.
// Extensions claim them (RFC 6455, Section 5.8).
type RSV byte

// The reserved bits.
const (
	RSV1 RSV = 0x40
	RSV2 RSV = 0x20
	RSV3 RSV = 0x10
)

// Header is a decoded frame header (RFC 6455, Section 5.2).
type Header struct {
	Fin    bool
	RSV    RSV
	Opcode Opcode
	Masked bool
	Mask   [4]byte
	// Length is the payload length. On the wire it is at most 1<<63-1.
	Length int64
}

// MaxHeaderSize is the largest encoded header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key.
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload a control frame may carry
// (RFC 6455, Section 5.5).
const MaxControlPayload = 125

// Size returns the number of bytes the encoded header takes.
func (h Header) Size() int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendHeader appends the wire encoding of h to b. It does not check the
// header against the protocol rules; see Check. A negative Length is
// encoded as 0.
func AppendHeader(b []byte, h Header) []byte {
	b0 := byte(h.Opcode&0xF) | byte(h.RSV&(RSV1|RSV2|RSV3))
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := h.Length
	if n < 0 {
		n = 0
	}
	switch {
	case n <= 125:
		b = append(b, b0, b1|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, b1|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, b1|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if h.Masked {
		b = append(b, h.Mask[:]...)
	}
	return b
}

// ParseHeader decodes the header at the start of b and reports how many
// bytes it took. When b holds only a prefix of a header it returns
// io.ErrUnexpectedEOF. A 64-bit length with its most significant bit set
// is an error (RFC 6455, Section 5.2).
//
// ParseHeader accepts non-minimal length encodings (the RFC says the
// minimal number of bytes MUST be used by the sender, but does not ask the
// receiver to fail); Check does not reject them either.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, io.ErrUnexpectedEOF
	}
	h.Fin = b[0]&0x80 != 0
	h.RSV = RSV(b[0]) & (RSV1 | RSV2 | RSV3)
	h.Opcode = Opcode(b[0] & 0xF)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, io.ErrUnexpectedEOF
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, io.ErrUnexpectedEOF
		}
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, ErrLengthOverflow
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, io.ErrUnexpectedEOF
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// headerSizeFromPrefix returns the full header size given its first two
// bytes.
func headerSizeFromPrefix(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// ReadHeader reads exactly one header from r, using buf as scratch space so
// that it does not allocate. A stream that ends before the first byte gives
// io.EOF; one that ends inside the header gives io.ErrUnexpectedEOF.
func ReadHeader(r io.Reader, buf *[MaxHeaderSize]byte) (Header, error) {
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return Header{}, err
	}
	n := headerSizeFromPrefix(buf[0], buf[1])
	if n > 2 {
		if _, err := io.ReadFull(r, buf[2:n]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Header{}, err
		}
	}
	h, _, err := ParseHeader(buf[:n])
	return h, err
}

// Role tells Check which side of the connection received a frame.
type Role uint8

// Roles. Servers receive masked frames, clients unmasked ones.
const (
	RoleServer Role = iota
	RoleClient
)

// Check applies the per-frame rules of RFC 6455, Sections 5.1-5.5, to a
// header received by role. allowed holds the RSV bits that negotiated
// extensions own. It does not know about fragmentation state; see
// CheckSequence for that.
func Check(h Header, role Role, allowed RSV) error {
	if h.RSV&^allowed != 0 {
		return ErrReservedBits
	}
	if h.Opcode.IsReserved() {
		return ErrReservedOpcode
	}
	if role == RoleServer && !h.Masked {
		return ErrUnmasked
	}
	if role == RoleClient && h.Masked {
		return ErrMasked
	}
	if h.Opcode.IsControl() {
		if !h.Fin {
			return ErrFragmentedControl
		}
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
	}
	return nil
}

// CheckSequence applies the fragmentation rules of RFC 6455, Section 5.4, to
// a data frame: inMessage reports whether a fragmented message is in
// progress (its first frame had FIN clear and the final frame has not come).
func CheckSequence(op Opcode, inMessage bool) error {
	switch {
	case op == OpContinuation && !inMessage:
		return ErrUnexpectedContinuation
	case op != OpContinuation && op.IsData() && inMessage:
		return ErrExpectedContinuation
	}
	return nil
}
