//go:build !amd64 || purego

package frame

func asciiPrefix(p []byte) int { return asciiPrefixGeneric(p) }
