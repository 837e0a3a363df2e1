package frame

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key (RFC 6455, Section 5.3), taking
// pos as the offset of b[0] within the payload. It returns the offset to
// pass with the next chunk of the same payload, so a payload may be masked
// in pieces of any size.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	// Bring the key into the phase of b[0]: byte i of the little-endian
	// word is the key byte for b[i], b[i+4], ...
	k := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
	if len(b) >= maskBulkMin {
		maskBulk(b, k)
	} else {
		maskGo(b, k)
	}
	return (pos + len(b)) & 3
}

// maskGo is the portable loop: it masks b with k, the key in the phase of
// b[0], eight words of 64 bits at a time, then words, then bytes.
func maskGo(b []byte, k uint32) {
	k64 := uint64(k) | uint64(k)<<32
	n := len(b)
	i := 0
	for ; i+64 <= n; i += 64 {
		s := b[i : i+64 : i+64]
		binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k64)
		binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k64)
		binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k64)
		binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k64)
		binary.LittleEndian.PutUint64(s[32:], binary.LittleEndian.Uint64(s[32:])^k64)
		binary.LittleEndian.PutUint64(s[40:], binary.LittleEndian.Uint64(s[40:])^k64)
		binary.LittleEndian.PutUint64(s[48:], binary.LittleEndian.Uint64(s[48:])^k64)
		binary.LittleEndian.PutUint64(s[56:], binary.LittleEndian.Uint64(s[56:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		s := b[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(s, binary.LittleEndian.Uint64(s)^k64)
	}
	for ; i < n; i++ {
		b[i] ^= byte(k64)
		k64 >>= 8
	}
}
