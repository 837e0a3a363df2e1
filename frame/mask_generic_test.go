//go:build !amd64 || purego

package frame

func maskImpls() map[string]func([]byte, uint32) {
	return map[string]func([]byte, uint32){"generic": maskGo}
}
