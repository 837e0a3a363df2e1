package conn

import (
	"context"

	"github.com/hybi-go/hybi/frame"
)

// WriteReply is Write for the goroutine that reads, answering the message
// it just read: while a whole frame of the peer's already waits in the
// read buffer, the reply is held in the write buffer rather than sent, so
// that the replies to a burst of pipelined messages go out together in
// one system call instead of one each. Otherwise (nothing buffered, or
// only the start of a frame) it is Write, which sends the replies held
// before it too.
//
// No timer delays a reply. Held replies go out, in order, as soon as the
// reader is about to wait for the network (its next Reader or Read finds
// no more input), with the next message or control frame any goroutine
// writes, with Flush or Close, and when four times
// Options.WriteBufferSize or 256 KiB, whichever is more, is held. A loop that reads a message and
// answers it with WriteReply therefore sends each answer no later than
// Write would have, except that the answers to messages that arrived
// together leave together:
//
//	for {
//		typ, p, err := c.AppendRead(ctx, p[:0])
//		if err != nil {
//			return err
//		}
//		if err := c.WriteReply(ctx, typ, p); err != nil {
//			return err
//		}
//	}
//
// Only the reading goroutine may call it, between reads; a goroutine that
// holds replies and then stops reading must call Flush. A nil error means
// the reply was sent or held: an I/O error while held replies go out
// fails the connection, and the next read or write reports it. CloseNow
// drops held replies.
func (c *Conn) WriteReply(ctx context.Context, typ MessageType, p []byte) error {
	if !c.rc.FrameBuffered() {
		return c.Write(ctx, typ, p)
	}
	if err := c.lockMessage(ctx); err != nil {
		return err
	}
	defer c.msgMu.Unlock()
	if len(c.ext.encoders()) > 0 {
		err := c.writeEncoded(ctx, typ, p, true)
		c.mw.ctx = context.Background() // not kept by an idle connection
		return err
	}
	if err := c.rc.HoldFrame(ctx, frame.Header{Fin: true, Opcode: frame.Opcode(typ)}, p); err != nil {
		return c.failWrite(ctx, err)
	}
	return nil
}

// Flush sends the replies WriteReply held, if any. A reader that keeps
// reading need not call it.
func (c *Conn) Flush(ctx context.Context) error {
	if err := c.rc.Flush(ctx); err != nil {
		return c.failWrite(ctx, err)
	}
	return nil
}
