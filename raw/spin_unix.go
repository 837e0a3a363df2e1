//go:build unix

package raw

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// TypicalReadSpin, 50 µs, covers a round trip over loopback or a LAN
// with a peer that answers at once: a length to give SetReadSpin.
const TypicalReadSpin = 50 * time.Microsecond

// maxSpinBackoff bounds how many waits follow a spin that found nothing
// before the next spin: 2^maxSpinBackoff - 1.
const maxSpinBackoff = 10

// spinners counts the spins under way in the process, every connection's:
// the processors are the process's, whoever spins on them.
var spinners atomic.Int32

// readSpin is the state of a socket's spin before its waits, in its
// idleReader: how long a spin may last, how many waits to make without
// one after spins that found nothing, and the flags by which readReady
// tells the spin that the socket was empty.
type readSpin struct {
	us      uint16 // spin length in microseconds; 0: never spin
	skip    uint16 // waits left before the next spin
	backoff uint8  // spins in a row that found nothing, at most maxSpinBackoff
	probe   bool   // a spin is reading: readReady must not wait
	empty   bool   // readReady found the socket empty
}

// SetReadSpin sets how long ReadAhead polls the socket for the peer's
// next message before it waits in the runtime's poller; d <= 0, the
// default, turns this off. Call it before reading,
// not while a read is in progress. It does nothing on a connection that
// is not a TCP or Unix socket.
//
// On a connection whose peer answers within d (an RPC or trading client,
// a request-reply loop over one connection), the answer then finds the
// reader awake: a wake-up from the poller is what a round trip costs most
// on an idle machine, where its thread has gone to sleep. Measured on
// one connection of a quiet 2-core machine (bench/, scenario single), the
// echo's round trip fell by half, and the server's CPU per message by a
// fifth (a sleep and a wake-up cost more than the spin); but with 16
// busy connections on the same 2 cores, spins took the processors the
// peers needed and cut the echo's msg/s by a third, which is why spinning
// is for a connection that matters more than the machine's other work,
// and off by default. A spin that
// finds nothing makes the next ones rarer: after k in a row, the next
// 2^k - 1 waits (up to 1023) do not spin, so a connection whose peer is
// slow or idle costs at most a spin every thousand messages. Between
// its reads a spin yields to the goroutines that have work (Gosched), so
// it only takes time the processor would have spent idle, and at most
// GOMAXPROCS/2 connections of the process spin at once, so none do with
// GOMAXPROCS at 1.
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

// spinRead is ReadAhead's spin before its wait: when the connection's
// spin state allows, it reads the socket without waiting until data (or
// an error) comes or the spin length is over. It reports whether it read
// something, with readIdle's error; false means the caller waits. It
// runs at ReadAhead's depth, and its reads at readIdle's, so that the
// spin needs no more stack than the wait (see ReadAhead).
func (c *Conn) spinRead() (bool, error) {
	ir := c.idle
	s := &ir.spin
	if s.us == 0 {
		return false, nil
	}
	if s.skip > 0 {
		s.skip--
		return false, nil
	}
	// At most half the processors spin at once (none with GOMAXPROCS at
	// 1): a spin holds its processor, which goroutines with work to do
	// must still find.
	if n := spinners.Add(1); n > int32(runtime.GOMAXPROCS(0)/2) {
		spinners.Add(-1)
		return false, nil
	}
	limit := time.Duration(s.us) * time.Microsecond
	start := time.Now()
	s.probe = true
	for {
		s.empty = false
		err := ir.rc.Read(ir.fn)
		if err != nil || !s.empty {
			s.probe = false
			spinners.Add(-1)
			if err != nil {
				// Closed or broken: the wait finds the same.
				return false, nil
			}
			s.backoff = 0
			err = c.rerr
			c.rerr = nil
			return true, c.idleReadError(err)
		}
		// Goroutines with work to do go first: the spin only takes what
		// would otherwise be the processor's idle time, and a spin that
		// they outlast counts as one that found nothing.
		runtime.Gosched()
		if time.Since(start) >= limit {
			break
		}
	}
	s.probe = false
	spinners.Add(-1)
	s.missed()
	return false, nil
}

// missed makes spins rarer after one that found nothing.
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
