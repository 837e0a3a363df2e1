//go:build unix

package nbsys

import "syscall"

// Writev makes one writev to fd of the buffers iov points to, size bytes
// in all.
func Writev(fd int, iov []syscall.Iovec, size int) (int, syscall.Errno) {
	for {
		n, errno := writev(fd, iov, size)
		if errno != syscall.EINTR {
			return n, errno
		}
	}
}

// Empty reports whether fd has nothing to read, by looking (MSG_PEEK)
// into one byte. Data, the end of the stream and errors all say no: the
// read that follows finds them.
func Empty(fd int) bool {
	for {
		errno := peek(fd)
		if errno != syscall.EINTR {
			return errno == syscall.EAGAIN
		}
	}
}

// errnoOf is err as an Errno: package syscall's calls return Errnos.
func errnoOf(err error) syscall.Errno {
	errno, _ := err.(syscall.Errno)
	return errno
}
