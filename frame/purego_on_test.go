//go:build purego

package frame

const purego = true
