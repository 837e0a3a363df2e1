//go:build !amd64 || purego

package frame

func asciiPrefix(p []byte) int { return asciiPrefixGeneric(p) }

func dfaRun2(sa, sb uint64, a, b []byte) (uint64, uint64) { return dfaRun2Generic(sa, sb, a, b) }
