//go:build unix && !(linux && (amd64 || arm64) && !race && !msan && !asan)

package nbsys

import (
	"syscall"
	"unsafe"
)

func read(fd int, b []byte) (int, syscall.Errno) {
	n, err := syscall.Read(fd, b)
	return n, errnoOf(err)
}

func write(fd int, b []byte) (int, syscall.Errno) {
	n, err := syscall.Write(fd, b)
	return n, errnoOf(err)
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
