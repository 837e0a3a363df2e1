package micro

import "testing"

// TestOrBytes checks the read floor against a byte loop: every length up
// to past two of its 256-byte blocks, from every offset in a word, with
// the one byte that has its top bit set at each position in turn, so that
// a byte the kernel skipped (in a block, in the 32-byte tail, in the byte
// tail) changes its answer.
func TestOrBytes(t *testing.T) {
	buf := make([]byte, 600+8)
	for i := range buf {
		buf[i] = byte(i*7) & 0x7f
	}
	for off := range 8 {
		for n := 0; n <= 600; n++ {
			p := buf[off : off+n]
			for _, at := range []int{-1, 0, n / 2, n - 1} {
				if at >= n || (at < 0 && n > 0 && off > 0) {
					continue
				}
				var want byte
				if at >= 0 {
					p[at] |= 0x80
				}
				for _, c := range p {
					want |= c
				}
				got, gen := orBytes(p), orBytesGeneric(p)
				if at >= 0 {
					p[at] &^= 0x80
				}
				if got != want || gen != want {
					t.Fatalf("%d bytes at offset %d, top bit at %d: orBytes %#x, orBytesGeneric %#x, want %#x", n, off, at, got, gen, want)
				}
			}
		}
	}
}
