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
// read and the next read to go on. So reads run in a goroutine of their
// own, one at a time, and a deadline only stops the wait for it: its data
// is kept for the next Read. Write deadlines are net/http's (server) or a
// timer (client); an expired one ends the stream.
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

	mu      sync.Mutex    // guards what follows
	pending chan struct{} // closed when the read in flight ends; nil if none
	buf     []byte        // the reader goroutine's buffer; buf[off:n] unread
	off, n  int
	rerr    error         // the error that ended the last read
	expired chan struct{} // closed once the read deadline has passed
	isExp   bool          // expired is closed
	rgen    uint64        // which deadline timer is current
	rtimer  *time.Timer
	closed  bool
	done    chan struct{} // closed by Close

	wmu     sync.Mutex // one Write at a time; held while writing
	wclosed bool       // under wmu
}

func newStreamConn(r io.ReadCloser, w io.Writer, flush func() error, local, remote net.Addr) *streamConn {
	return &streamConn{
		r: r, w: w, flush: flush,
		local: local, remote: remote,
		expired: make(chan struct{}),
		done:    make(chan struct{}),
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
	c.mu.Lock()
	if n := c.take(p); n > 0 {
		c.mu.Unlock()
		return n, nil
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.pending == nil && c.rerr != nil {
		err := c.rerr
		c.mu.Unlock()
		return 0, err
	}
	if c.isExp {
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	if c.pending == nil {
		// Size the buffer for what the caller asks, within reason: the
		// Raw session asks for little while a connection is idle.
		want := min(max(len(p), 128), 16<<10)
		if cap(c.buf) < want {
			c.buf = make([]byte, want)
		}
		c.pending = make(chan struct{})
		go c.readBody(c.buf[:want], c.pending)
	}
	pending, expired := c.pending, c.expired
	c.mu.Unlock()

	select {
	case <-pending:
	case <-expired:
		return 0, os.ErrDeadlineExceeded
	case <-c.done:
		return 0, net.ErrClosed
	case <-c.handlerDone:
		return 0, errHandlerDone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = nil
	if n := c.take(p); n > 0 {
		return n, nil
	}
	return 0, c.rerr
}

// readBody is the reader goroutine: it owns buf until it closes done.
func (c *streamConn) readBody(buf []byte, done chan struct{}) {
	n, err := c.r.Read(buf)
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	c.mu.Lock()
	c.off, c.n = 0, n
	if err != nil {
		c.rerr = err
	}
	close(done)
	c.mu.Unlock()
}

// take copies unread data to p; c.mu is held.
func (c *streamConn) take(p []byte) int {
	if c.pending != nil || c.off >= c.n {
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
	n, err := c.w.Write(p)
	if err == nil && c.flush != nil {
		err = c.flush()
	}
	return n, err
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

// SetWriteDeadline sets when a Write fails. On HTTP/2 an expired write
// deadline ends the stream: what was cut short cannot be taken back.
func (c *streamConn) SetWriteDeadline(t time.Time) error {
	if c.setWriteDeadline == nil {
		return nil
	}
	return c.setWriteDeadline(t)
}

// streamAddr is the address of an end of a stream whose connection's
// address is unknown.
type streamAddr string

func (a streamAddr) Network() string { return "tcp" }
func (a streamAddr) String() string  { return string(a) }
