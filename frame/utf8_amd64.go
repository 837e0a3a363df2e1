//go:build amd64 && !purego

package frame

// asciiPrefix is asciiPrefixGeneric with the vector loop of utf8_amd64.s
// for all but the last few bytes.
func asciiPrefix(p []byte) int {
	i := 0
	if len(p) >= 32 {
		i = asciiBlocks(&p[0], len(p), hasAVX2, hasAVX512)
	}
	return i + asciiPrefixGeneric(p[i:])
}

// asciiBlocks returns how many bytes at the start of the n bytes at p are
// ASCII, rounded down to a multiple of 32 (AVX2, 256 bytes per iteration
// with AVX-512 first) or 16 (SSE2).
//
//go:noescape
func asciiBlocks(p *byte, n int, avx2, avx512 bool) int

// dfaRun2 runs the automaton from state sa over a[:n] and from sb over
// b[:n], two chains of shifts at once.
func dfaRun2(sa, sb uint64, a, b []byte) (uint64, uint64) {
	if !hasBMI2 || len(a) == 0 {
		return dfaRun2Generic(sa, sb, a, b)
	}
	_ = b[len(a)-1]
	return dfa2(&utf8DFA, &a[0], &b[0], len(a), sa, sb)
}

// dfa2 is dfaRun2 in assembly, for CPUs with BMI2.
//
//go:noescape
func dfa2(t *[256]uint64, a, b *byte, n int, sa, sb uint64) (ra, rb uint64)
