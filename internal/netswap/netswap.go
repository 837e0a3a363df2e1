// Package netswap lets conn/poll move a connection it serves onto a
// net.Conn of its own over the same socket, one that waits in the
// poller's epoll set rather than in the runtime's network poller, which
// keeps several hundred bytes for every socket it knows (issue #15).
//
// Packages raw and conn set the functions at init; conn/poll calls Conn
// and TakeDrained.
// Nothing outside this module can reach them.
package netswap

import "net"

// Func is given a connection's net.Conn and returns the one to use from
// then on, over the same stream, or an error to leave it as it was. It
// must not close the old one: the caller does once the new one is in
// place.
type Func func(old net.Conn) (net.Conn, error)

var (
	// Raw replaces the net.Conn of a *raw.Conn, rc, with what f makes of
	// it. It fails, changing nothing, when a write is in progress or the
	// connection is closed or broken; no read may be in progress. Set by
	// package raw.
	Raw func(rc any, f Func) error
	// Conn does what Raw does for the Raw session of a *conn.Conn, c; it
	// fails, changing nothing, when a read is in progress too. Set by
	// package conn.
	Conn func(c any, f Func) error

	// RawTakeDrained reports whether the last read system call a
	// *raw.Conn, rc, made on its socket returned less than it asked for
	// or found nothing to read: the socket was empty then, and data that
	// arrives after it makes an edge-triggered epoll report the socket
	// again. It forgets the answer, so that the next call tells only of
	// reads made in between. The reader's goroutine calls it. Set by
	// package raw.
	RawTakeDrained func(rc any) bool
	// TakeDrained does what RawTakeDrained does for the Raw session of a
	// *conn.Conn, c. Set by package conn.
	TakeDrained func(c any) bool
	// ControlPending reports whether a *conn.Conn, c, holds a control
	// frame that a read cut short by its context has not finished: a
	// ping whose pong is still to go out. The next read sends it first;
	// until then the peer, which waits for the pong, may send nothing
	// that would make epoll report the socket. The reader's goroutine
	// calls it. Set by package conn.
	ControlPending func(c any) bool
)
