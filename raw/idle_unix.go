//go:build unix

package raw

import (
	"io"
	"net"
	"os"
	"syscall"
)

// idleReader lets a connection with nothing buffered wait for data
// without holding a read buffer: it takes a pooled buffer only once the
// socket is readable, so a whole message arrives in one read system call
// and an idle connection still holds no buffer. Only sockets (TCP, Unix)
// offer this; TLS and pipes use the inline buffer instead.
type idleReader struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // c.readReady, bound once so reads do not allocate
	n   int
	err error
	got *[]byte
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
	c.idle = &idleReader{rc: rc}
	c.idle.fn = c.readReady
}

// readReady is called by the runtime poller when the socket may be
// readable; false means "not yet, wait again".
func (c *Conn) readReady(fd uintptr) bool {
	ir := c.idle
	bp := c.pool.Get(c.opts.ReadBufferSize)
	var n int
	var err error
	for {
		n, err = syscall.Read(int(fd), *bp)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN {
		c.pool.Put(bp)
		return false
	}
	if n <= 0 {
		c.pool.Put(bp)
		n = 0
		if err == nil {
			err = io.EOF
		}
	} else {
		ir.got = bp
	}
	ir.n, ir.err = n, err
	return true
}

// readIdle waits for data with no buffer held and installs the pooled
// buffer it arrived in. It reports false when the connection has no raw
// socket access.
func (c *Conn) readIdle() (bool, error) {
	ir := c.idle
	if ir == nil {
		return false, nil
	}
	ir.got, ir.n, ir.err = nil, 0, nil
	if err := ir.rc.Read(ir.fn); err != nil {
		return true, c.idleReadError(err)
	}
	if ir.got != nil {
		c.rpooled = ir.got
		c.rbuf = *ir.got
		c.r, c.w = 0, ir.n
		ir.got = nil
	}
	return true, c.idleReadError(ir.err)
}

// idleReadError makes an error of the wait or of the read system call read
// as net.Conn.Read's would: a *net.OpError of a "read" (RawConn.Read names
// its own operation "raw-read"; syscall.Read returns a bare errno).
func (c *Conn) idleReadError(err error) error {
	switch e := err.(type) {
	case *net.OpError:
		if e.Op == "raw-read" {
			oe := *e
			oe.Op = "read"
			return &oe
		}
	case syscall.Errno:
		return &net.OpError{Op: "read", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", e)}
	}
	return err
}
