//go:build unix

package raw

import (
	"context"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/hybi-go/hybi/internal/nbsys"
)

// idleReader lets a connection with nothing buffered wait for data
// without holding a read buffer: it takes a pooled buffer only once the
// socket is readable, so a whole message arrives in one read system call
// and an idle connection still holds no buffer. Only sockets (TCP, Unix)
// offer this; TLS and pipes use the inline buffer instead.
//
// It holds only what lasts: what one wait read goes straight into the
// Conn's read buffer, and its error into Conn.rerr (24 bytes here,
// not 64, for every connection).
type idleReader struct {
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // c.readReady, bound once so reads do not allocate
	spin readSpin              // owned by the reader, set by SetReadSpin
}

func (c *Conn) initIdle() {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.idle = &idleReader{rc: rc, spin: defaultSpin}
	c.idle.fn = c.readReady
}

// rebindIdle points the idle reader at nc's socket, and reports whether
// nc is one.
func (c *Conn) rebindIdle(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	c.idle.rc = rc
	return true
}

// idleEmpty and idleRead look into and read the idle reader's socket: a
// TCP or Unix socket's (flagSock), which the runtime made nonblocking,
// through package nbsys, without the scheduler's bookkeeping; any other
// syscall.Conn's through package syscall, as its descriptor may block.
func (c *Conn) idleEmpty(fd uintptr) bool {
	if c.flags&flagSock != 0 {
		return nbsys.Empty(int(fd))
	}
	return sockEmpty(fd)
}

func (c *Conn) idleRead(fd uintptr, b []byte) (int, syscall.Errno) {
	if c.flags&flagSock != 0 {
		return nbsys.Read(int(fd), b)
	}
	return readNoEINTR(int(fd), b)
}

// readReady is called by the runtime poller when the socket may be
// readable; false means "not yet, wait again".
//
// Its first call of a wait is made before the poller has said anything
// (the runtime forgets the socket's readiness when a read begins), and
// in a request-reply exchange finds the socket empty every time. When
// the last first call did, the next one looks first (idleEmpty) and
// takes a pooled buffer only for data: a read that finds nothing costs
// the system call alone. When the look finds data, the reads of the
// following waits go straight in again.
func (c *Conn) readReady(fd uintptr) bool {
	first := c.firstTry
	c.firstTry = false
	if len(c.rbuf) > 0 {
		// A buffer ReadAheadInto lent (a socket's is otherwise pooled,
		// and there is none while readIdle waits).
		return c.readLent(fd)
	}
	if first && c.peekFirst {
		if c.idleEmpty(fd) {
			c.drained = true
			c.sendHeld()
			return false
		}
		c.peekFirst = false
	}
	size := c.readSize()
	bp := pool.Get(size)
	n, errno := c.idleRead(fd, *bp)
	c.drained = n < len(*bp) // also for EAGAIN and errors: n is -1
	if errno == syscall.EAGAIN {
		// Nothing more to read: the frames held back for a burst of
		// input go out before this reader waits, or spins.
		c.sendHeld()
		pool.Put(bp)
		if first {
			c.peekFirst = true
		}
		if c.idle.spin.probe {
			// spinRead's read: it, not the poller, decides whether to
			// try again.
			c.idle.spin.empty = true
			return true
		}
		return false
	}
	if c.remain == 0 {
		// At a frame boundary: the tail of a frame that straddled the
		// last read says nothing about how much the peer sends.
		c.adaptRead(n, size)
	}
	if n <= 0 {
		pool.Put(bp)
		c.rerr = io.EOF
		if errno != 0 {
			c.rerr = errno
		}
		return true
	}
	noteRead(c.idle)
	// readIdle is called with no pooled buffer and nothing unread (and
	// rerr nil); a read that returned bytes returned no error.
	c.rpooled = bp
	c.rbuf = *bp
	c.r, c.w = 0, n
	return true
}

// readLent is readReady's read into the buffer ReadAheadInto lent, of
// at most nbsys.MaxDirect bytes: a larger read would go through package
// syscall, deeper than the 2 KiB of stack a waiting goroutine keeps (see
// ReadAheadInto), which a goroutine that read a large message into its
// own buffer (bytes.Buffer.ReadFrom) outgrew by 16 bytes.
func (c *Conn) readLent(fd uintptr) bool {
	b := c.rbuf[c.w:]
	b = b[:min(len(b), nbsys.MaxDirect)]
	n, errno := nbsys.Read(int(fd), b) // only a TCP or Unix socket's is lent
	c.drained = n < len(b)
	if errno == syscall.EAGAIN {
		c.sendHeld()
		return false
	}
	if n <= 0 {
		c.rerr = io.EOF
		if errno != 0 {
			c.rerr = errno
		}
		return true
	}
	noteRead(c.idle)
	c.w += n
	return true
}

// readIdle waits for data with no buffer held and installs the pooled
// buffer it arrived in, or, with the buffer ReadAheadInto lent, reads
// into that. It reports false when the connection has no raw socket
// access.
func (c *Conn) readIdle() (bool, error) {
	ir := c.idle
	if ir == nil {
		return false, nil
	}
	// rerr is nil here (every read returns it first): readReady
	// leaves the read system call's error there, for the caller to
	// report and, through failRead, to make sticky.
	c.firstTry = true
	return true, c.readIdleDone(ir.rc.Read(ir.fn))
}

// readIdleDone is the end of readIdle, once the wait is over (err is
// the wait's). It is apart from readIdle, and not inlined, so that its
// locals are not on the stack beneath the wait and the read that ends
// it, where a goroutine's stack is deepest.
//
//go:noinline
func (c *Conn) readIdleDone(err error) error {
	// The runtime may return without calling readReady (a deadline
	// already past, a closed socket): a spin's read after this one must
	// not take itself for the first read of a wait.
	c.firstTry = false
	if err == nil {
		err = c.rerr
	}
	c.rerr = nil
	if err != nil {
		err = c.idleReadError(err)
	}
	return err
}

// idleReadError makes an error of the wait or of the read system call read
// as net.Conn.Read's would.
func (c *Conn) idleReadError(err error) error { return c.ioError("read", "raw-read", err) }

// ioError makes an error of a syscall.RawConn's wait, or of the system
// call made in it, read as the same operation's through net.Conn would:
// a *net.OpError of op (RawConn names its own operation rawOp; a system
// call returns a bare errno).
func (c *Conn) ioError(op, rawOp string, err error) error {
	switch e := err.(type) {
	case *net.OpError:
		if e.Op == rawOp {
			oe := *e
			oe.Op = op
			return &oe
		}
	case syscall.Errno:
		return c.opError(op, os.NewSyscallError(op, e))
	}
	return err
}

// opError is err as net.Conn's op reports it.
func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}

// ReadAhead waits, when nothing of the next frame has arrived yet, until
// the peer sends, and reads what arrived into the read buffer, so that the
// NextFrame after it finds the header there. It does nothing when bytes
// are buffered, a frame's payload is still to be read, or the connection
// is not a socket.
//
// It is for a goroutine that serves one connection: called at a shallow
// point of its stack (package conn calls it at the top of Reader), the
// wait for an idle peer, and the read system call that ends it, are made
// with a short stack rather than at the bottom of NextFrame's. A
// goroutine's stack grows when a call goes deeper than it has room for,
// and the runtime never gives it back while the goroutine waits, so one
// deep wait makes every idle connection hold a 4 KiB stack instead of
// 2 KiB.
//
// ctx bounds the wait as it bounds NextFrame: when it is done ReadAhead
// returns ctx.Err() and the connection stays usable. Any other error is
// kept, and returned by the next NextFrame, as its own would be.
func (c *Conn) ReadAhead(ctx context.Context) error {
	if c.rerr != nil || c.remain > 0 || c.r < c.w || c.rpooled != nil || c.idle == nil {
		return nil
	}
	armed := c.arm(false, ctx)
	// Only this wait, for the peer's next message, may spin first.
	read, err := c.spinRead()
	if !read {
		_, err = c.readIdle()
	}
	if armed {
		c.disarm(false)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && isTimeout(err) {
		return ctx.Err()
	}
	return c.failRead(err)
}

// ReadAheadInto is ReadAhead for the payload of the current frame, made
// just before a Read(p) of it: when nothing is buffered and part of the
// frame's payload is still to come, it waits for the peer here, at a
// shallow point of the goroutine's stack, and reads what arrived, which
// the Read after it returns. On a TCP or Unix socket, a p at least as
// large as the buffer reads go through is read into straight (p is lent
// to the connection until that Read, which then copies nothing);
// otherwise the read goes through a pooled buffer. It does nothing when
// bytes are buffered, no payload is left, or the connection is not a
// socket.
//
// ctx bounds the wait as it bounds Read: when it is done ReadAheadInto
// returns ctx.Err() and nothing is lost. Any other error is kept, and
// returned by the Read, as its own would be; a peer that goes away in
// the payload is io.ErrUnexpectedEOF.
func (c *Conn) ReadAheadInto(ctx context.Context, p []byte) error {
	if c.remain == 0 || c.rerr != nil || c.r < c.w || c.idle == nil || len(p) == 0 {
		return nil
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	c.releaseReadBuf() // drained: the pooled buffer goes back while the peer is awaited
	c.r, c.w = 0, 0
	if len(p) >= c.readSize() && c.flags&flagSock != 0 {
		c.rbuf = p
	}
	armed := c.arm(false, ctx)
	_, err := c.readIdle()
	if armed {
		c.disarm(false)
	}
	if c.w == 0 && c.rpooled == nil {
		c.rbuf = nil // nothing read into p: no longer lent
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && isTimeout(err) {
		return ctx.Err()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return c.failRead(err)
}
