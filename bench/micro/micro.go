// Package micro holds the micro-benchmarks of the payload passes every
// WebSocket library makes, masking (RFC 6455, Section 5.3) and UTF-8
// validation of text (Section 8.1), beside their floors and peers: copy,
// gobwas/ws's ws.Cipher and unicode/utf8.Valid. Each is a
// func(*testing.B), for `go test -bench` in this package and for
// testing.Benchmark in the matrix's micro scenario (cmd/matrix).
package micro

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/hybi-go/hybi/frame"
)

// A Size is a payload size, with its name in benchmark names.
type Size struct {
	Name string
	N    int
}

// Sizes are the payload sizes measured: from a chat message to an upload.
var Sizes = []Size{{"16B", 16}, {"128B", 128}, {"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"1MiB", 1 << 20}}

// key is the masking key of RFC 6455, Section 5.7's examples.
var key = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// A Kernel is one implementation of a pass over a payload.
type Kernel struct {
	Name  string                        // as the results name it: "hybi", "copy", "gobwas", "utf8.Valid", ReadFloor
	Bench func([]byte) func(*testing.B) // the benchmark over the given payload
}

// MaskKernels are hybi's frame.Mask, copy (the floor of a pass over the
// payload: memmove into a second buffer) and gobwas's ws.Cipher. Each
// masks the payload in place, again and again, carrying the offset.
var MaskKernels = []Kernel{
	{"hybi", func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			pos := 0
			for b.Loop() {
				pos = frame.Mask(key, pos, p)
			}
		}
	}},
	{"copy", func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			dst := make([]byte, len(p))
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				copy(dst, p)
			}
		}
	}},
	{"gobwas", func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			pos := 0
			for b.Loop() {
				ws.Cipher(p, key, pos)
				pos = (pos + len(p)) & 3
			}
		}
	}},
}

// ReadFloor names the kernel that loads every byte of the text once and
// checks nothing (the OR of the bytes, 256 at a time with AVX2): no
// validator can take less, so where hybi's validator runs at its speed,
// what bounds the ratio to utf8.Valid is the machine's memory, not the
// code (at 1 MiB here, text that fills the core's 1 MiB L2 and comes
// from L3).
const ReadFloor = "read floor"

// UTF8Kernels are hybi's incremental frame.UTF8 (the whole payload in one
// Write, then Done), the standard library's one-shot utf8.Valid, and the
// read floor.
var UTF8Kernels = []Kernel{
	{"hybi", func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			var v frame.UTF8
			for b.Loop() {
				v.Reset()
				if !v.Write(p) || !v.Done() {
					b.Fatal("frame.UTF8 rejected valid text")
				}
			}
		}
	}},
	{"utf8.Valid", func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if !utf8.Valid(p) {
					b.Fatal("utf8.Valid rejected valid text")
				}
			}
		}
	}},
	{ReadFloor, func(p []byte) func(*testing.B) {
		return func(b *testing.B) {
			want := orBytesGeneric(p)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if orBytes(p) != want {
					b.Fatal("the read floor's OR of the text is wrong")
				}
			}
		}
	}},
}

// Texts are the kinds of text the UTF-8 kernels validate.
var Texts = []string{"ascii", "multibyte"}

// Text returns n bytes of valid UTF-8 of the given kind: "ascii" is
// English-like ASCII, "multibyte" mixes 1-, 2-, 3- and 4-byte runes (Greek,
// the euro sign, an emoji, accented Latin, spaces), cut back to a whole
// rune, so it may be up to 3 bytes short of n.
func Text(kind string, n int) []byte {
	unit := "hello, world! "
	if kind == "multibyte" {
		unit = "κόσμε € 😀 é "
	}
	s := strings.Repeat(unit, n/len(unit)+1)[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return []byte(s)
}

// Payload returns n bytes to mask.
func Payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}
