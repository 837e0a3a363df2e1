package conn_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
)

// expected is what a session must do with a sequence of frames, by
// modelSession.
type expected struct {
	msgs  []echoed // the messages it delivers, in order
	pongs [][]byte // the pongs it sends
	code  frame.StatusCode
	// peerClose: the read ends with the peer's close frame (a
	// *CloseError with code, echoed in the session's close frame);
	// otherwise with a *ProtocolError with code (sent in the session's
	// close frame), or, when code is 1006, with the end of the stream
	// (and no close frame).
	peerClose bool
	// compressed[i] tells whether message i (delivered, or in progress
	// when the read ended) was compressed. The model does not decompress:
	// the content of a compressed message is not checked beyond its
	// type, and the session may end with 1007 or 1009 anywhere inside it.
	compressed []bool
}

// modelSession is RFC 6455, Sections 5.2-5.6, with RFC 7692's rule for
// the RSV1 bit, applied frame by frame in the order conn applies them,
// written apart from conn and raw to check them: frame header (RSV bits
// no extension owns, reserved opcodes, control frames fragmented or over
// 125 bytes, the order of fragments, the frame size limit), then what the
// session adds (RSV bits on a control frame or a continuation, the message
// size limit counted before the payload is read, text that stops being
// UTF-8 as soon as it does, or that ends inside a character), pings
// answered in order, and the close frame's payload (frame.ParseClose,
// fuzzed on its own by FuzzClose).
//
// stalls are the offsets in the stream (spans says where each frame
// lies) at which the session's read is cut short by its context, to go on
// with a new one (see scriptConn). A cut changes nothing but this: the
// message being read when it comes (from its first header on, to the end
// of its last payload, control frames between its frames included) is
// discarded by the next read, still checked but not delivered. A frame's
// header is checked, and its payload before the cut taken in (text
// checked), before the cut takes effect. (Cuts are modelled without
// compression only: a compressed message cannot resume, and the indexes
// of compressed count the discarded messages.)
func modelSession(frames []fuzzFrame, spans []frameSpan, stalls []int, compress bool, limit int64) expected {
	var e expected
	var allowed frame.RSV
	if compress {
		allowed = frame.RSV1
	}
	var (
		inMsg, text, comp bool
		lost              bool // a cut came in the current message
		op                frame.Opcode
		size              int64
		data              []byte
	)
	// cutIn reports whether a stall lies in [from, to).
	cutIn := func(from, to int) bool {
		for _, s := range stalls {
			if s >= from && s < to {
				return true
			}
		}
		return false
	}
	end := func(code frame.StatusCode) expected {
		e.code = code
		return e
	}
	for i, f := range frames {
		sp := spans[i]
		if inMsg && cutIn(sp.start, sp.payload) {
			lost = true
		}
		fin := f.b0&0x80 != 0
		rsv := frame.RSV(f.b0) & (frame.RSV1 | frame.RSV2 | frame.RSV3)
		fop := frame.Opcode(f.b0 & 0xF)
		n := int64(len(f.payload))
		control := fop >= 8
		switch {
		case rsv&^allowed != 0:
			return end(1002)
		case fop >= 3 && fop <= 7 || fop >= 0xB:
			return end(1002) // reserved
		case control && (!fin || n > 125):
			return end(1002)
		case fop == frame.OpContinuation && !inMsg:
			return end(1002)
		case !control && fop != frame.OpContinuation && inMsg:
			return end(1002)
		case n > limit:
			return end(1009)
		}
		// Payload bytes before the first stall in it, if any.
		avail := len(f.payload)
		for _, s := range stalls {
			if s >= sp.payload && s < sp.end {
				avail = s - sp.payload
				break
			}
		}
		cut := avail < len(f.payload)
		if control {
			if rsv != 0 {
				return end(1002)
			}
			if cut && inMsg {
				lost = true
			}
			switch fop {
			case frame.OpPing:
				e.pongs = append(e.pongs, f.payload)
			case frame.OpClose:
				code, _, err := frame.ParseClose(f.payload)
				if err != nil {
					return end(conn.CloseStatus(err))
				}
				e.peerClose = true
				return end(code)
			}
			continue
		}
		if fop != frame.OpContinuation {
			inMsg, op, size, data, lost = true, fop, 0, nil, false
			text = fop == frame.OpText
			comp = rsv&frame.RSV1 != 0
			e.compressed = append(e.compressed, comp)
		} else if rsv != 0 {
			return end(1002)
		}
		if size+n > limit {
			return end(1009)
		}
		size += n
		if text && !comp && !utf8Prefix(append(data, f.payload[:avail]...)) {
			return end(1007)
		}
		if cut {
			lost = true
		}
		data = append(data, f.payload...)
		if text && !comp && !utf8Prefix(data) {
			return end(1007)
		}
		if fin {
			inMsg = false
			if text && !comp && !utf8.Valid(data) {
				return end(1007)
			}
			if !lost {
				e.msgs = append(e.msgs, echoed{conn.MessageType(op), data})
			}
		}
	}
	return end(conn.StatusAbnormalClosure)
}

// utf8Prefix reports whether some bytes appended to p make it valid UTF-8
// (unicode/utf8 decides): p is valid but for a last character cut short
// that continuation bytes can complete. 0x80, 0x90 or 0xA0 is a second
// byte that fits each lead byte (E0 needs A0-BF, ED 80-9F, F0 90-BF, F4
// 80-8F), and 0x80 fits every later one.
func utf8Prefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	for cut := 1; cut <= 3 && cut <= len(p); cut++ {
		head, tail := p[:len(p)-cut], p[len(p)-cut:]
		if !utf8.RuneStart(tail[0]) || !utf8.Valid(head) {
			continue
		}
		for _, second := range []byte{0x80, 0x90, 0xA0} {
			for size := len(tail) + 1; size <= 4; size++ {
				c := append([]byte(nil), tail...)
				for len(c) < size {
					if len(c) == 1 {
						c = append(c, second)
					} else {
						c = append(c, 0x80)
					}
				}
				if utf8.Valid(c) {
					return true
				}
			}
		}
	}
	return false
}

// checkModel compares how a session fed frames ended with what the model
// expected.
func checkModel(t *testing.T, exp expected, err error, view peerView) {
	t.Helper()
	code := conn.CloseStatus(err)
	var pe *conn.ProtocolError
	isProto := errors.As(err, &pe)
	if isProto && view.closeCode != code {
		t.Fatalf("session failed with %v but sent close code %d", err, view.closeCode)
	}
	hard := code == exp.code && isProto == (!exp.peerClose && exp.code != conn.StatusAbnormalClosure) &&
		sameMessages(view.msgs, exp) == nil && equalPayloads(view.pongs, exp.pongs)
	if hard {
		switch {
		case exp.peerClose && view.closeCode != code:
			t.Fatalf("peer closed with %d, session answered %d", code, view.closeCode)
		case code == conn.StatusAbnormalClosure && view.closeCode != 0:
			t.Fatalf("the stream ended, and the session sent close code %d", view.closeCode)
		}
		return
	}
	// Ended inside a compressed message, with what decompressing it
	// found.
	k := len(view.msgs)
	if isProto && (code == 1007 || code == 1009) && k < len(exp.compressed) && exp.compressed[k] && k <= len(exp.msgs) {
		short := exp
		short.msgs = exp.msgs[:k]
		if sameMessages(view.msgs, short) == nil && isPrefix(view.pongs, exp.pongs) {
			return
		}
	}
	t.Fatalf("session ended with %v (close status %d), delivered %d messages (%v), sent %d pongs;\nthe model: status %d (peer's close: %v), %d messages, %d pongs, compressed %v",
		err, code, len(view.msgs), sameMessages(view.msgs, exp), len(view.pongs), exp.code, exp.peerClose, len(exp.msgs), len(exp.pongs), exp.compressed)
}

// sameMessages compares the messages the peer received with those the
// model delivers: the same number, types and, for those sent
// uncompressed, bytes; a compressed text message must have decoded to
// UTF-8, and none may be over the read limit.
func sameMessages(got []echoed, exp expected) error {
	if len(got) != len(exp.msgs) {
		return fmt.Errorf("%d messages, want %d", len(got), len(exp.msgs))
	}
	for i, g := range got {
		w := exp.msgs[i]
		switch {
		case g.typ != w.typ:
			return fmt.Errorf("message %d is %v, want %v", i, g.typ, w.typ)
		case len(g.data) > fuzzReadLimit:
			return fmt.Errorf("message %d has %d bytes, over the limit", i, len(g.data))
		case exp.compressed[i]:
			if g.typ == conn.MessageText && !utf8.Valid(g.data) {
				return fmt.Errorf("compressed text message %d is not UTF-8", i)
			}
		case !bytes.Equal(g.data, w.data):
			return fmt.Errorf("message %d differs", i)
		}
	}
	return nil
}

func equalPayloads(a, b [][]byte) bool { return len(a) == len(b) && isPrefix(a, b) }

func isPrefix(a, b [][]byte) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
