//go:build unix

package raw

import (
	"io"
	"math/bits"
	"net"
	"sync"
	"syscall"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/nbsys"
)

// initSockWrite lets a TCP or Unix socket's frames that fit in one write
// buffer be written by sockWrite. Only those types: a net.Conn that wraps
// one (to count or shape what it writes) has its Write called, as always.
func (c *Conn) initSockWrite() {
	switch c.nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		if c.idle != nil {
			c.flags |= flagSock
		}
	}
}

// directFrame returns the frame h, p in a pooled sockWriter, ready for
// sockWriteDirect, when sockWrite is to write it, and nil when writeFrame
// is: sockWrite writes unmasked frames (a server's). A frame that fits in
// one write buffer is built in the writer's own buffer, so that a small
// frame takes one pooled object, not a buffer and a writer; of a larger
// one only the header is, and its payload is written after it. Frames held
// before it go in the held frames' buffer, after them, when it has room:
// the write that sends a burst's replies is then made from WriteFrame's
// shallow stack too. held is how many bytes of that buffer were held
// frames, -1 when it was not the held frames' buffer. The caller holds
// the write lock.
func (c *Conn) directFrame(h frame.Header, p []byte) (w *sockWriter, held int) {
	if c.flags&flagSock == 0 || h.Masked {
		return nil, -1
	}
	size := h.Size() + len(p)
	// A payload larger than the write buffer is not copied: it is
	// written from where it is, after the header (sockWritev).
	var body []byte
	if size > int(c.opts.writeBuf) || size > maxDirectFrame {
		p, body = nil, p
		size = h.Size()
	}
	if hp := c.held.Load(); hp != nil {
		held = len(*hp)
		if held+size > cap(*hp) {
			return nil, -1
		}
		*hp = append(frame.AppendHeader(*hp, h), p...)
		c.held.Store(nil)
		w = sockWriters.Get().(*sockWriter)
		w.held = hp
		w.p, w.body = *hp, body
		return w, held
	}
	w = sockWriters.Get().(*sockWriter)
	if cap(w.buf) < size {
		// A power of two, at least 512 bytes: a writer's buffer grows
		// to the frames written through it, at most the write buffer.
		w.buf = make([]byte, 0, max(1<<bits.Len(uint(size-1)), 512))
	}
	w.p, w.body = append(frame.AppendHeader(w.buf[:0], h), p...), body
	return w, -1
}

// maxDirectFrame bounds the frames directFrame builds, and so the buffer
// a pooled sockWriter keeps: 64 KiB, four times the default write buffer.
const maxDirectFrame = 64 << 10

// sockWriter is the state of one sockWrite, pooled: a Conn has no room
// for it, and only the writer holding the lock uses it.
type sockWriter struct {
	buf  []byte                // directFrame's frames are built here
	held *[]byte               // the held frames' buffer p is in, if it is
	p    []byte                // what is left to write
	body []byte                // and after it, sockWritev's payload
	n    int                   // bytes written
	err  error                 // of the write system call
	fn   func(fd uintptr) bool // w.ready, bound once
	iov  [2]syscall.Iovec      // writev's vector: here, not on the stack beneath the write
}

var sockWriters = sync.Pool{New: func() any {
	w := new(sockWriter)
	w.fn = w.ready
	return w
}}

// sockWrite writes b to the socket as net.Conn.Write does (all of it,
// waiting for room in the runtime's poller, cut short by a write
// deadline), with the same errors, through its syscall.RawConn, which
// needs 250 bytes of stack less than net.Conn.Write (270 against 520).
// out and sendHeld write held frames through it.
func (c *Conn) sockWrite(b []byte) (int, error) {
	w := sockWriters.Get().(*sockWriter)
	w.p = b
	return c.sockWriteDirect(w, -1)
}

// sockWritev is sockWrite of head and then body, together in one writev
// where the socket takes them: a frame's header (after any held frames)
// and a payload too large to copy into the write buffer. Made through the
// RawConn and package nbsys, not as net.Buffers' writev through
// net.Conn: a server echoing 16 KiB messages over 16 connections spent
// 7-9% less CPU per echo (bench/perf/ab.sh, 2026-12-06). Copying header
// and payload into one buffer for a plain write saved as much, no more,
// so the payload is not copied.
func (c *Conn) sockWritev(head, body []byte) (int, error) {
	w := sockWriters.Get().(*sockWriter)
	w.p, w.body = head, body
	return c.sockWriteDirect(w, -1)
}

// sockWriteDirect is sockWrite of w.p, from directFrame, and puts w back.
// The held frames' buffer it was written from is put back too, unless the
// write failed before its first byte: they stay held then, as out leaves
// them.
//
// Called from WriteFrame's own frame, it keeps a server's conn.Write
// within 800 bytes of stack (1,770 through writeFrame, out and
// net.Conn.Write), so that a goroutine that reads and echoes does not
// outgrow the 2 KiB stack it started with. A stack never shrinks while
// its goroutine waits (the garbage collector halves it only when less
// than a quarter is in use), so one deeper write would make every idle
// connection that has written hold a 4 KiB stack for good.
func (c *Conn) sockWriteDirect(w *sockWriter, held int) (int, error) {
	return c.sockWritten(w, held, c.idle.rc.Write(w.fn))
}

// sockWritten is the end of sockWriteDirect, once the write is made (err
// is the wait's). Apart from it, and not inlined, so that what it keeps
// is not on the stack beneath the write: sockWriteDirect's frame is 48
// bytes, against 120 with this in it.
//
//go:noinline
func (c *Conn) sockWritten(w *sockWriter, held int, err error) (int, error) {
	n, werr := w.n, w.err
	if hp := w.held; hp != nil {
		if (err != nil || werr != nil) && n == 0 {
			*hp = (*hp)[:held]
			c.held.Store(hp)
		} else {
			pool.Put(hp)
		}
	}
	*w = sockWriter{buf: w.buf, fn: w.fn}
	sockWriters.Put(w)
	if err != nil || werr != nil {
		return n, c.sockWriteError(err, werr)
	}
	return n, nil
}

// ready is called by the runtime poller when the socket may be writable;
// false means "not yet, wait again".
func (w *sockWriter) ready(fd uintptr) bool {
	for len(w.p) > 0 || len(w.body) > 0 {
		if len(w.p) == 0 {
			w.p, w.body = w.body, nil
		}
		// Only a TCP or Unix socket is written here (initSockWrite):
		// nonblocking, as nbsys needs.
		var n int
		var errno syscall.Errno
		if len(w.body) == 0 {
			n, errno = nbsys.Write(int(fd), w.p)
		} else {
			n, errno = w.writev(fd)
		}
		if n > 0 {
			w.n += n
			if n >= len(w.p) {
				w.p, w.body = w.body[n-len(w.p):], nil
			} else {
				w.p = w.p[n:]
			}
		}
		switch {
		case errno == syscall.EAGAIN:
			return false
		case errno != 0:
			w.err = errno
			return true
		case n == 0:
			w.err = io.ErrUnexpectedEOF // as internal/poll says it
			return true
		}
	}
	return true
}

// writev writes w.p and w.body with one writev. It is apart from ready,
// and not inlined, because it would make ready's frame 48 bytes larger,
// and ready is the bottom of an echo's write: that took every goroutine
// that echoed through a pooled buffer (bench/'s hybi server, conn's
// TestIdlePooledEchoStack) past its first 2 KiB of stack, which it then
// keeps while idle. Its vector is in w for the same reason (a frame of
// 64 bytes, not 88).
//
//go:noinline
func (w *sockWriter) writev(fd uintptr) (int, syscall.Errno) {
	// At most nbsys.MaxDirect bytes, as Write's: a larger call goes
	// through package syscall, deeper than the stack a goroutine that
	// echoes keeps.
	head := min(len(w.p), nbsys.MaxDirect)
	body := min(len(w.body), nbsys.MaxDirect-head)
	w.iov[0].Base, w.iov[1].Base = &w.p[0], &w.body[0]
	w.iov[0].SetLen(head)
	w.iov[1].SetLen(body)
	return nbsys.Writev(int(fd), w.iov[:], head+body)
}

// sockWriteError makes an error of the wait (err) or of the write system
// call (werr) read as net.Conn.Write's would.
func (c *Conn) sockWriteError(err, werr error) error {
	switch {
	case err != nil:
		return c.ioError("write", "raw-write", err)
	case werr == io.ErrUnexpectedEOF:
		return c.opError("write", werr)
	}
	return c.ioError("write", "raw-write", werr)
}
