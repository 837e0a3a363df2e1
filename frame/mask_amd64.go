//go:build amd64 && !purego

package frame

// maskBulkMin is the payload size from which Mask calls maskBulk: below
// it, maskGo is done before the assembly, whose arguments go through the
// stack, would be.
const maskBulkMin = 128

// maskBulk masks b, not empty, with k, the key in the phase of b[0].
func maskBulk(b []byte, k uint32) { maskAsm(&b[0], len(b), k, hasAVX2, hasAVX512) }

// maskAsm XORs the n > 0 bytes at b with k repeated: from 256 bytes on,
// aligned to 32 bytes, 256 bytes per iteration with AVX-512 (avx512) or
// AVX2 (avx2); else 64 bytes per iteration with SSE2; then 32 with AVX2,
// and words and bytes.
//
//go:noescape
func maskAsm(b *byte, n int, k uint32, avx2, avx512 bool)
