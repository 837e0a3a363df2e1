//go:build unix && !(linux && (amd64 || arm64))

package raw

import "syscall"

// sockEmpty reports whether the socket fd has nothing to read, by
// looking (MSG_PEEK) into one byte on the stack. Data, the end of the
// stream and errors all say no: the read that follows finds them.
func sockEmpty(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
	errno, _ := err.(syscall.Errno) // compared as a number, as readNoEINTR's
	return errno == syscall.EAGAIN
}
