//go:build unix

package raw

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultReadSpin is how long ReadAhead polls a socket, by default,
// before it waits in the runtime's poller (see SetReadSpin).
const DefaultReadSpin = 50 * time.Microsecond

// maxSpinBackoff bounds how many waits follow a spin that found nothing
// before the next spin: 2^maxSpinBackoff - 1.
const maxSpinBackoff = 10

// spinners counts the spins under way in the process, every connection's:
// the processors are the process's, whoever spins on them.
var spinners atomic.Int32

// readSpin is the state of a socket's spin before its waits, in its
// idleReader: how long a spin may last, and how many waits to make
// without one after spins that found nothing.
type readSpin struct {
	us      uint16 // spin length in microseconds; 0: never spin
	skip    uint16 // waits left before the next spin
	backoff uint8  // spins in a row that found nothing, at most maxSpinBackoff
	armed   bool   // the wait under way is ReadAhead's, which may spin
}

// SetReadSpin sets how long ReadAhead polls the socket for the peer's
// next message before it waits in the runtime's poller, and d <= 0 turns
// this off; a Conn starts with DefaultReadSpin. Call it before reading,
// not while a read is in progress. It does nothing on a connection that
// is not a TCP or Unix socket.
//
// On a connection whose peer answers within d (an RPC or trading client,
// a request-reply loop over one connection), the answer then finds the
// reader awake: a wake-up from the poller is what a round trip costs most
// on an idle machine, where its thread has gone to sleep. Measured on
// one connection of a quiet 2-core machine (bench/, scenario single), the
// echo's round trip fell by half, and the server's CPU per message by a
// third (a sleep and a wake-up cost more than the spin). A spin that finds
// nothing makes the next ones
// rarer: after k in a row, the next 2^k - 1 waits (up to 1023) do not
// spin, so a connection whose peer is slow or idle costs at most a spin
// every thousand messages. A spin during which another thread took the
// processor counts as one that found nothing: on a busy machine a
// wake-up is cheap, and the spin would hold a processor others want. At
// most GOMAXPROCS/2 connections of the process spin at once, so none do
// with GOMAXPROCS at 1.
func (c *Conn) SetReadSpin(d time.Duration) {
	if c.idle == nil {
		return
	}
	us := d.Microseconds()
	switch {
	case us <= 0:
		us = 0
	case us > 1<<16-1:
		us = 1<<16 - 1
	}
	c.idle.spin = readSpin{us: uint16(us)}
}

// trySpin polls fd for up to the spin length, reading into b, when the
// connection's spin state allows: the result of the first read that did
// not find the socket empty, or EAGAIN when none did or no spin was made.
func (s *readSpin) trySpin(fd int, b []byte) (int, error) {
	if !s.armed || s.us == 0 {
		return 0, syscall.EAGAIN
	}
	if s.skip > 0 {
		s.skip--
		return 0, syscall.EAGAIN
	}
	// At most half the processors spin at once (none with GOMAXPROCS at
	// 1): a spin holds its processor, which goroutines with work to do
	// must still find.
	if n := spinners.Add(1); n > int32(runtime.GOMAXPROCS(0)/2) {
		spinners.Add(-1)
		return 0, syscall.EAGAIN
	}
	defer spinners.Add(-1)
	limit := time.Duration(s.us) * time.Microsecond
	switches := preemptions()
	start := time.Now()
	for {
		n, err := readNoEINTR(fd, b)
		if err != syscall.EAGAIN {
			if preemptions() == switches {
				s.backoff = 0
			} else {
				s.missed()
			}
			return n, err
		}
		if time.Since(start) >= limit {
			break
		}
	}
	s.missed()
	return 0, syscall.EAGAIN
}

// missed makes spins rarer after one that found nothing, or that another
// thread took the processor from: on a busy machine the wake-up a spin
// saves is cheap, and the processor it holds is not its to hold.
func (s *readSpin) missed() {
	s.backoff = min(s.backoff+1, maxSpinBackoff)
	s.skip = 1<<s.backoff - 1
}

func readNoEINTR(fd int, b []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
