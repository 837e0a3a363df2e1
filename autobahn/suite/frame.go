package suite

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// The runner has its own frame codec so that it judges a peer without
// trusting the code under test: it must be able to write any header,
// however broken, and to read frames with nothing but RFC 6455 in mind.

// Opcodes (RFC 6455, Section 5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// header is a decoded frame header. rsv holds the three reserved bits as
// the suite counts them: 4 is RSV1, 2 is RSV2, 1 is RSV3.
type header struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	key    [4]byte
	length uint64
}

// appendHeader encodes a header with the minimal length encoding.
func appendHeader(b []byte, h header) []byte {
	b0 := h.op & 0x0f
	if h.fin {
		b0 |= 0x80
	}
	b0 |= (h.rsv & 7) << 4
	var b1 byte
	if h.masked {
		b1 = 0x80
	}
	switch {
	case h.length <= 125:
		b = append(b, b0, b1|byte(h.length))
	case h.length <= 0xffff:
		b = append(b, b0, b1|126, byte(h.length>>8), byte(h.length))
	default:
		b = append(b, b0, b1|127)
		b = binary.BigEndian.AppendUint64(b, h.length)
	}
	if h.masked {
		b = append(b, h.key[:]...)
	}
	return b
}

var errLength = errors.New("64-bit payload length with the most significant bit set")

// readHeader reads one frame header.
func readHeader(r *bufio.Reader) (header, error) {
	var h header
	var p [8]byte
	if _, err := io.ReadFull(r, p[:2]); err != nil {
		return h, err
	}
	h.fin = p[0]&0x80 != 0
	h.rsv = (p[0] >> 4) & 7
	h.op = p[0] & 0x0f
	h.masked = p[1]&0x80 != 0
	switch n := p[1] & 0x7f; n {
	case 126:
		if _, err := io.ReadFull(r, p[:2]); err != nil {
			return h, noEOF(err)
		}
		h.length = uint64(binary.BigEndian.Uint16(p[:2]))
	case 127:
		if _, err := io.ReadFull(r, p[:8]); err != nil {
			return h, noEOF(err)
		}
		h.length = binary.BigEndian.Uint64(p[:8])
		if h.length>>63 != 0 {
			return h, errLength
		}
	default:
		h.length = uint64(n)
	}
	if h.masked {
		if _, err := io.ReadFull(r, h.key[:]); err != nil {
			return h, noEOF(err)
		}
	}
	return h, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// mask XORs b with key, b[0] being at offset pos of the payload, and
// returns the offset that follows b.
func mask(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func isControl(op byte) bool { return op&0x8 != 0 }

func isReserved(op byte) bool {
	return (op >= 0x3 && op <= 0x7) || op >= 0xB
}
