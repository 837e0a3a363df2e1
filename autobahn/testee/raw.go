package testee

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// closeWait bounds the end of the closing handshake on the Raw testee:
// the wait for the peer's close frame after ours, and a client's wait for
// the server to drop TCP.
const closeWait = 2 * time.Second

// echoRaw is the echo peer on the Raw session, which answers nothing by
// itself: here the testee answers pings, reassembles fragments, validates
// text as it arrives (failing on the first octet that cannot be UTF-8),
// checks close payloads and does the closing handshake.
func echoRaw(ctx context.Context, rc *raw.Conn, o Options) error {
	defer rc.Close()
	client := rc.Role() == raw.Client
	var (
		msg    []byte
		typ    frame.Opcode
		text   frame.UTF8
		chunk  = make([]byte, 32<<10)
		ctrl   [frame.MaxControlPayload]byte
		closed bool // a close frame went out
	)
	write := func(op frame.Opcode, p []byte) error {
		return rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: op}, p)
	}
	// fail sends a close frame with the error's code and ends the
	// connection (RFC 6455, Section 7.1.7).
	fail := func(code frame.StatusCode, reason string) error {
		if !closed {
			write(frame.OpClose, frame.AppendClose(nil, code, reason))
			closed = true
		}
		finish(ctx, rc, client)
		return &frame.ProtocolError{Code: code, Reason: reason}
	}
	for {
		h, err := rc.NextFrame(ctx)
		if err != nil {
			var pe *frame.ProtocolError
			if errors.As(err, &pe) {
				return fail(pe.Code, pe.Reason)
			}
			return err
		}
		if h.Opcode.IsControl() {
			p := ctrl[:h.Length]
			if _, err := io.ReadFull(rc, p); err != nil {
				return err
			}
			switch h.Opcode {
			case frame.OpPing:
				if !closed {
					if err := write(frame.OpPong, p); err != nil {
						return err
					}
				}
			case frame.OpClose:
				if o.IgnoreClose {
					continue
				}
				code, _, err := frame.ParseClose(p)
				if err != nil {
					var pe *frame.ProtocolError
					errors.As(err, &pe)
					return fail(pe.Code, pe.Reason)
				}
				if !closed {
					// Echo the code, without the reason.
					var reply []byte
					if code != frame.StatusNoStatusRcvd {
						reply = frame.AppendClose(nil, code, "")
					}
					write(frame.OpClose, reply)
					closed = true
				}
				finish(ctx, rc, client)
				return nil
			}
			continue
		}
		if h.Opcode != frame.OpContinuation {
			typ = h.Opcode
			msg = msg[:0]
			text.Reset()
		}
		if int64(len(msg))+h.Length > ReadLimit {
			return fail(frame.StatusMessageTooBig, "message too big")
		}
		for {
			n, err := rc.Read(chunk)
			if n > 0 {
				if typ == frame.OpText && !o.SkipUTF8 && !text.Write(chunk[:n]) {
					return fail(frame.StatusInvalidFramePayloadData, "text is not UTF-8")
				}
				msg = append(msg, chunk[:n]...)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if !h.Fin {
			continue
		}
		if typ == frame.OpText && !o.SkipUTF8 && !text.Done() {
			return fail(frame.StatusInvalidFramePayloadData, "text is not UTF-8")
		}
		if closed {
			continue
		}
		if err := write(typ, msg); err != nil {
			return err
		}
		if cap(msg) > 1<<20 {
			msg = nil // do not keep a big buffer between messages
		}
	}
}

// finish ends a connection once this end sent its close frame (RFC 6455,
// Section 7.1.1): a client waits for the server to drop TCP; a server
// drops it, half-closing first so that the peer reads the close frame
// before the end of the stream, and gives the peer a moment to close its
// side. The peer's close frame, if it is still to come, is not waited for:
// after a failure the stream may be out of step (a frame cut in the
// middle), and the peer needs no answer to it.
func finish(ctx context.Context, rc *raw.Conn, client bool) {
	if client {
		waitEOF(ctx, rc)
		rc.Close()
		return
	}
	nc := rc.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		nc.SetReadDeadline(time.Now().Add(closeWait))
		io.Copy(io.Discard, nc)
	}
	rc.Close()
}

// waitEOF waits for the server to drop TCP, for closeWait at most,
// discarding what still arrives. It reads the socket itself: after a
// protocol error the Raw session's read side has failed for good, and
// closing with unread data would answer the server with a reset that can
// destroy our last echo and close frame before it reads them.
func waitEOF(ctx context.Context, rc *raw.Conn) {
	nc := rc.NetConn()
	deadline := time.Now().Add(closeWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetReadDeadline(deadline)
	io.Copy(io.Discard, nc)
}
