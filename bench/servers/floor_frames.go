package servers

import (
	"encoding/binary"

	"github.com/hybi-go/hybi/frame"
)

// floorFrames is the floors' WebSocket work, all of it: the whole frames
// in in[:n] become their echoes in out, with no check of anything.
type floorFrames struct {
	in  []byte // unread bytes in in[:n]
	n   int
	out []byte
}

func newFloorFrames() floorFrames {
	return floorFrames{in: make([]byte, 32<<10), out: make([]byte, 0, 32<<10)}
}

// grow makes room to read into when in is full (a frame larger than it).
func (f *floorFrames) grow() {
	if f.n == len(f.in) {
		f.in = append(f.in, make([]byte, len(f.in))...)
	}
}

// answer puts the echo of every whole frame of in into out and keeps the
// rest of in; false means a close frame came.
func (f *floorFrames) answer() bool {
	p := 0
	f.out = f.out[:0]
	for {
		b := f.in[p:f.n]
		if len(b) < 2 {
			break
		}
		hl := 2
		length := int(b[1] & 0x7f)
		switch length {
		case 126:
			hl += 2
		case 127:
			hl += 8
		}
		hl += 4 // clients mask
		if len(b) < hl {
			break
		}
		switch length {
		case 126:
			length = int(binary.BigEndian.Uint16(b[2:]))
		case 127:
			length = int(binary.BigEndian.Uint64(b[2:]))
		}
		if len(b) < hl+length {
			break
		}
		key := [4]byte(b[hl-4 : hl])
		op := b[0] & 0x0f
		p += hl + length
		switch op {
		case 0x8:
			return false
		case 0xa:
			continue
		case 0x9:
			op = 0xa
		}
		f.out = append(f.out, b[0]&0xf0|op)
		switch {
		case length < 126:
			f.out = append(f.out, byte(length))
		case length <= 0xffff:
			f.out = binary.BigEndian.AppendUint16(append(f.out, 126), uint16(length))
		default:
			f.out = binary.BigEndian.AppendUint64(append(f.out, 127), uint64(length))
		}
		start := len(f.out)
		f.out = append(f.out, b[hl:hl+length]...)
		frame.Mask(key, 0, f.out[start:])
	}
	f.n = copy(f.in, f.in[p:f.n])
	return true
}
