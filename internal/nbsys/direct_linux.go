//go:build linux && (amd64 || arm64) && !race && !msan && !asan

package nbsys

import (
	"syscall"
	"unsafe"
)

// Read reads from fd into b. Read and Write inline to a call of direct,
// which loops on EINTR itself: a frame less beneath a wait.
func Read(fd int, b []byte) (int, syscall.Errno) { return direct(syscall.SYS_READ, fd, b) }

// Write makes one write to fd of as much of b as the socket takes, at
// most MaxDirect bytes.
func Write(fd int, b []byte) (int, syscall.Errno) {
	return direct(syscall.SYS_WRITE, fd, b[:min(len(b), MaxDirect)])
}

// direct makes trap, a read or a write of b, with RawSyscall, or with
// package syscall's Syscall when it would move more than MaxDirect bytes,
// again when a signal interrupted it.
func direct(trap uintptr, fd int, b []byte) (int, syscall.Errno) {
	call := syscall.Syscall
	if len(b) <= MaxDirect {
		call = syscall.RawSyscall
	}
	for {
		r, _, errno := call(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		if errno != syscall.EINTR {
			return int(r), errno
		}
	}
}

func writev(fd int, iov []syscall.Iovec, size int) (int, syscall.Errno) {
	call := syscall.Syscall
	if size <= MaxDirect {
		call = syscall.RawSyscall
	}
	r, _, errno := call(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(iov))), uintptr(len(iov)))
	return int(r), errno
}

func peek(fd int) syscall.Errno {
	var b byte
	// recvfrom directly: syscall.Recvfrom would also make room for, and
	// convert, a source address a stream socket does not report.
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b)), 1, syscall.MSG_PEEK, 0, 0)
	return errno
}
