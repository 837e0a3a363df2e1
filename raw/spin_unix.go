//go:build unix

package raw

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// TypicalReadSpin, 50 µs, covers a round trip over loopback or a LAN
// with a peer that answers at once: a length to give SetReadSpin.
const TypicalReadSpin = 50 * time.Microsecond

// maxSpinBackoff bounds how many waits follow a spin that found nothing
// before the next spin: 2^maxSpinBackoff - 1.
const maxSpinBackoff = 10

// spinGap is the longest turn of the default spin's loop: a read that
// finds nothing and a Gosched that finds no one take about a
// microsecond, so a turn that took longer ran other goroutines or lost
// the processor to another thread, a sign of other work that the spin
// would take time from.
const spinGap = 20 * time.Microsecond

// spinners counts the spins under way in the process, every connection's:
// the processors are the process's, whoever spins on them.
var spinners atomic.Int32

// lastReader is the idle reader of the connection whose read last found
// data, of every connection in the process, with againBit set once its
// reads have found data twice in a row. A connection with the default
// spin (SetReadSpin's 0) spins only while it is this one, again: while it
// is the one connection receiving. With others receiving, a spin would
// take a processor they, or their peers on the same machine, need (16
// busy connections lost a third of their echo rate to spins); a busy
// process's threads seldom sleep, which is what a spin saves; and among
// many connections that each receive now and then, the one that read
// last is seldom the one that reads next.
//
// It holds the reader's address, not a pointer: it must not keep a
// closed connection's socket reachable. Should a new reader be given the
// address of a collected one that was last, it may spin once too often.
var lastReader atomic.Uintptr

// againBit marks lastReader's reader as having read twice in a row (an
// idleReader's address is a multiple of 8).
const againBit = 1

// readerID is ir's identity in lastReader.
func readerID(ir *idleReader) uintptr { return uintptr(unsafe.Pointer(ir)) }

// noteRead records that ir's connection has just read data. The store is
// skipped while it already read last, again, so that one busy connection
// does not write a shared word per read.
func noteRead(ir *idleReader) {
	id := readerID(ir)
	switch lastReader.Load() {
	case id | againBit:
	case id:
		lastReader.Store(id | againBit)
	default:
		lastReader.Store(id)
	}
}

// aloneAgain reports whether ir's connection read last, and the time
// before too.
func aloneAgain(ir *idleReader) bool { return lastReader.Load() == readerID(ir)|againBit }

// stillLast reports whether no other connection has read since ir's did.
func stillLast(ir *idleReader) bool { return lastReader.Load()&^againBit == readerID(ir) }

// readSpin is the state of a socket's spin before its waits, in its
// idleReader: how long a spin may last, whether it spins only while
// its connection is the only one receiving, how many waits to make
// without one after spins that found nothing, and the flags by which
// readReady tells the spin that the socket was empty.
type readSpin struct {
	us      uint16 // spin length in microseconds; 0: never spin
	skip    uint16 // waits left before the next spin
	backoff uint8  // spins in a row that found nothing, at most maxSpinBackoff
	lone    bool   // spin only while this connection alone reads (lastReader)
	probe   bool   // a spin is reading: readReady must not wait
	empty   bool   // readReady found the socket empty
}

// defaultSpin is a socket's spin until SetReadSpin: TypicalReadSpin,
// while its connection is the only one of the process receiving.
var defaultSpin = readSpin{us: uint16(TypicalReadSpin / time.Microsecond), lone: true}

// SetReadSpin sets how ReadAhead polls the socket for the peer's next
// message before it waits in the runtime's poller: d > 0 polls for up to
// d before every wait; d == 0, the default, polls for up to
// TypicalReadSpin, but only while this connection is the only one of the
// process that receives (its last two reads were the process's last two:
// a client's one connection, a server with one busy connection among
// idle ones), and stops as soon as another connection reads or other
// goroutines or threads want the processor; d < 0 never polls. Call it before
// reading, not while a read is in progress. It does nothing on a
// connection that is not a TCP or Unix socket.
//
// On a connection whose peer answers within the spin (an RPC or trading
// client, a request-reply loop over one connection), the answer then
// finds the reader awake: a wake-up from the poller is what a round trip
// costs most on an idle machine, where its thread has gone to sleep.
// Measured on one connection of a quiet 2-core machine (bench/, scenario
// single), the echo's round trip fell by half, and the server's CPU per
// message by a fifth (a sleep and a wake-up cost more than the spin).
// With 16 busy connections on the same 2 cores, spinning before every
// wait (d > 0) took the processors the peers needed and cut the echo's
// msg/s by a third; the default does not spin there, as another
// connection reads between any one's messages, and a spin under way
// ends as soon as another connection reads. d > 0 is for a connection
// that matters more than the machine's other work.
//
// A spin that finds nothing makes the next ones rarer: after k in a row,
// the next 2^k - 1 waits (up to 1023) do not spin, so a connection whose
// peer is slow or idle costs at most a spin every thousand messages.
// Between its reads a spin yields to the goroutines that have work
// (Gosched), and at most GOMAXPROCS/2 connections of the process spin at
// once, so none do with GOMAXPROCS at 1.
func (c *Conn) SetReadSpin(d time.Duration) {
	if c.idle == nil {
		return
	}
	us := d.Microseconds()
	switch {
	case d == 0:
		c.idle.spin = defaultSpin
		return
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
	if s.lone && !aloneAgain(ir) {
		// Others receive: they keep the process's threads awake.
		return false, nil
	}
	// At most half the processors spin at once (none with GOMAXPROCS at
	// 1): a spin holds its processor, which goroutines with work to do
	// must still find.
	if n := spinners.Add(1); n > int32(runtime.GOMAXPROCS(0)/2) {
		spinners.Add(-1)
		return false, nil
	}
	// Little of this frame is live during the reads, which go as deep
	// as a wait's: a spin must not grow the stack that readIdle's wait
	// keeps at 2 KiB.
	start := sinceBase()
	last := start
	s.probe = true
	for {
		s.empty = false
		if err := ir.rc.Read(ir.fn); err != nil || !s.empty {
			return c.spinFound(err)
		}
		var on bool
		if last, on = s.spinOn(ir, start, last); !on {
			break
		}
	}
	s.probe = false
	spinners.Add(-1)
	s.missed()
	return false, nil
}

// spinFound ends a spin whose read found data, or an error.
func (c *Conn) spinFound(err error) (bool, error) {
	s := &c.idle.spin
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

// spinOn is a spin's turn between two reads that found nothing: it lets
// goroutines with work to do go first, so that the spin only takes what
// would otherwise be the processor's idle time (a spin that they outlast
// counts as one that found nothing), and reports the time and whether to
// read again.
// The default spin also ends as soon as the process or the machine shows
// other work: another connection read, or a turn took long enough that
// other goroutines ran or the thread was preempted.
func (s *readSpin) spinOn(ir *idleReader, start, last time.Duration) (time.Duration, bool) {
	runtime.Gosched()
	now := sinceBase()
	if now-start >= time.Duration(s.us)*time.Microsecond {
		return now, false
	}
	if s.lone && (now-last > spinGap || !stillLast(ir)) {
		return now, false
	}
	return now, true
}

// clockBase makes sinceBase a monotonic clock that needs no time.Time
// in the spin's frame.
var clockBase = time.Now()

func sinceBase() time.Duration { return time.Since(clockBase) }

// missed makes spins rarer after one that found nothing.
func (s *readSpin) missed() {
	s.backoff = min(s.backoff+1, maxSpinBackoff)
	s.skip = 1<<s.backoff - 1
}

// readNoEINTR reads fd, again when a signal interrupted the read. Its
// errno is 0 when the read succeeded: an errno compares with EAGAIN as a
// number, where two error values of the same type cost a runtime call
// (every wait of a goroutine-served socket begins with a read that finds
// it empty).
func readNoEINTR(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, err := syscall.Read(fd, b)
		if err == nil {
			return n, 0
		}
		// syscall.Read's errors are Errnos.
		if errno, _ := err.(syscall.Errno); errno != syscall.EINTR {
			return n, errno
		}
	}
}
