//go:build !amd64

package micro

// orBytes is the OR of every byte of p.
func orBytes(p []byte) byte { return orBytesGeneric(p) }
