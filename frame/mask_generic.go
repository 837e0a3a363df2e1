//go:build !amd64 || purego

package frame

func maskBytes(b []byte, k uint32) { maskGeneric(b, k) }
