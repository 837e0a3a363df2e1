//go:build linux && (amd64 || arm64)

package raw

import (
	"syscall"
	"unsafe"
)

// sockEmpty reports whether the socket fd has nothing to read, by
// looking (MSG_PEEK) into one byte on the stack. Data, the end of the
// stream and errors all say no: the read that follows finds them. The
// system call is made directly: syscall.Recvfrom would also make room
// for, and convert, a source address a stream socket does not report.
func sockEmpty(fd uintptr) bool {
	var b byte
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1, syscall.MSG_PEEK, 0, 0)
	return errno == syscall.EAGAIN
}
