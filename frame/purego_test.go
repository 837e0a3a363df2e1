//go:build !purego

package frame

// purego tells the tests whether the build uses only the portable loops.
const purego = false
