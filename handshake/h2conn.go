package handshake

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// streamConn is the net.Conn of a WebSocket carried by an HTTP/2 stream
// (RFC 8441): it reads the peer's DATA frames from r and writes its own
// with w, flushing after each write so that a frame never waits in a
// buffer.
//
// net/http's HTTP/2 read deadlines end the stream for good, while the
// layers above (raw's context interrupter) expect a deadline to interrupt a
// read and the next read to go on. So the stream is read by a goroutine of
// its own, started by the first Read and living as long as the stream,
// one read at a time when a Read asks for one; a deadline only stops the
// wait for it, and its data is kept for the next Read. A Read costs no
// allocation. Write deadlines are net/http's (server) or a timer (client);
// an expired one ends the stream.
type streamConn struct {
	r     io.ReadCloser // the peer's half of the stream
	w     io.Writer     // ours
	flush func() error  // sends what w buffered, nil if w does not buffer

	setWriteDeadline func(time.Time) error
	onClose          func()          // ends our half of the stream and releases it
	closeWrite       func() error    // what CloseWrite does; nil if unsupported
	handlerDone      <-chan struct{} // server: closed once the handler returned

	local, remote net.Addr

	rmu sync.Mutex // one Read at a time

	// wake asks the reader goroutine for one read of buf[:want]; ready
	// tells Read that a read ended. Both hold at most one token: a token
	// left in ready by a read whose Read gave up only makes the next Read
	// look again.
	wake, ready chan struct{}

	mu      sync.Mutex // guards what follows
	started bool       // the reader goroutine runs
	reading bool       // it owns buf: a read is in flight
	buf     []byte     // buf[off:n] unread
	off, n  int
	want    int           // how much of buf the read in flight may fill
	rerr    error         // the error that ended the last read
	expired chan struct{} // closed once the read deadline has passed
	isExp   bool          // expired is closed
	rgen    uint64        // which deadline timer is current
	rtimer  *time.Timer
	closed  bool
	done    chan struct{} // closed by Close

	wmu     sync.Mutex // one Write at a time; held while writing
	wclosed bool       // under wmu

	// The write deadline reaches the stream only while a Write is in
	// flight: net/http resets an HTTP/2 stream whose write deadline has
	// passed even when nothing is being written, and raw's interrupter
	// can set one just after a write ended.
	wdmu      sync.Mutex
	wdeadline time.Time // as last set
	writing   bool      // a Write is in flight
	applied   bool      // the stream has a write deadline of ours
}

// interruptGrace is how long after an interrupt (a write deadline set in
// the past) a write in flight is cut: the write may have just ended, and
// its end clears the deadline before the stream is reset for nothing.
const interruptGrace = 10 * time.Millisecond

func newStreamConn(r io.ReadCloser, w io.Writer, flush func() error, local, remote net.Addr) *streamConn {
	return &streamConn{
		r: r, w: w, flush: flush,
		local: local, remote: remote,
		expired: make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		ready:   make(chan struct{}, 1),
	}
}

// Read reads the peer's data. It returns os.ErrDeadlineExceeded when the
// read deadline passes first; the data of the read then in flight is
// returned by the next Read.
func (c *streamConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		c.mu.Lock()
		if n := c.take(p); n > 0 {
			c.mu.Unlock()
			return n, nil
		}
		if c.closed {
			c.mu.Unlock()
			return 0, net.ErrClosed
		}
		if !c.reading && c.rerr != nil {
			err := c.rerr
			c.mu.Unlock()
			return 0, err
		}
		if c.isExp {
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		if !c.reading {
			// Size the buffer for what the caller asks, within reason:
			// the Raw session asks for little while a connection is idle.
			c.want = min(max(len(p), 128), 16<<10)
			if cap(c.buf) < c.want {
				c.buf = make([]byte, c.want)
			}
			c.reading = true
			if !c.started {
				c.started = true
				go c.readLoop()
			}
			c.wake <- struct{}{} // empty: the reader took the last token
		}
		expired := c.expired
		c.mu.Unlock()

		select {
		case <-c.ready:
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.done:
			return 0, net.ErrClosed
		case <-c.handlerDone:
			return 0, errHandlerDone
		}
	}
}

// readLoop is the reader goroutine: it reads the stream once per token in
// wake, owning buf while it does, until the stream ends or is closed.
func (c *streamConn) readLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		buf := c.buf[:c.want]
		c.mu.Unlock()
		n, err := c.r.Read(buf)
		if n == 0 && err == nil {
			err = io.ErrNoProgress
		}
		c.mu.Lock()
		c.off, c.n = 0, n
		if err != nil {
			c.rerr = err
		}
		c.reading = false
		c.mu.Unlock()
		select {
		case c.ready <- struct{}{}:
		default: // a token is there already
		}
		if err != nil {
			return
		}
	}
}

// take copies unread data to p; c.mu is held.
func (c *streamConn) take(p []byte) int {
	if c.reading || c.off >= c.n {
		return 0
	}
	n := copy(p, c.buf[c.off:c.n])
	c.off += n
	return n
}

// Write writes p and flushes it to the peer.
func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return 0, net.ErrClosed
	}
	select {
	case <-c.handlerDone:
		return 0, errHandlerDone
	default:
	}
	if err := c.beginWrite(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if err == nil && c.flush != nil {
		err = c.flush()
	}
	c.endWrite()
	return n, err
}

// beginWrite gives the stream the write deadline for the write about to
// start, or fails it, writing nothing, if the deadline has passed.
func (c *streamConn) beginWrite() error {
	c.wdmu.Lock()
	defer c.wdmu.Unlock()
	if !c.wdeadline.IsZero() {
		if !c.wdeadline.After(time.Now()) {
			return os.ErrDeadlineExceeded
		}
		c.applyWriteDeadline(c.wdeadline)
	}
	c.writing = true
	return nil
}

// endWrite takes the write deadline back from the stream.
func (c *streamConn) endWrite() {
	c.wdmu.Lock()
	defer c.wdmu.Unlock()
	c.writing = false
	if c.applied {
		c.applyWriteDeadline(time.Time{})
	}
}

// applyWriteDeadline sets t on the stream; c.wdmu is held. A time in the
// past is put interruptGrace ahead.
func (c *streamConn) applyWriteDeadline(t time.Time) {
	if c.setWriteDeadline == nil {
		return
	}
	if !t.IsZero() {
		if now := time.Now(); !t.After(now) {
			t = now.Add(interruptGrace)
		}
	}
	c.setWriteDeadline(t)
	c.applied = !t.IsZero()
}

// Close ends the stream: a read or write in progress returns, and what
// ends our half of the stream is done (see onClose).
func (c *streamConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	close(c.done)
	if c.rtimer != nil {
		c.rtimer.Stop()
	}
	c.mu.Unlock()
	c.r.Close() // ends the reader goroutine
	if !c.wmu.TryLock() {
		// A write is blocked, on flow control most likely; only an
		// expired deadline makes net/http give it up.
		c.SetWriteDeadline(time.Unix(1, 0))
		c.wmu.Lock()
	}
	c.wclosed = true
	c.wmu.Unlock()
	if c.onClose != nil {
		c.onClose()
	}
	return nil
}

// CloseWrite is how a session that fails the connection stops sending
// while it waits for the peer to end (TCP's half-close). A server ends the
// whole stream instead: net/http's handler cannot end its half alone, and
// unlike a TCP reset, ending a stream destroys nothing sent before it. A
// client reports errors.ErrUnsupported and keeps the stream open.
func (c *streamConn) CloseWrite() error {
	if c.closeWrite == nil {
		return errors.ErrUnsupported
	}
	return c.closeWrite()
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets when a Read gives up waiting; it does not end the
// stream.
func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.rgen++
	if c.rtimer != nil {
		c.rtimer.Stop()
		c.rtimer = nil
	}
	if c.isExp {
		c.expired, c.isExp = make(chan struct{}), false
	}
	if t.IsZero() {
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		close(c.expired)
		c.isExp = true
		return nil
	}
	gen := c.rgen
	c.rtimer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if gen == c.rgen && !c.isExp {
			close(c.expired)
			c.isExp = true
		}
	})
	return nil
}

// SetWriteDeadline sets when a Write fails. A deadline that passes while
// a write is in flight ends the stream (net/http cannot take back what it
// cut short); one that has passed when a write begins fails that write,
// writing nothing, and leaves the stream as it was.
func (c *streamConn) SetWriteDeadline(t time.Time) error {
	c.wdmu.Lock()
	defer c.wdmu.Unlock()
	c.wdeadline = t
	if c.writing && (c.applied || !t.IsZero()) {
		c.applyWriteDeadline(t)
	}
	return nil
}

// streamAddr is the address of an end of a stream whose connection's
// address is unknown.
type streamAddr string

func (a streamAddr) Network() string { return "tcp" }
func (a streamAddr) String() string  { return string(a) }
