package micro

import "encoding/binary"

// orBytesGeneric is the OR of every byte of p, a word at a time: the
// read floor where there is no assembly for it.
func orBytesGeneric(p []byte) byte {
	var w uint64
	for len(p) >= 8 {
		w |= binary.LittleEndian.Uint64(p)
		p = p[8:]
	}
	for _, c := range p {
		w |= uint64(c)
	}
	w |= w >> 32
	w |= w >> 16
	w |= w >> 8
	return byte(w)
}
