//go:build linux

package nbsys

import (
	"syscall"
	"unsafe"
)

// EpollReady fills events with what epoll set epfd holds ready now,
// without waiting (epoll_pwait with a zero timeout), and reports how
// many it filled. It is made directly on every Linux build: it never
// blocks, and the kernel writes only into events, which the race
// detector is not told of through package syscall either.
//
// conn/poll asks it each time the runtime's poller reports its epoll set
// readable. Through package syscall, a call that found the system
// monitor asleep (as it is whenever the process idles between two
// messages) woke it on its way out of the system call state, and the
// monitor then ran every 20 µs for a millisecond: 18% of a conn/poll
// server's CPU samples with one busy connection, whose CPU per echo
// this took from 44.3 to 40.6 µs (16 connections: 8.31 to 7.90 µs;
// bench/perf/ab.sh, 16 B).
func EpollReady(epfd int, events []syscall.EpollEvent) (int, syscall.Errno) {
	if len(events) == 0 {
		return -1, syscall.EINVAL
	}
	for {
		r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		switch errno {
		case 0:
			return int(r), 0
		case syscall.EINTR:
			continue
		}
		return -1, errno
	}
}

// EpollCtl adds, changes or removes (op) fd's registration in epoll set
// epfd, directly, as EpollReady is made: epoll_ctl never blocks.
func EpollCtl(epfd, op, fd int, ev *syscall.EpollEvent) syscall.Errno {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errno
}
