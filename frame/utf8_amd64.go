//go:build amd64 && !purego

package frame

// asciiPrefix is asciiPrefixGeneric with the vector loop of utf8_amd64.s
// for all but the last few bytes.
func asciiPrefix(p []byte) int {
	i := 0
	if len(p) >= 32 {
		i = asciiBlocks(&p[0], len(p), hasAVX2)
	}
	return i + asciiPrefixGeneric(p[i:])
}

// asciiBlocks returns how many bytes at the start of the n bytes at p are
// ASCII, rounded down to a multiple of 32 (AVX2) or 16 (SSE2).
//
//go:noescape
func asciiBlocks(p *byte, n int, avx2 bool) int
