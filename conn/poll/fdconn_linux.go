//go:build linux

package poll

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/internal/nbsys"
)

// fdConn is a net.Conn over a socket descriptor that the runtime's
// network poller does not know. A *net.TCPConn keeps, for as long as it is
// open, its netFD, two addresses and the runtime's poll descriptor (about
// 600 bytes with the runtime's share, more than the rest of an idle
// served connection); the poller's own epoll set already tells a worker
// when an idle socket is readable, so Serve moves the socket onto an
// fdConn (48 bytes) and closes the *net.TCPConn.
//
// Its reads and writes are nonblocking system calls. Only when one finds
// the socket not ready (EAGAIN: a worker waiting for the rest of a
// message, a write to a peer that does not read) does it wait, and it
// waits in the runtime's poller after all, through a duplicate descriptor
// wrapped in an *os.File that lives while some operation waits: the
// deadlines, Close and SetDeadline wake such a wait as they wake one on a
// *net.TCPConn. A wait costs five system calls (dup, fcntl, two
// epoll_ctl, close), an *os.File and one more attempt than a
// *net.TCPConn's, and waits are rare here: the poller hands a worker a
// socket that has data, and writes wait only for a full socket buffer.
//
// The descriptor has one owner, the fdConn: every use of it holds a
// reference (counted in state), and it is closed once Close was called
// and the last user is done, so that no operation ever reaches another
// socket that got the same number.
//
// A read, a write and a deadline change take no lock unless an operation
// waits: a worker makes four deadline changes, a read and a write for
// every message, and eight turns of a mutex were about a tenth of the
// poller's own instructions per message.
type fdConn struct {
	mu sync.Mutex
	// state is the references (operations using fd) in its low bits,
	// with stateClosed and stateWaiting.
	state atomic.Uint32
	fd    int32
	waits int32 // operations waiting in wf; under mu
	unix  bool  // an AF_UNIX socket: its addresses are *net.UnixAddr
	// The deadlines, as Unix nanoseconds; 0 is none.
	rdl, wdl atomic.Int64
	// wf is a duplicate of fd in the runtime's poller while some
	// operation waits for it (waits > 0), else nil; under mu.
	wf *os.File
}

// The bits of fdConn.state above the references.
const (
	// fdClosed is set once, by Close.
	fdClosed = 1 << 31
	// fdWaiting is set, under mu, while waits > 0: a deadline change
	// must then reach wf too.
	fdWaiting = 1 << 30
	fdRefs    = fdWaiting - 1
)

// newFDConn duplicates the socket of nc, a *net.TCPConn or a stream
// *net.UnixConn, into an fdConn. The caller closes nc afterwards, which
// takes it out of the runtime's poller; the socket lives on in the
// fdConn.
func newFDConn(nc net.Conn) (net.Conn, error) {
	isUnix := false
	switch nc := nc.(type) {
	case *net.TCPConn:
	case *net.UnixConn:
		if nc.LocalAddr().Network() != "unix" {
			return nil, ErrNotSocket // a datagram or packet socket
		}
		isUnix = true
	default:
		// Any other net.Conn, even one offering its descriptor, may do
		// something of its own on the way (count, log, encrypt).
		return nil, ErrNotSocket
	}
	rc, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = dupCloexec(int(s)) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	// O_NONBLOCK belongs to the open file, which both descriptors share:
	// the runtime set it.
	return &fdConn{fd: int32(fd), unix: isUnix}, nil
}

// dupCloexec duplicates fd. The system call never blocks: it is made
// without telling the scheduler (as the syscall package makes epoll_ctl),
// which otherwise may hand the goroutine's P to a new thread when the
// call is caught in progress, and a burst of accepted connections could
// leave dozens of idle threads behind.
func dupCloexec(fd int) (int, error) {
	for {
		r, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

// acquire takes a reference to the descriptor; false means it is closed.
func (c *fdConn) acquire() bool {
	for {
		s := c.state.Load()
		if s&fdClosed != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release drops a reference, and closes the descriptor when it was the
// last one after Close.
func (c *fdConn) release() {
	if s := c.state.Add(^uint32(0)); s&fdClosed != 0 && s&fdRefs == 0 {
		syscall.Close(int(c.fd))
	}
}

// closed reports whether Close was called.
func (c *fdConn) closed() bool { return c.state.Load()&fdClosed != 0 }

// Close closes the connection: operations waiting on it return
// net.ErrClosed at once, and the descriptor is closed as soon as no
// operation uses it.
func (c *fdConn) Close() error {
	c.mu.Lock()
	s := c.state.Or(fdClosed) // the state before
	if s&fdClosed != 0 {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	wf := c.wf
	last := s&fdRefs == 0
	c.mu.Unlock()
	if wf != nil {
		wf.Close() // wakes the waiting operations
	}
	if last {
		if err := syscall.Close(int(c.fd)); err != nil {
			return c.opErr("close", os.NewSyscallError("close", err))
		}
	}
	return nil
}

// CloseWrite shuts down the writing side of the socket (package conn
// half-closes a connection it failed, so that the peer reads the close
// frame before the end of the stream).
func (c *fdConn) CloseWrite() error {
	if !c.acquire() {
		return c.opErr("close", net.ErrClosed)
	}
	defer c.release()
	if err := syscall.Shutdown(int(c.fd), syscall.SHUT_WR); err != nil {
		return c.opErr("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}

func (c *fdConn) Read(b []byte) (int, error) {
	if !c.acquire() {
		return 0, c.opErr("read", net.ErrClosed)
	}
	defer c.release()
	if len(b) == 0 {
		return 0, nil
	}
	n, err := readFD(uintptr(c.fd), b)
	if err == syscall.EAGAIN {
		var werr error
		if n, err, werr = c.readWait(b); werr != nil {
			return 0, c.opErr("read", werr)
		}
	}
	switch {
	case err == nil && n == 0:
		return 0, io.EOF
	case err == nil:
		return n, nil
	}
	return 0, c.opErr("read", os.NewSyscallError("read", err))
}

// readFD makes one read system call, restarted when a signal interrupts
// it. The socket is nonblocking, and nbsys makes the call without the
// scheduler's bookkeeping.
func readFD(fd uintptr, b []byte) (int, error) {
	n, errno := nbsys.Read(int(fd), b)
	if errno != 0 {
		return n, errno
	}
	return n, nil
}

// readWait is Read once the socket had nothing: it waits and reads. err
// is the read system call's, werr the wait's.
func (c *fdConn) readWait(b []byte) (n int, err, werr error) {
	werr = c.wait(false, &c.rdl, func(fd uintptr) bool {
		n, err = readFD(fd, b)
		return err != syscall.EAGAIN
	})
	return n, err, werr
}

func (c *fdConn) Write(b []byte) (int, error) {
	if !c.acquire() {
		return 0, c.opErr("write", net.ErrClosed)
	}
	defer c.release()
	n, err := writeFD(uintptr(c.fd), b)
	if err == syscall.EAGAIN {
		k, werr, waitErr := c.writeWait(b[n:])
		n += k
		if waitErr != nil {
			return n, c.opErr("write", waitErr)
		}
		err = werr
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.ErrUnexpectedEOF:
		return n, c.opErr("write", err)
	}
	return n, c.opErr("write", os.NewSyscallError("write", err))
}

// writeFD writes b with as many write system calls as it takes, until
// all of it is written or one fails: with EAGAIN when the socket buffer
// is full.
func writeFD(fd uintptr, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, errno := nbsys.Write(int(fd), b[n:])
		if k > 0 {
			n += k
		}
		switch {
		case errno != 0:
			return n, errno
		case k == 0:
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}

// writeWait is Write once the socket buffer was full: it waits and
// writes the rest. err is the write system call's, werr the wait's.
func (c *fdConn) writeWait(b []byte) (n int, err, werr error) {
	werr = c.wait(true, &c.wdl, func(fd uintptr) bool {
		k, e := writeFD(fd, b[n:])
		n += k
		err = e
		return e != syscall.EAGAIN
	})
	return n, err, werr
}

// WriteBuffers writes the buffers of v, in order, consuming them, as
// net.Buffers.WriteTo does on a *net.TCPConn: with writev, so that a
// frame larger than the write buffer leaves with its header in one system
// call (package raw looks for this method).
func (c *fdConn) WriteBuffers(v *net.Buffers) (int64, error) {
	if !c.acquire() {
		return 0, c.opErr("writev", net.ErrClosed)
	}
	defer c.release()
	n, err := writevFD(uintptr(c.fd), v)
	if err == syscall.EAGAIN {
		k, werr, waitErr := c.writevWait(v)
		n += k
		if waitErr != nil {
			return n, c.opErr("writev", waitErr)
		}
		err = werr
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.ErrUnexpectedEOF:
		return n, c.opErr("writev", err)
	}
	return n, c.opErr("writev", os.NewSyscallError("writev", err))
}

// writevWait is WriteBuffers once the socket buffer was full.
func (c *fdConn) writevWait(v *net.Buffers) (n int64, err, werr error) {
	werr = c.wait(true, &c.wdl, func(fd uintptr) bool {
		var k int64
		k, err = writevFD(fd, v)
		n += k
		return err != syscall.EAGAIN
	})
	return n, err, werr
}

// writevFD writes and consumes v with as many writev system calls as it
// takes, until all of it is written or one fails: with EAGAIN when the
// socket buffer is full.
func writevFD(fd uintptr, v *net.Buffers) (int64, error) {
	var n int64
	for {
		var iov [8]syscall.Iovec
		k, size := 0, 0
		for _, b := range *v {
			if k == len(iov) {
				break
			}
			if len(b) > 0 {
				iov[k].Base = &b[0]
				iov[k].SetLen(len(b))
				k++
				size += len(b)
			}
		}
		if k == 0 {
			*v = (*v)[:0]
			return n, nil
		}
		r, errno := nbsys.Writev(int(fd), iov[:k], size)
		if errno != 0 {
			return n, errno
		}
		if r == 0 {
			return n, io.ErrUnexpectedEOF
		}
		n += int64(r)
		consume(v, int64(r))
	}
}

// consume drops the first n bytes of v.
func consume(v *net.Buffers, n int64) {
	for len(*v) > 0 {
		ln := int64(len((*v)[0]))
		if ln > n {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= ln
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}

// wait calls op, which makes one attempt at the operation and reports
// whether it is done, each time the socket may be readable (or writable,
// with write), until op is done (nil), the deadline dl passes
// (os.ErrDeadlineExceeded) or the connection is closed (net.ErrClosed).
// The caller holds a reference, and has just seen the socket not ready.
//
// Operations make their first attempt before they look at the deadline,
// as the runtime's poller, which marks a deadline passed only once its
// timer has run, in effect does too: a worker whose FrameWait is shorter
// than the time from its wake-up to its first read must still read the
// data that woke it, or it hands the connection back to epoll, which
// wakes it again, for ever.
//
// The attempts go inside the duplicate's RawConn.Read or Write, which
// makes the first one after the runtime has armed its wait: readiness
// that came between the caller's attempt and the duplicate's
// registration is found by that attempt rather than lost (the runtime's
// poller is edge-triggered, and forgets what came before an operation
// began).
func (c *fdConn) wait(write bool, dl *atomic.Int64, op func(fd uintptr) bool) error {
	if expired(dl.Load()) {
		return os.ErrDeadlineExceeded
	}
	c.mu.Lock()
	if c.closed() {
		c.mu.Unlock()
		return net.ErrClosed
	}
	// Set before the deadlines are read for wf: a deadline change stores
	// its deadline before it looks at state (setDeadlines), so that either
	// this wait reads the new deadline or the change sees fdWaiting and
	// gives it to wf.
	c.waits++
	if c.waits == 1 {
		c.state.Or(fdWaiting)
	}
	if c.wf == nil {
		fd, err := dupCloexec(int(c.fd))
		if err != nil {
			c.leaveWait()
			c.mu.Unlock()
			return os.NewSyscallError("fcntl", err)
		}
		// A nonblocking descriptor: NewFile registers it with the
		// runtime's poller.
		c.wf = os.NewFile(uintptr(fd), "")
		if d := c.rdl.Load(); d != 0 {
			c.wf.SetReadDeadline(deadlineTime(d))
		}
		if d := c.wdl.Load(); d != 0 {
			c.wf.SetWriteDeadline(deadlineTime(d))
		}
	}
	wf := c.wf
	c.mu.Unlock()

	rc, err := wf.SyscallConn()
	if err == nil {
		fd := uintptr(c.fd)
		f := func(uintptr) bool { return op(fd) }
		if write {
			err = rc.Write(f)
		} else {
			err = rc.Read(f)
		}
	}

	c.mu.Lock()
	c.leaveWait()
	last := c.waits == 0 && c.wf == wf
	if last {
		c.wf = nil
	}
	closed := c.closed()
	c.mu.Unlock()
	if last {
		wf.Close()
	}
	switch {
	case err == nil:
		return nil
	case closed:
		return net.ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return os.ErrDeadlineExceeded
	}
	return err
}

// leaveWait ends an operation's wait; under mu.
func (c *fdConn) leaveWait() {
	c.waits--
	if c.waits == 0 {
		c.state.And(^uint32(fdWaiting))
	}
}

func (c *fdConn) SetDeadline(t time.Time) error {
	d := unixNano(t)
	return c.setDeadlines(d, d)
}

func (c *fdConn) SetReadDeadline(t time.Time) error {
	return c.setDeadlines(unixNano(t), keepDeadline)
}

func (c *fdConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadlines(keepDeadline, unixNano(t))
}

// keepDeadline, given to setDeadlines, leaves a deadline as it is.
const keepDeadline = -1

// setDeadlines sets the read deadline to rd and the write deadline to
// wd, as Unix nanoseconds (0 for none, keepDeadline to leave one as it
// is). The poller sets them with one clock reading per message, without
// time.Time.
func (c *fdConn) setDeadlines(rd, wd int64) error {
	if rd != keepDeadline {
		c.rdl.Store(rd)
	}
	if wd != keepDeadline {
		c.wdl.Store(wd)
	}
	// An operation waiting now waits under the new deadline (see wait).
	if c.state.Load()&(fdClosed|fdWaiting) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed() {
		return c.opErr("set deadline", net.ErrClosed)
	}
	if c.wf != nil {
		if rd != keepDeadline {
			c.wf.SetReadDeadline(deadlineTime(rd))
		}
		if wd != keepDeadline {
			c.wf.SetWriteDeadline(deadlineTime(wd))
		}
	}
	return nil
}

// deadlineTime is the time.Time of a deadline in Unix nanoseconds.
func deadlineTime(d int64) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(0, d)
}

// unixNano is t as a deadline: 0 for none, and at least 1 (long past) for
// a time before 1970.
func unixNano(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Unix() <= 0:
		return 1
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func expired(d int64) bool { return d != 0 && time.Now().UnixNano() >= d }

// LocalAddr and RemoteAddr ask the kernel each time rather than keep the
// addresses in every connection. Once the connection is closed they
// return the zero address of its kind.
func (c *fdConn) LocalAddr() net.Addr  { return c.addr(syscall.Getsockname) }
func (c *fdConn) RemoteAddr() net.Addr { return c.addr(syscall.Getpeername) }

func (c *fdConn) addr(get func(int) (syscall.Sockaddr, error)) net.Addr {
	var sa syscall.Sockaddr
	if c.acquire() {
		sa, _ = get(int(c.fd))
		c.release()
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	if c.unix {
		return &net.UnixAddr{Net: "unix"}
	}
	return &net.TCPAddr{}
}

// opErr wraps err as a *net.Conn's errors are. Only the errors of system
// calls name the addresses: a timeout, which a worker meets whenever it
// was woken for less than a message, costs no system call to report.
func (c *fdConn) opErr(op string, err error) error {
	network := "tcp"
	if c.unix {
		network = "unix"
	}
	e := &net.OpError{Op: op, Net: network, Err: err}
	if _, ok := err.(*os.SyscallError); ok {
		e.Source, e.Addr = c.LocalAddr(), c.RemoteAddr()
	}
	return e
}

// SyscallConn gives raw access to the socket, as a *net.TCPConn's does:
// package raw waits for an idle socket through it with no buffer held,
// and the poller registers it with epoll.
func (c *fdConn) SyscallConn() (syscall.RawConn, error) { return (*rawFD)(c), nil }

// rawFD is an fdConn's syscall.RawConn.
type rawFD fdConn

func (r *rawFD) Control(f func(fd uintptr)) error {
	c := (*fdConn)(r)
	if !c.acquire() {
		return c.opErr("raw-control", net.ErrClosed)
	}
	defer c.release()
	f(uintptr(c.fd))
	return nil
}

func (r *rawFD) Read(f func(fd uintptr) bool) error {
	return (*fdConn)(r).raw("raw-read", &(*fdConn)(r).rdl, f, false)
}

func (r *rawFD) Write(f func(fd uintptr) bool) error {
	return (*fdConn)(r).raw("raw-write", &(*fdConn)(r).wdl, f, true)
}

// raw calls f until it reports done, waiting for the socket between
// calls, as RawConn.Read and Write do.
func (c *fdConn) raw(op string, dl *atomic.Int64, f func(fd uintptr) bool, write bool) error {
	if !c.acquire() {
		return c.opErr(op, net.ErrClosed)
	}
	defer c.release()
	if f(uintptr(c.fd)) {
		return nil
	}
	if err := c.wait(write, dl, f); err != nil {
		return c.opErr(op, err)
	}
	return nil
}
