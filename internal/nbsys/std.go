//go:build unix && !(linux && (amd64 || arm64) && !race && !msan && !asan)

package nbsys

import (
	"syscall"
	"unsafe"
)

// Read reads from fd into b, again when a signal interrupted the read.
func Read(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Read(fd, b)
		if errno := errnoOf(err); errno != syscall.EINTR {
			return n, errno
		}
	}
}

// Write makes one write to fd of as much of b as the socket takes, again
// when a signal interrupted the write.
func Write(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Write(fd, b)
		if errno := errnoOf(err); errno != syscall.EINTR {
			return n, errno
		}
	}
}

func writev(fd int, iov []syscall.Iovec, size int) (int, syscall.Errno) {
	r, _, errno := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(iov))), uintptr(len(iov)))
	return int(r), errno
}

func peek(fd int) syscall.Errno {
	var b [1]byte
	_, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK)
	return errnoOf(err)
}
