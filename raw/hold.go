package raw

import (
	"context"
	"net"
	"sync"

	"github.com/hybi-go/hybi/frame"
)

// opFlush is the opcode writeLocked is given for a write that sends only
// the held frames: neither a data frame nor a close frame.
const opFlush = frame.Opcode(0xF)

// HoldFrame is WriteFrame for a data frame that may wait: it is kept in
// a pooled buffer of up to four times Options.WriteBufferSize or 256 KiB,
// whichever is more, instead of being written, so that frames written in
// a burst go out together, in one system call.
// Held frames go out, in order and before anything else, with the next
// frame written by WriteFrame or WritePrepared, with Flush, with a held
// frame that no longer fits, and when the reader is about to wait for
// the network (NextFrame or Read finding nothing to read): a server that
// holds its replies while frames it already read wait in the read
// buffer (Buffered) sends them all once it has read the burst, and no
// timer ever delays a frame.
//
// Hold frames from the goroutine that reads (as conn.WriteReply does):
// the reader sends them before it waits, unless another goroutine is
// writing, which sends them first. Frames another goroutine holds while
// the reader waits stay until the next write or Flush.
//
// A frame that does not fit in the buffer is written at once, with the
// frames held before it. Held frames that a Close or CloseNow finds are
// dropped, as a bufio.Writer's are without Flush; an I/O error that
// breaks the connection loses them too, after HoldFrame has returned nil.
// ctx bounds this call only; the write that sends the frame later is
// bounded by its own context.
func (c *Conn) HoldFrame(ctx context.Context, h frame.Header, p []byte) error {
	h, err := c.prepare(h, p)
	if err != nil {
		return err
	}
	// WriteFrame's steps, with no closure and no helper frame beneath
	// the hold or the write: answering a burst must fit in the stack an
	// echo's write does.
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.unlockWrite()
	armed, err := c.startWrite(ctx, h.Opcode)
	if err != nil {
		return err
	}
	var n int
	if !h.Opcode.IsData() || !c.hold(h, p) {
		n, err = c.writeFrame(h, p)
	}
	return c.endWrite(ctx, h.Opcode, armed, n, err)
}

// Flush writes the frames HoldFrame held, if any.
func (c *Conn) Flush(ctx context.Context) error {
	if c.held.Load() == nil {
		return nil
	}
	return c.writeLocked(ctx, opFlush, c.writeHeld)
}

// Held reports how many bytes of held frames wait to be written.
func (c *Conn) Held() int {
	if hp := c.held.Load(); hp != nil {
		return len(*hp)
	}
	return 0
}

// sendHeld writes the held frames before the reader waits for the
// network, bounded by the read's context. If another goroutine holds the
// write lock it is left to it: every write sends the held frames first,
// and only the reader's goroutine holds frames, so none can be added
// meanwhile. An error is the write side's; the next write reports it.
func (c *Conn) sendHeld() {
	if c.held.Load() == nil || !c.wmu.TryLock() {
		return
	}
	defer c.unlockWrite()
	c.writeHoldingLock(c.rctx, opFlush, c.writeHeld)
}

func (c *Conn) writeHeld() (int, error) { return c.out(nil, nil) }

// holdLimit is how many bytes of frames may be held, in multiples of
// Options.WriteBufferSize, or minHold if that is more: the replies to
// what one read returned (up to maxGrownRead) leave in one write.
const (
	holdLimit = 4
	minHold   = maxGrownRead
)

// holdMax is how many bytes of frames may be held.
func (c *Conn) holdMax() int { return max(holdLimit*int(c.opts.writeBuf), minHold) }

// hold appends the frame to the held frames if they stay within the
// limit, and reports whether it did. h is prepared (masked for a client).
func (c *Conn) hold(h frame.Header, p []byte) bool {
	need := h.Size() + len(p)
	hp := c.held.Load()
	held := 0
	if hp != nil {
		held = len(*hp)
	}
	if held+need > c.holdMax() {
		return false
	}
	if hp == nil || held+need > cap(*hp) {
		// A pooled buffer of the size class that fits, the held frames
		// moved into it.
		nb := pool.Get(max(held+need, int(c.opts.writeBuf)))
		*nb = (*nb)[:0]
		if hp != nil {
			*nb = append(*nb, *hp...)
			pool.Put(hp)
		}
		hp = nb
	}
	b := *hp
	b = frame.AppendHeader(b, h)
	start := len(b)
	b = append(b, p...)
	if h.Masked {
		frame.Mask(h.Mask, 0, b[start:])
	}
	*hp = b
	c.held.Store(hp)
	return true
}

// out writes the held frames, then head and body (either may be empty),
// in one system call unless the held frames and head do not fit together
// in the held buffer. It returns the bytes written. If nothing was
// written the held frames stay held, so that a write its context cut
// before it began loses none.
func (c *Conn) out(head, body []byte) (int, error) {
	hp := c.held.Load()
	if hp == nil {
		return c.writev(head, body)
	}
	held := len(*hp)
	b := *hp
	var n int
	var err error
	switch {
	case held+len(head)+len(body) <= cap(b):
		b = append(append(b, head...), body...)
		n, err = c.writeSocket(b)
	case held+len(head) <= cap(b):
		n, err = c.writev(append(b, head...), body)
	default:
		if n, err = c.writeSocket(b); err == nil {
			var m int
			m, err = c.writev(head, body)
			n += m
		}
	}
	if err != nil && n == 0 {
		*hp = (*hp)[:held]
		return 0, err
	}
	c.held.Store(nil)
	pool.Put(hp)
	return n, err
}

// writeSocket writes b whole, through sockWrite when the connection is a
// TCP or Unix socket: it needs 250 bytes less of stack than nc.Write,
// which counts when held frames go out from the bottom of a read
// (sendHeld), as a stack that grew is kept while its goroutine idles.
func (c *Conn) writeSocket(b []byte) (int, error) {
	if c.flags&flagSock != 0 {
		return c.sockWrite(b)
	}
	return c.nc.Write(b)
}

// writev writes head and body, with one writev when both are there.
func (c *Conn) writev(head, body []byte) (int, error) {
	switch {
	case len(body) == 0:
		if len(head) == 0 {
			return 0, nil
		}
		return c.writeSocket(head)
	case len(head) == 0:
		return c.writeSocket(body)
	case c.flags&flagSock != 0:
		return c.sockWritev(head, body)
	}
	v := vecPool.Get().(*vec)
	v.arr = [2][]byte{head, body}
	v.bufs = v.arr[:]
	var n int64
	var err error
	if bw, ok := c.nc.(buffersWriter); ok {
		n, err = bw.WriteBuffers(&v.bufs)
	} else {
		n, err = v.bufs.WriteTo(c.nc)
	}
	*v = vec{}
	vecPool.Put(v)
	return int(n), err
}

// buffersWriter is a net.Conn that writes several buffers in one system
// call, as net.Buffers.WriteTo does only for the net package's own
// connections: conn/poll's, which serves sockets out of the runtime's
// poller (a net.Conn outside package net cannot offer WriteTo its
// writev).
type buffersWriter interface {
	WriteBuffers(v *net.Buffers) (int64, error)
}

// vec is the argument of one writev: net.Buffers.WriteTo takes a
// pointer, which escapes, so one on the stack would be allocated for
// every write. They are pooled rather than kept in every Conn, where
// they cost each idle connection 72 bytes for what only frames larger
// than the write buffer use.
type vec struct {
	arr  [2][]byte
	bufs net.Buffers
}

var vecPool = sync.Pool{New: func() any { return new(vec) }}
