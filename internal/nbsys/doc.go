// Package nbsys reads, writes and peeks at nonblocking sockets, and on
// Linux asks and changes epoll sets without waiting, with system calls
// that do not tell the Go scheduler about themselves.
//
// syscall.Read and syscall.Write enter and leave the scheduler's system
// call state around every call, so that a call that blocks gives up its
// processor; on a nonblocking socket no call blocks, and the bookkeeping
// (and the work the system monitor does for threads in system calls) was
// 7% of hybi's server CPU per message in the closed-loop echo at 256
// connections (bench/perf/ab.sh, 16 B: 7.78 -> 7.20 µs per echo).
// So on linux/amd64 and linux/arm64, calls that move at most MaxDirect
// bytes are made directly: such a call holds its processor for a copy of
// at most 256 KiB, tens of microseconds, as a loop of Go code (or a
// copy of as much) would. Larger ones, other systems, and every call in
// a build with the race detector or a sanitizer (which learn of the
// memory a call touches, and of the order it sets between goroutines,
// from package syscall) go through package syscall.
//
// Where calls are made directly, Write moves at most MaxDirect bytes a
// call (a larger write is several calls, each made directly), and
// package raw reads at most as much at once. A call through package
// syscall needs more stack, and the scheduler's bookkeeping for it
// more time: reading a large message into a buffer of its own
// (bytes.Buffer.ReadFrom) took a goroutine past the 2 KiB of stack it
// started with, to keep 4 KiB while idle; and a server echoing 1 MiB
// messages over 16 connections spent 20% more CPU per echo with a limit
// of 64 KiB (bench/perf/ab.sh, 2026-12-06: 517 against 415 µs).
//
// EpollReady and EpollCtl, which touch no memory but an epoll event's,
// are made directly on every Linux build (see EpollReady).
//
// The caller guarantees that fd is a nonblocking socket: a *net.TCPConn's
// or *net.UnixConn's, whose descriptors the runtime made nonblocking, or
// one duplicated from them. A blocking descriptor would hold a processor
// for as long as its call waits.
//
// Calls interrupted by a signal are made again. An error is an Errno,
// compared as a number (EAGAIN for a socket with nothing to read or no
// room to write), with n -1.
package nbsys

// MaxDirect is the most bytes a call made directly moves: as much as raw
// reads at once into a pooled buffer (a pipelining peer's frames, a
// dozen per read).
const MaxDirect = 256 << 10
