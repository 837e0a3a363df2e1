package conn

import (
	"context"
	"encoding/binary"
	"io"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/bufpool"
)

func (c *Conn) lockMessage(ctx context.Context) error {
	if err := lock(ctx, c.msgMu, c.peerClose); err != nil {
		return err
	}
	c.mu.Lock()
	sent := c.closeSent
	c.mu.Unlock()
	if sent {
		<-c.msgMu
		return ErrClosed
	}
	return nil
}

// Write sends p as one message of type typ, in a single frame. It is safe
// to call from many goroutines; messages never interleave.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if err := c.lockMessage(ctx); err != nil {
		return err
	}
	defer func() { <-c.msgMu }()
	err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.Opcode(typ)}, p)
	if err != nil {
		return c.failWrite(ctx, err)
	}
	return nil
}

// messageWriter streams one message as a sequence of frames. It is reused
// for every message of a Conn.
type messageWriter struct {
	c       *Conn
	ctx     context.Context
	op      frame.Opcode // opcode of the next frame
	buf     *[]byte      // pooled, taken on first buffered Write
	n       int          // bytes buffered in buf
	closed  bool
	lastErr error
}

// Writer returns a writer for one message of type typ. Data is buffered
// and sent in frames as the buffer fills; Close sends the final frame and
// must be called before another message can be written. Control frames
// may go out between the frames of the message.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if err := c.lockMessage(ctx); err != nil {
		return nil, err
	}
	w := &c.mw
	*w = messageWriter{c: c, ctx: ctx, op: frame.Opcode(typ)}
	return w, nil
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.lastErr != nil {
		return 0, w.lastErr
	}
	size := w.c.rc.WriteBufferSize()
	total := len(p)
	for len(p) > 0 {
		if w.n == 0 && len(p) >= size {
			// Large write with nothing buffered: frame it directly.
			if err := w.flush(p, false); err != nil {
				return total - len(p), err
			}
			return total, nil
		}
		if w.buf == nil {
			w.buf = bufpool.Default.Get(size)
		}
		k := copy((*w.buf)[w.n:size], p)
		w.n += k
		p = p[k:]
		if w.n == size && len(p) > 0 {
			if err := w.flush((*w.buf)[:w.n], false); err != nil {
				return total - len(p), err
			}
			w.n = 0
		}
	}
	return total, nil
}

func (w *messageWriter) flush(p []byte, fin bool) error {
	err := w.c.rc.WriteFrame(w.ctx, frame.Header{Fin: fin, Opcode: w.op}, p)
	w.op = frame.OpContinuation
	if err != nil {
		w.lastErr = w.c.failWrite(w.ctx, err)
		return w.lastErr
	}
	return nil
}

// Close sends the final frame of the message.
func (w *messageWriter) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	defer func() { <-w.c.msgMu }()
	var p []byte
	if w.buf != nil {
		p = (*w.buf)[:w.n]
		defer bufpool.Default.Put(w.buf)
		w.buf = nil
	}
	if w.lastErr != nil {
		return w.lastErr
	}
	return w.flush(p, true)
}

// Ping sends a ping and waits for its pong (RFC 6455, Section 5.5.2). The
// pong is seen by the goroutine reading the connection, so Ping returns
// only while some goroutine reads.
func (c *Conn) Ping(ctx context.Context) error {
	c.pingMu.Lock()
	if c.pings == nil {
		c.pings = make(map[uint64]chan struct{})
	}
	c.pingSeq++
	id := c.pingSeq
	ch := make(chan struct{})
	c.pings[id] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, id)
		c.pingMu.Unlock()
	}()
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], id)
	if err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, p[:]); err != nil {
		return c.failWrite(ctx, err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.peerClose:
		return c.terminal()
	}
}

// gotPong wakes the Ping waiting for p and clears the keepalive.
func (c *Conn) gotPong(p []byte) {
	c.pongPending.Store(false)
	if len(p) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(p)
	c.pingMu.Lock()
	if ch, ok := c.pings[id]; ok {
		close(ch)
		delete(c.pings, id)
	}
	c.pingMu.Unlock()
}

// keepaliveTick runs on the keepalive timer: it alternates between sending
// a ping and, PongTimeout later, checking that its pong came.
func (c *Conn) keepaliveTick() {
	if c.terminal() != nil {
		return
	}
	if c.keepaliveArm {
		c.keepaliveArm = false
		if c.pongPending.Load() {
			c.mu.Lock()
			if c.cause == nil {
				c.cause = ErrPongTimeout
			}
			c.mu.Unlock()
			c.shutdown()
			return
		}
		next := c.opts.PingInterval - c.opts.PongTimeout
		if next <= 0 {
			next = time.Millisecond
		}
		c.keepalive.Reset(next)
		return
	}
	c.pongPending.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.PongTimeout)
	err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("keepalive"))
	cancel()
	if err != nil {
		c.failWrite(ctx, err)
		return
	}
	c.keepaliveArm = true
	c.keepalive.Reset(c.opts.PongTimeout)
}
