package micro

import (
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/hybi-go/hybi/frame"
)

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkMask runs every masking kernel at every size:
//
//	cd bench && go test -run '^$' -bench Mask -benchmem ./micro
func BenchmarkMask(b *testing.B) {
	for _, n := range Sizes {
		for _, k := range MaskKernels {
			b.Run(sizeName(n)+"/"+k.Name, k.Bench(Payload(n)))
		}
	}
}

// BenchmarkUTF8 runs every UTF-8 kernel on every kind of text and size.
func BenchmarkUTF8(b *testing.B) {
	for _, kind := range Texts {
		for _, n := range Sizes {
			for _, k := range UTF8Kernels {
				b.Run(kind+"/"+sizeName(n)+"/"+k.Name, k.Bench(Text(kind, n)))
			}
		}
	}
}

// TestKernelsAgree checks that the masking kernels that transform compute
// the same bytes (hybi against gobwas, from every offset) and that the
// texts are valid UTF-8 of their kind, so that the benchmarks compare like
// with like.
func TestKernelsAgree(t *testing.T) {
	for _, n := range Sizes {
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
