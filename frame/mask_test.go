package frame

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"
)

// maskRef is the masking of RFC 6455, Section 5.3, byte by byte:
// transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4).
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

var maskKeys = [][4]byte{
	{0, 0, 0, 0},
	{0xFF, 0xFF, 0xFF, 0xFF},
	{0x37, 0xfa, 0x21, 0x3d},
	{0x01, 0x02, 0x04, 0x08},
	{0x80, 0x00, 0x00, 0x01},
	{0xde, 0xad, 0xbe, 0xef},
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestMaskReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	// guard bytes on both sides catch writes outside b.
	const guard = 9
	for _, key := range maskKeys {
		for n := 0; n <= 300; n++ {
			src := randomBytes(rng, n)
			for pos := 0; pos < 8; pos++ {
				// Place b at every alignment within the backing array.
				off := guard + pos%8
				backing := make([]byte, off+n+guard)
				for i := range backing {
					backing[i] = 0xA5
				}
				got := backing[off : off+n]
				copy(got, src)
				want := append([]byte(nil), src...)

				gotPos := Mask(key, pos, got)
				wantPos := maskRef(key, pos, want)
				if gotPos != wantPos {
					t.Fatalf("key %x n %d pos %d: Mask returned %d, want %d", key, n, pos, gotPos, wantPos)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("key %x n %d pos %d: Mask = % x, want % x", key, n, pos, got, want)
				}
				for i, c := range backing {
					if (i < off || i >= off+n) && c != 0xA5 {
						t.Fatalf("key %x n %d pos %d: wrote outside b at %d", key, n, pos, i-off)
					}
				}
			}
		}
	}
}

// TestMaskImplementations checks every masking loop of this CPU (the
// portable one, and SSE2 and AVX2 on amd64) against the byte loop at every
// start alignment within a 32-byte line and every length up to past the
// sizes where the vector loops and the alignment of long payloads begin.
func TestMaskImplementations(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	impls := maskImpls()
	if len(impls) < 2 && runtime.GOARCH == "amd64" && !purego {
		t.Fatalf("only %d masking loops on amd64", len(impls))
	}
	const guard = 40
	for name, impl := range impls {
		for _, key := range maskKeys[2:4] { // keys with four different bytes
			for n := 1; n <= 600; n += 1 + n/16 {
				src := randomBytes(rng, n)
				for phase := 0; phase < 4; phase++ {
					for off := phase; off < 32; off += 3 {
						backing := bytes.Repeat([]byte{0xA5}, guard+off+n+guard)
						got := backing[guard+off : guard+off+n]
						copy(got, src)
						want := append([]byte(nil), src...)
						maskRef(key, phase, want)
						k := uint32(key[phase]) | uint32(key[(phase+1)&3])<<8 | uint32(key[(phase+2)&3])<<16 | uint32(key[(phase+3)&3])<<24
						impl(got, k)
						if !bytes.Equal(got, want) {
							t.Fatalf("%s: key %x phase %d n %d offset %d: % x, want % x", name, key, phase, n, off, got, want)
						}
						for i, c := range backing {
							if (i < guard+off || i >= guard+off+n) && c != 0xA5 {
								t.Fatalf("%s: key %x phase %d n %d offset %d: wrote outside b at %d", name, key, phase, n, off, i-guard-off)
							}
						}
					}
				}
			}
		}
	}
}

// TestMaskLargePos checks that only pos mod 4 matters.
func TestMaskLargePos(t *testing.T) {
	t.Parallel()
	key := maskKeys[2]
	src := []byte("the quick brown fox jumps over the lazy dog")
	// Large offsets as int64, so that the test builds where int is 32 bits.
	for _, pos64 := range []int64{4, 5, 1 << 20, 1<<30 + 1, 1<<40 + 3, 1<<62 + 2} {
		pos := int(pos64) // truncated on 32-bit platforms, still ≡ pos64 mod 4

		got := append([]byte(nil), src...)
		want := append([]byte(nil), src...)
		if g, w := Mask(key, pos, got), maskRef(key, pos&3, want); g != w || !bytes.Equal(got, want) {
			t.Errorf("pos %d: Mask = % x, %d; want % x, %d", pos, got, g, want, w)
		}
	}
}

// TestMaskChunked masks a payload in two pieces split at every point, and
// in many random pieces, continuing with the returned pos, and expects the
// one-shot result.
func TestMaskChunked(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, key := range maskKeys {
		for _, n := range []int{0, 1, 3, 7, 8, 9, 63, 64, 65, 130, 257} {
			src := randomBytes(rng, n)
			for start := 0; start < 4; start++ {
				want := append([]byte(nil), src...)
				wantPos := Mask(key, start, want)

				for split := 0; split <= n; split++ {
					got := append([]byte(nil), src...)
					pos := Mask(key, start, got[:split])
					pos = Mask(key, pos, got[split:])
					if pos != wantPos || !bytes.Equal(got, want) {
						t.Fatalf("key %x n %d start %d split %d: chunked differs from one-shot", key, n, start, split)
					}
				}

				for trial := 0; trial < 20; trial++ {
					got := append([]byte(nil), src...)
					pos := start
					for rest := got; len(rest) > 0; {
						k := 1 + rng.IntN(min(len(rest), 70))
						pos = Mask(key, pos, rest[:k])
						rest = rest[k:]
					}
					if pos != wantPos || !bytes.Equal(got, want) {
						t.Fatalf("key %x n %d start %d: random chunks differ from one-shot", key, n, start)
					}
				}
			}
		}
	}
}

func TestMaskTwiceIsIdentity(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, key := range maskKeys {
		for _, n := range []int{0, 1, 5, 64, 1000, 4099} {
			for pos := 0; pos < 4; pos++ {
				src := randomBytes(rng, n)
				b := append([]byte(nil), src...)
				p1 := Mask(key, pos, b)
				p2 := Mask(key, pos, b)
				if p1 != p2 || !bytes.Equal(b, src) {
					t.Fatalf("key %x n %d pos %d: masking twice is not the identity", key, n, pos)
				}
			}
		}
	}
}

// benchSizes are the payload sizes of the masking and UTF-8 benchmarks:
// from a small chat message to a large upload.
var benchSizes = []struct {
	name string
	n    int
}{
	{"16B", 16},
	{"128B", 128},
	{"1KiB", 1 << 10},
	{"16KiB", 16 << 10},
	{"1MiB", 1 << 20},
}

func benchMask(b *testing.B, off int, mask func(key [4]byte, pos int, b []byte) int) {
	key := maskKeys[2]
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			buf := make([]byte, off+s.n)[off:]
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			pos := 0
			for b.Loop() {
				pos = mask(key, pos, buf)
			}
		})
	}
}

func BenchmarkMask(b *testing.B) { benchMask(b, 0, Mask) }

// BenchmarkMaskUnaligned masks a payload that starts 6 bytes into its
// buffer, where it lies after a masked frame's header of 6 bytes.
func BenchmarkMaskUnaligned(b *testing.B) { benchMask(b, 6, Mask) }

func BenchmarkMaskGeneric(b *testing.B) {
	benchMask(b, 0, func(key [4]byte, pos int, b []byte) int {
		maskGo(b, uint32(key[0])|uint32(key[1])<<8|uint32(key[2])<<16|uint32(key[3])<<24)
		return pos
	})
}

func BenchmarkMaskByteLoop(b *testing.B) { benchMask(b, 0, maskRef) }

// BenchmarkCopy is the floor for a pass over the payload: memmove between
// two buffers.
func BenchmarkCopy(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			src := make([]byte, s.n)
			dst := make([]byte, s.n)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}
