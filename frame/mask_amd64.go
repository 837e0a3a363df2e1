//go:build amd64 && !purego

package frame

func maskBytes(b []byte, k uint32) { maskAsm(&b[0], len(b), k, hasAVX2) }

// maskAsm XORs the n > 0 bytes at b with k repeated, 128 or 64 bytes per
// iteration with AVX2 (avx2) or SSE2, then 8, 4 and 1 at a time.
//
//go:noescape
func maskAsm(b *byte, n int, k uint32, avx2 bool)
