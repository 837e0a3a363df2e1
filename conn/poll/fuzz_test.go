//go:build linux

package poll_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/frame"
)

// fuzzMessage is a data message as the peer sent or received it.
type fuzzMessage struct {
	op   frame.Opcode
	data []byte
}

// fuzzStream turns fuzz input into the bytes a client sends: each frame
// is a first header byte, a length byte (0-255, so both 7- and 16-bit
// length encodings occur) and that much payload, masked as a client
// must. With raw set the input is sent as it is.
func fuzzStream(data []byte, raw bool) []byte {
	if raw {
		return data
	}
	var out []byte
	for len(data) >= 2 {
		b0, n := data[0], int(data[1])
		data = data[2:]
		n = min(n, len(data))
		h := frame.Header{
			Fin: b0&0x80 != 0, RSV: frame.RSV(b0 & 0x70), Opcode: frame.Opcode(b0 & 0x0f),
			Masked: true, Mask: [4]byte{0x11, 0x22, 0x33, byte(n)}, Length: int64(n),
		}
		out = frame.AppendHeader(out, h)
		start := len(out)
		out = append(out, data[:n]...)
		frame.Mask(h.Mask, 0, out[start:])
		data = data[n:]
	}
	return out
}

// parseMessages reads frames from b (masked or not) and returns the data
// messages they complete, in order, and the close frames' payloads. It
// stops at the first frame it cannot take (cut short, or out of place in
// a message): nothing after it can be echoed either.
func parseMessages(b []byte) (msgs []fuzzMessage, closes [][]byte, rest []byte) {
	var cur *fuzzMessage
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			return msgs, closes, b
		}
		p := append([]byte(nil), b[n:n+int(h.Length)]...)
		if h.Masked {
			frame.Mask(h.Mask, 0, p)
		}
		b = b[n+int(h.Length):]
		switch {
		case h.Opcode == frame.OpClose:
			closes = append(closes, p)
		case h.Opcode.IsControl():
		case h.Opcode == frame.OpContinuation:
			if cur == nil {
				return msgs, closes, b
			}
			cur.data = append(cur.data, p...)
		case cur != nil:
			return msgs, closes, b
		default:
			cur = &fuzzMessage{op: h.Opcode, data: p}
		}
		if cur != nil && h.Fin && !h.Opcode.IsControl() {
			msgs = append(msgs, *cur)
			cur = nil
		}
	}
	return msgs, closes, nil
}

// sentAfterClose reports whether b holds bytes after its first whole
// close frame.
func sentAfterClose(b []byte) bool {
	for len(b) > 0 {
		h, n, err := frame.ParseHeader(b)
		if err != nil || int64(len(b)-n) < h.Length {
			return false
		}
		b = b[n+int(h.Length):]
		if h.Opcode == frame.OpClose {
			return len(b) > 0
		}
	}
	return false
}

// FuzzPoll drives a connection served by a Poller with arbitrary frames,
// written in fuzzer-chosen pieces so that headers and payloads arrive cut
// across wake-ups. What comes back must be echoes of the complete
// messages the client sent, in order (a prefix of them: a protocol error
// stops the echo), unmasked, then at most one close frame with a code
// that makes sense, and nothing after it; the server must end the
// connection, and the poller forget it.
func FuzzPoll(f *testing.F) {
	seeds := [][]byte{
		{0x81, 5, 'H', 'e', 'l', 'l', 'o', 0x88, 2, 0x03, 0xe8},
		{0x01, 3, 'H', 'e', 'l', 0x89, 4, 'p', 'i', 'n', 'g', 0x80, 2, 'l', 'o'},
		{0x82, 200},
		{0xC1, 1, 'x'},              // RSV1 without an extension
		{0x83, 0},                   // reserved opcode
		{0x09, 1, 'x'},              // fragmented ping
		{0x80, 1, 'x'},              // continuation first
		{0x81, 2, 0xc0, 0xaf},       // overlong UTF-8
		{0x88, 1, 0x03},             // one-byte close payload
		{0x88, 2, 0x03, 0xed},       // close code 1005
		{0x81, 0, 0x82, 0, 0x81, 0}, // empty messages
	}
	for i, s := range seeds {
		f.Add(s, uint8(i%3)*4, uint16(7))
	}
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}, uint8(1), uint16(1))

	p, err := poll.New(&poll.Options{FrameWait: time.Millisecond, MessageTimeout: 2 * time.Second})
	if err != nil {
		f.Skip(err)
	}
	// After a protocol error the server keeps reading what the client
	// still sends for up to CloseTimeout, and only then closes: a client
	// that trickles its stream outlasts any fixed wait shorter than that.
	const closeTimeout = time.Second
	ao := &conn.AcceptOptions{}
	ao.CloseTimeout = closeTimeout
	_, url := serverAccepting(f, p, ao, echo)

	f.Fuzz(func(t *testing.T, data []byte, mode uint8, cut uint16) {
		stream := fuzzStream(data, mode&1 != 0)
		ctx := testCtx(t)
		_, nc := rawClient(t, ctx, url)
		// Write in pieces of cut bytes (or whole), pausing now and then so
		// that pieces arrive on separate wake-ups.
		step := int(cut%512) + 1
		if mode&2 != 0 {
			step = len(stream) + 1
		}
		go func() {
			for i := 0; i < len(stream); i += step {
				if _, err := nc.Write(stream[i:min(i+step, len(stream))]); err != nil {
					return
				}
				if mode&4 != 0 && i/step%4 == 3 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			// No more from the client: the server sees the end of the stream.
			nc.(*net.TCPConn).CloseWrite()
		}()
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(nc)
		reset := false
		if err != nil {
			// A server that has answered the client's close closes the
			// socket; bytes the client sent after its close frame are then
			// unread and the kernel resets the connection, which may cut
			// what was in flight. That is the client's doing. Any other
			// error, a reset included, is the server's.
			if !errors.Is(err, syscall.ECONNRESET) || !sentAfterClose(stream) {
				t.Fatalf("reading what the server sent: %v (the server did not end the connection)", err)
			}
			reset = true
		}

		sent, sentCloses, _ := parseMessages(stream)
		echoed, closes, rest := parseMessages(got)
		if len(rest) > 0 && !reset {
			t.Fatalf("the server sent %d bytes that are not whole frames after %d messages", len(rest), len(echoed))
		}
		got = got[:len(got)-len(rest)]
		for b := got; len(b) > 0; {
			h, n, _ := frame.ParseHeader(b)
			if h.Masked || h.RSV != 0 {
				t.Fatalf("server frame %+v is masked or has RSV bits", h)
			}
			if h.Opcode == frame.OpClose && len(b) != n+int(h.Length) {
				t.Fatalf("%d bytes after the server's close frame", len(b)-n-int(h.Length))
			}
			b = b[n+int(h.Length):]
		}
		if len(echoed) > len(sent) {
			t.Fatalf("%d messages echoed, %d sent", len(echoed), len(sent))
		}
		for i, m := range echoed {
			if m.op != sent[i].op || !bytes.Equal(m.data, sent[i].data) {
				t.Fatalf("echo %d is %v %q, sent %v %q", i, m.op, m.data, sent[i].op, sent[i].data)
			}
		}
		if len(closes) > 1 {
			t.Fatalf("the server sent %d close frames", len(closes))
		}
		if len(closes) == 1 {
			code, _, err := frame.ParseClose(closes[0])
			if err != nil {
				t.Fatalf("the server's close payload %x: %v", closes[0], err)
			}
			switch {
			case code == frame.StatusProtocolError, code == frame.StatusInvalidFramePayloadData,
				code == frame.StatusMessageTooBig, code == frame.StatusNoStatusRcvd:
			case len(sentCloses) > 0 && len(sentCloses[0]) >= 2 && frame.StatusCode(binary.BigEndian.Uint16(sentCloses[0])) == code:
			default:
				t.Fatalf("the server closed with %d; the client's closes were %x", code, sentCloses)
			}
		}
		deadline := time.Now().Add(closeTimeout + 4*time.Second)
		for p.Len() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the poller still serves %d connections after the client left", p.Len())
			}
			time.Sleep(time.Millisecond)
		}
	})
}
