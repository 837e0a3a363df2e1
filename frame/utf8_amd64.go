//go:build amd64 && !purego

package frame

// asciiPrefix is asciiPrefixGeneric in assembly: 256, 128 or 32 bytes at
// a time with AVX-512 and AVX2, 16 with SSE2, then words.
func asciiPrefix(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	return asciiPrefixAsm(&p[0], len(p), hasAVX2, hasAVX512)
}

// asciiPrefixAsm returns how many of the n bytes at p are ASCII, rounded
// down to a multiple of 8 unless all are.
//
//go:noescape
func asciiPrefixAsm(p *byte, n int, avx2, avx512 bool) int

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
