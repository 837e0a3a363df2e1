package conn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/bufpool"
	"github.com/hybi-go/hybi/raw"
)

// lockMessage takes the message lock for a new message. A context
// already done sends nothing: ctxlock would take a free lock regardless.
func (c *Conn) lockMessage(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.lock(ctx, &c.msgMu); err != nil {
		return err
	}
	if c.flag(flagCloseSent) {
		c.msgMu.Unlock()
		return ErrClosed
	}
	return nil
}

// Write sends p as one message of type typ, in a single frame. It is safe
// to call from many goroutines; messages never interleave.
//
// When an extension was agreed, p goes through its encoders first
// (compressed by permessage-deflate unless it is shorter than the
// threshold or SetCompression(false) was called). An error while a
// message is being encoded closes the connection, since the encoder's
// state no longer matches the peer's.
//
// A ctx already done sends nothing and returns ctx.Err(), as do Writer,
// WritePrepared and Ping.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if err := c.lockMessage(ctx); err != nil {
		return err
	}
	defer c.msgMu.Unlock()
	if len(c.ext.encoders()) > 0 {
		err := c.writeEncoded(ctx, typ, p, false)
		c.mw.ctx = context.Background() // not kept by an idle connection
		return err
	}
	err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.Opcode(typ)}, p)
	if err != nil {
		return c.failWrite(ctx, err)
	}
	c.observeOut(typ, int64(len(p)), int64(len(p)))
	return nil
}

// writeEncoded is Write through the encoders: the encoded message is
// collected in a pooled buffer and sent as one frame, or held (see
// WriteReply).
func (c *Conn) writeEncoded(ctx context.Context, typ MessageType, p []byte, hold bool) error {
	w := c.writer()
	w.reset(ctx, frame.Opcode(typ))
	w.single = true
	w.hold = hold
	if err := w.startEncoders(int64(len(p))); err != nil {
		return err
	}
	if w.head == nil {
		err := w.writeFrame(frame.Header{Fin: true, Opcode: frame.Opcode(typ)}, p)
		if err != nil {
			return c.failWrite(ctx, err)
		}
		c.observeOut(typ, int64(len(p)), int64(len(p)))
		return nil
	}
	if _, err := w.head.Write(p); err != nil {
		err = w.broken(err)
		w.release()
		return err
	}
	w.countData(len(p))
	return w.observedFinish()
}

// writer returns c's message writer, made on first use. The caller holds
// msgMu.
func (c *Conn) writer() *messageWriter {
	if c.mw == nil {
		c.mw = &messageWriter{c: c}
	}
	return c.mw
}

// messageWriter streams one message as a sequence of frames. It is reused
// for every message of a Conn.
type messageWriter struct {
	c       *Conn
	ctx     context.Context
	op      frame.Opcode // opcode of the next frame
	typ     frame.Opcode // opcode of the message
	rsv     frame.RSV    // reserved bits of the next frame (the first)
	hold    bool         // the final frame may be held (WriteReply)
	single  bool         // collect the whole message for one frame
	sent    bool         // a frame of the message has gone out
	buf     *[]byte      // pooled, taken on first buffered Write
	n       int          // bytes buffered in buf
	lastErr error

	// head is the writer of the first encoder that took the message, nil
	// when none did (their writers are in c.ext.wclosers, the last
	// encoder's first).
	head io.Writer
}

func (w *messageWriter) reset(ctx context.Context, op frame.Opcode) {
	*w = messageWriter{c: w.c, ctx: ctx, op: op, typ: op}
	if x := w.c.observed(); x != nil {
		x.wDataOut, x.wWireOut = 0, 0
	}
}

// ErrWriterClosed is returned by the Write and Close methods of a writer
// from Writer once it has been closed.
var ErrWriterClosed = errors.New("websocket: message writer already closed")

// Writer returns a writer for one message of type typ. Data is buffered
// and sent in frames as the buffer fills; Close sends the final frame and
// must be called before another message can be written. Control frames
// may go out between the frames of the message. When an extension was
// agreed, the data goes through its encoders (compressed by
// permessage-deflate unless SetCompression(false) was called).
//
// The writer belongs to this one message: once closed, its Write and
// Close return ErrWriterClosed and touch nothing, so a deferred Close
// beside an explicit one is harmless. Like any io.Writer, it is not safe
// for concurrent use. Once Close of the Conn has sent the close frame, no
// frame of the message goes out: its calls return ErrClosed (RFC 6455,
// Section 5.5.1).
//
// ctx bounds every call of the writer. A ctx that ends before the first
// frame has gone out (while the message is still buffered) leaves the
// connection as it was, unless an extension encodes the message (an
// encoder cannot take back what it took in). One that ends after it fails
// the connection: a
// message cannot be taken back, finishing it early would hand the peer a
// truncated message as if it were whole, and any other data frame would
// start a message inside it. The call returns ctx.Err() joined with
// raw.ErrBroken, and the reader a *CloseError with
// StatusAbnormalClosure.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if err := c.lockMessage(ctx); err != nil {
		return nil, err
	}
	w := c.writer()
	w.reset(ctx, frame.Opcode(typ))
	if len(c.ext.encoders()) > 0 {
		if err := w.startEncoders(-1); err != nil {
			c.msgMu.Unlock()
			return nil, err
		}
	}
	return &writerHandle{c: c, gen: c.mwGen.Add(1)}, nil
}

// writerHandle is what Writer returns: c.mw, for as long as the message
// it was made for is open. The state of a message is reused for the next
// one, so every handle carries the generation of its message, and c.mwGen
// moves on when the message closes: a stale handle sees the difference
// and touches nothing. The handle is the one allocation of a streamed
// message (16 bytes). The generation is 32 bits, to keep an idle Conn in
// its size class: it comes round after 2^31 messages, so a stale handle
// kept that long could be taken for the handle of the message then open.
type writerHandle struct {
	c   *Conn
	gen uint32
}

// open reports whether h's message is still the one open. A stale
// handle's check races with nothing: it reads only mwGen, which is
// atomic and changed only by the holder of the message lock.
func (h *writerHandle) open() bool { return h.c.mwGen.Load() == h.gen }

func (h *writerHandle) Write(p []byte) (int, error) {
	if !h.open() {
		return 0, ErrWriterClosed
	}
	n, err := h.c.mw.Write(p)
	h.c.mw.countData(n)
	return n, err
}

// Close sends the final frame of the message.
func (h *writerHandle) Close() error {
	if !h.open() {
		return ErrWriterClosed
	}
	return h.c.mw.Close()
}

// startEncoders runs the message through the agreed encoders, the first
// listed applied first (RFC 6455, Section 9.1): the chain is built from
// the frames up.
func (w *messageWriter) startEncoders(size int64) error {
	c := w.c
	x := c.ext
	x.wmsg = extension.Message{Opcode: w.op, Size: size, NoCompression: c.flag(flagNoCompress)}
	x.wclosers = x.wclosers[:0]
	var dst io.Writer = (*frameSink)(w)
	for i := len(x.encs) - 1; i >= 0; i-- {
		before := x.wmsg.RSV
		wc, err := x.encs[i].Encode(dst, &x.wmsg)
		if err != nil {
			return w.broken(err)
		}
		if set := x.wmsg.RSV &^ before; set&^x.encRSV[i] != 0 {
			// Checked here, per extension: raw.Conn knows only the
			// union of the bits, and would let one extension set
			// another's.
			return w.broken(&raw.IllegalWriteError{
				Header: frame.Header{Opcode: w.op, RSV: x.wmsg.RSV},
				Rule: fmt.Sprintf("the encoder %T set %v, which its extension does not own (its Agreed.RSV() is %v; Section 5.8)",
					x.encs[i], set&^x.encRSV[i], x.encRSV[i]),
			})
		}
		if wc != nil {
			x.wclosers = append(x.wclosers, wc)
			dst = wc
		}
	}
	w.rsv = x.wmsg.RSV
	if len(x.wclosers) > 0 {
		w.head = dst
	}
	return nil
}

// broken fails the connection after an error in an encoded message: the
// encoders' state (a compression window) no longer matches the peer's.
func (w *messageWriter) broken(err error) error {
	c := w.c
	if c.terminal() == nil {
		c.shutdown()
		c.setTerminal(fmt.Errorf("%w: encoding failed: %w", &CloseError{Code: StatusAbnormalClosure}, err))
	}
	if w.lastErr == nil {
		w.lastErr = err
	}
	return w.lastErr
}

func (w *messageWriter) Write(p []byte) (int, error) {
	if w.lastErr != nil {
		return 0, w.lastErr
	}
	if w.head != nil {
		n, err := w.head.Write(p)
		if err != nil {
			if w.lastErr != nil {
				// The frames failed, not the encoder: flush has
				// decided what that does to the connection.
				return n, w.lastErr
			}
			return n, w.broken(err)
		}
		return n, nil
	}
	return w.writeFrames(p)
}

// frameSink is where the last encoder writes: the frames of the message.
type frameSink messageWriter

func (s *frameSink) Write(p []byte) (int, error) {
	w := (*messageWriter)(s)
	if w.lastErr != nil {
		return 0, w.lastErr
	}
	return w.writeFrames(p)
}

// writeFrames buffers p and sends a frame each time the buffer fills (or,
// for a whole message, collects it all).
func (w *messageWriter) writeFrames(p []byte) (int, error) {
	if w.single {
		need := w.n + len(p)
		if w.buf == nil || need > len(*w.buf) {
			nb := bufpool.Default.Get(max(need, 2*w.n, 512))
			if w.buf != nil {
				copy(*nb, (*w.buf)[:w.n])
				bufpool.Default.Put(w.buf)
			}
			w.buf = nb
		}
		w.n += copy((*w.buf)[w.n:], p)
		return len(p), nil
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

// writeFrame writes one frame of the message, or holds it when it is the
// whole message and WriteReply asked for that.
func (w *messageWriter) writeFrame(h frame.Header, p []byte) error {
	if w.hold && h.Fin && !w.sent {
		return w.c.rc.HoldFrame(w.ctx, h, p)
	}
	return w.c.rc.WriteFrame(w.ctx, h, p)
}

func (w *messageWriter) flush(p []byte, fin bool) error {
	err := w.writeFrame(frame.Header{Fin: fin, RSV: w.rsv, Opcode: w.op}, p)
	w.op = frame.OpContinuation
	w.rsv = 0
	if err != nil {
		return w.flushFailed(err)
	}
	w.sent = true
	if x := w.c.observed(); x != nil {
		x.wWireOut += int64(len(p))
	}
	return nil
}

// flushFailed is flush's end when the frame's write failed with err. It
// is apart from flush, and not inlined, so that flush's frame, beneath
// every frame a Writer sends, is 64 bytes, not 192: a goroutine that
// echoed through Writer (io.Copy) went past its first 2 KiB of stack
// there, and kept 4 KiB while its connection idled.
//
//go:noinline
func (w *messageWriter) flushFailed(err error) error {
	if w.sent && cutByContext(w.ctx, err) {
		// The message is open on the wire and this one cannot end
		// it: any data frame sent now would start a message inside
		// it. Finishing it early would hand the peer a truncated
		// message as if whole, so the connection fails instead.
		err = errors.Join(err, raw.ErrBroken)
	}
	ferr := w.c.failWrite(w.ctx, err)
	if w.head != nil && !errors.Is(err, raw.ErrCloseSent) {
		// No message follows a close frame: the encoders' state
		// no longer matters.
		w.broken(err)
	}
	w.lastErr = ferr
	return ferr
}

// finish ends the encoders, sends the final frame and gives the buffer
// back.
func (w *messageWriter) finish() error {
	if x := w.c.ext; x != nil {
		for i := len(x.wclosers) - 1; i >= 0; i-- {
			if err := x.wclosers[i].Close(); err != nil && w.lastErr == nil {
				w.broken(err)
			}
			x.wclosers[i] = nil
		}
		x.wclosers = x.wclosers[:0]
	}
	var p []byte
	if w.buf != nil {
		p = (*w.buf)[:w.n]
	}
	defer w.release()
	if w.lastErr != nil {
		return w.lastErr
	}
	return w.flush(p, true)
}

// release gives the buffer back and drops the encoders.
func (w *messageWriter) release() {
	if w.buf != nil {
		bufpool.Default.Put(w.buf)
		w.buf = nil
	}
	if x := w.c.ext; x != nil {
		clear(x.wclosers)
		x.wclosers = x.wclosers[:0]
	}
	w.head = nil
}

// Close sends the final frame of the message, makes every handle to it
// stale and lets the next message go.
func (w *messageWriter) Close() error {
	err := w.observedFinish()
	w.ctx = context.Background() // not kept by an idle connection
	w.c.mwGen.Add(1)
	w.c.msgMu.Unlock()
	return err
}

// Ping sends a ping and waits for its pong (RFC 6455, Section 5.5.2). The
// pong is seen by the goroutine reading the connection, so Ping returns
// only while some goroutine reads. Once this end has called Close or
// CloseNow, a Ping under way or new returns ErrClosed. Its payload is 8
// bytes that no other ping of this Conn carries. When it returns nil,
// RTT reports the round trip and Options.OnPong has been called with the
// pong.
func (c *Conn) Ping(ctx context.Context) error {
	x := c.extras()
	x.pingMu.Lock()
	x.pingSeq++
	id := x.pingSeq
	x.pingMu.Unlock()
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], id)
	return c.PingWith(ctx, p[:])
}

// ErrPingPayload is returned by PingWith for a payload longer than a
// control frame may carry (125 bytes, RFC 6455, Section 5.5).
var ErrPingPayload = errors.New("websocket: ping payload longer than 125 bytes")

// PingWith is Ping with the given payload, of at most 125 bytes, which the
// peer echoes in its pong: a timestamp, a sequence number, whatever the
// application's pong hook (Options.OnPong) expects. A pong completes the
// oldest PingWith still waiting for its payload.
func (c *Conn) PingWith(ctx context.Context, payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return ErrPingPayload
	}
	x := c.extras()
	w := &pingWaiter{payload: append([]byte(nil), payload...), sentAt: sinceEpoch(), done: make(chan struct{})}
	x.pingMu.Lock()
	x.pings = append(x.pings, w)
	x.pingMu.Unlock()
	defer x.removePing(w)
	if err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, payload); err != nil {
		return c.failWrite(ctx, err)
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.peerClose.Done():
		if c.closedHere() {
			return ErrClosed
		}
		return c.terminal()
	}
}

// removePing forgets w if it is still waiting.
func (x *extra) removePing(w *pingWaiter) {
	x.pingMu.Lock()
	defer x.pingMu.Unlock()
	if i := slices.Index(x.pings, w); i >= 0 {
		x.pings = slices.Delete(x.pings, i, i+1)
	}
}

// gotPong clears the keepalive, measures the round trip, calls the pong
// hook and then wakes the Ping waiting for p: when Ping returns, RTT and
// OnPong have seen its pong. p is valid during the call only.
func (c *Conn) gotPong(p []byte) {
	pending := c.flags.And(^flagPongPending)&flagPongPending != 0
	var waiter *pingWaiter
	if x := c.x.Load(); x != nil {
		now := sinceEpoch()
		x.pingMu.Lock()
		var sentAt int64
		if i := slices.IndexFunc(x.pings, func(w *pingWaiter) bool { return bytes.Equal(w.payload, p) }); i >= 0 {
			waiter = x.pings[i]
			x.pings = slices.Delete(x.pings, i, i+1)
			// Its sentAt was taken before its ping went out.
			sentAt = waiter.sentAt
		} else if pending && x.keepaliveAt != 0 && bytes.Equal(p, c.keepalivePayload()) {
			sentAt = x.keepaliveAt
		}
		x.pingMu.Unlock()
		if sentAt != 0 {
			c.gotRTT(x, time.Duration(now-sentAt))
		}
	}
	if c.rare != nil && c.rare.onPong != nil {
		c.rare.onPong(p)
	}
	if waiter != nil {
		close(waiter.done)
	}
}
