package micro

import "golang.org/x/sys/cpu"

// orBytes is the OR of every byte of p: with AVX2, 256 bytes an
// iteration in assembly.
func orBytes(p []byte) byte {
	if len(p) == 0 || !cpu.X86.HasAVX2 {
		return orBytesGeneric(p)
	}
	return orBytesAVX2(&p[0], len(p))
}

//go:noescape
func orBytesAVX2(p *byte, n int) byte
