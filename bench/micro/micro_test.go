package micro

import (
	"testing"
	"unicode/utf8"

	"github.com/hybi-go/hybi/frame"
)

// BenchmarkMask runs every masking kernel at every size:
//
//	cd bench && go test -run '^$' -bench Mask -benchmem ./micro
func BenchmarkMask(b *testing.B) {
	for _, sz := range Sizes {
		for _, k := range MaskKernels {
			b.Run(sz.Name+"/"+k.Name, k.Bench(Payload(sz.N)))
		}
	}
}

// BenchmarkUTF8 runs every UTF-8 kernel on every kind of text and size.
func BenchmarkUTF8(b *testing.B) {
	for _, kind := range Texts {
		for _, sz := range Sizes {
			for _, k := range UTF8Kernels {
				b.Run(kind+"/"+sz.Name+"/"+k.Name, k.Bench(Text(kind, sz.N)))
			}
		}
	}
}

// TestKernelsAgree checks that the masking kernels that transform compute
// the same bytes (hybi against gobwas, from every offset) and that the
// texts are valid UTF-8 of their kind, so that the benchmarks compare like
// with like.
func TestKernelsAgree(t *testing.T) {
	for _, sz := range Sizes {
		n := sz.N
		for pos := 0; pos < 4; pos++ {
			a, b := Payload(n), Payload(n)
			frame.Mask(key, pos, a)
			maskGobwas(b, pos)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%d bytes from offset %d: hybi and gobwas differ at %d", n, pos, i)
				}
			}
		}
		for _, kind := range Texts {
			p := Text(kind, n)
			if !utf8.Valid(p) || len(p) < n-3 {
				t.Fatalf("Text(%s, %d): %d bytes, valid %v", kind, n, len(p), utf8.Valid(p))
			}
			var ascii bool = true
			for _, c := range p {
				ascii = ascii && c < 0x80
			}
			if ascii != (kind == "ascii") {
				t.Fatalf("Text(%s, %d) is ASCII: %v", kind, n, ascii)
			}
		}
	}
}
