//go:build amd64 && !purego

package frame

// asciiPrefixImpls are the ways this CPU finds the ASCII start of a text;
// TestASCIIPrefix checks each against the byte loop.
func asciiPrefixImpls() map[string]func([]byte) int {
	m := map[string]func([]byte) int{
		"generic": asciiPrefixGeneric,
		"sse2": func(p []byte) int {
			if len(p) == 0 {
				return 0
			}
			return asciiPrefixAsm(&p[0], len(p), false, false)
		},
		"asciiPrefix": asciiPrefix,
	}
	if hasAVX2 {
		m["avx2"] = func(p []byte) int {
			if len(p) == 0 {
				return 0
			}
			return asciiPrefixAsm(&p[0], len(p), true, false)
		}
	}
	if hasAVX512 {
		m["avx512"] = func(p []byte) int {
			if len(p) == 0 {
				return 0
			}
			return asciiPrefixAsm(&p[0], len(p), true, true)
		}
	}
	return m
}
