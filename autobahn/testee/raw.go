package testee

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// closeWait bounds the end of the closing handshake on the Raw testee:
// the wait for the peer's close frame after ours, and a client's wait for
// the server to drop TCP.
const closeWait = 2 * time.Second

// rawOptions are the Raw session's options for a testee with the agreed
// extensions: their reserved bits are allowed on received frames.
func rawOptions(agreed []extension.Agreed) *raw.Options {
	o := &raw.Options{MaxFrameSize: ReadLimit}
	for _, a := range agreed {
		o.AllowedRSV |= a.RSV()
	}
	return o
}

// echoRaw is the echo peer on the Raw session, which answers nothing by
// itself: here the testee answers pings, reassembles fragments, validates
// text as it arrives (failing on the first octet that cannot be UTF-8),
// checks close payloads and does the closing handshake. With agreed
// extensions (permessage-deflate), it runs a message that arrives with
// their reserved bits through their decoders once it is whole, and its
// echo through their encoders, using the extension API as a custom
// session would.
func echoRaw(ctx context.Context, rc *raw.Conn, agreed []extension.Agreed, o Options) error {
	defer rc.Close()
	client := rc.Role() == raw.Client
	var (
		msg     []byte
		typ     frame.Opcode
		rsv     frame.RSV // reserved bits of the message's first frame
		text    frame.UTF8
		chunk   = make([]byte, 32<<10)
		ctrl    [frame.MaxControlPayload]byte
		closed  bool // a close frame went out
		encoded bytes.Buffer
	)
	codec := newRawCodec(agreed)
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
		if h.RSV != 0 && (h.Opcode.IsControl() || h.Opcode == frame.OpContinuation) {
			// Per-message extensions set their bits on the first frame of
			// a data message only (RFC 7692, Section 6.1).
			return fail(frame.StatusProtocolError, "reserved bit on a control or continuation frame")
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
			rsv = h.RSV
			msg = msg[:0]
			text.Reset()
		}
		// A compressed message is validated once it is decoded.
		validate := typ == frame.OpText && !o.SkipUTF8 && rsv == 0
		if int64(len(msg))+h.Length > ReadLimit {
			return fail(frame.StatusMessageTooBig, "message too big")
		}
		for {
			n, err := rc.Read(chunk)
			if n > 0 {
				if validate && !text.Write(chunk[:n]) {
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
		if rsv != 0 {
			if msg, err = codec.decode(msg, typ, rsv); err != nil {
				var pe *frame.ProtocolError
				if !errors.As(err, &pe) {
					pe = &frame.ProtocolError{Code: frame.StatusInvalidFramePayloadData, Reason: "cannot decode the message"}
				}
				return fail(pe.Code, pe.Reason)
			}
			if typ == frame.OpText && !o.SkipUTF8 && !utf8.Valid(msg) {
				return fail(frame.StatusInvalidFramePayloadData, "text is not UTF-8")
			}
		} else if validate && !text.Done() {
			return fail(frame.StatusInvalidFramePayloadData, "text is not UTF-8")
		}
		if closed {
			continue
		}
		out, outRSV, err := codec.encode(&encoded, msg, typ)
		if err != nil {
			return err
		}
		if err := rc.WriteFrame(ctx, frame.Header{Fin: true, RSV: outRSV, Opcode: typ}, out); err != nil {
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

// rawCodec runs whole messages through the encoders and decoders of the
// agreed extensions, for the Raw testee.
type rawCodec struct {
	encs []extension.Encoder
	decs []extension.Decoder
}

func newRawCodec(agreed []extension.Agreed) *rawCodec {
	c := new(rawCodec)
	for _, a := range agreed {
		if e := a.NewEncoder(); e != nil {
			c.encs = append(c.encs, e)
		}
		if d := a.NewDecoder(); d != nil {
			c.decs = append(c.decs, d)
		}
	}
	return c
}

// decode returns the payload p of a message received with the reserved
// bits rsv as the decoders give it back, the decoder of the extension
// listed last applied first (RFC 6455, Section 9.1). More than ReadLimit
// bytes is StatusMessageTooBig.
func (c *rawCodec) decode(p []byte, typ frame.Opcode, rsv frame.RSV) ([]byte, error) {
	m := extension.Message{Opcode: typ, RSV: rsv, Size: -1}
	var r io.Reader = bytes.NewReader(p)
	var closers []io.Closer
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
	}()
	for i := len(c.decs) - 1; i >= 0; i-- {
		rc, err := c.decs[i].Decode(r, &m)
		if err != nil {
			return nil, err
		}
		if rc != nil {
			closers = append(closers, rc)
			r = rc
		}
	}
	out, err := io.ReadAll(io.LimitReader(r, ReadLimit+1))
	if err != nil {
		return nil, err
	}
	if len(out) > ReadLimit {
		return nil, &frame.ProtocolError{Code: frame.StatusMessageTooBig, Reason: "message too big"}
	}
	return out, nil
}

// encode returns the payload of a message p of type typ as the encoders
// make it, in buf when they change it, and the reserved bits its frame
// carries.
func (c *rawCodec) encode(buf *bytes.Buffer, p []byte, typ frame.Opcode) ([]byte, frame.RSV, error) {
	if len(c.encs) == 0 {
		return p, 0, nil
	}
	buf.Reset()
	m := extension.Message{Opcode: typ, Size: int64(len(p))}
	var w io.Writer = buf
	var closers []io.WriteCloser
	for i := len(c.encs) - 1; i >= 0; i-- {
		wc, err := c.encs[i].Encode(w, &m)
		if err != nil {
			return nil, 0, err
		}
		if wc != nil {
			closers = append(closers, wc)
			w = wc
		}
	}
	if len(closers) == 0 {
		return p, 0, nil
	}
	if _, err := w.Write(p); err != nil {
		return nil, 0, err
	}
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].Close(); err != nil {
			return nil, 0, err
		}
	}
	return buf.Bytes(), m.RSV, nil
}
