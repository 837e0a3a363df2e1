//go:build !amd64 || purego

package frame

// maskBulkMin is the payload size from which Mask calls maskBulk: never,
// here, where maskGo is all there is.
const maskBulkMin = int(^uint(0) >> 1)

func maskBulk(b []byte, k uint32) { maskGo(b, k) }
