//go:build !amd64 || purego

package frame

func asciiPrefixImpls() map[string]func([]byte) int {
	return map[string]func([]byte) int{"generic": asciiPrefixGeneric, "asciiPrefix": asciiPrefix}
}
