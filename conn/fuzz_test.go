package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
	"github.com/klauspost/compress/flate"
)

// fuzzReadLimit is the session's read limit (and frame limit) under
// FuzzSession, small enough that the fuzzer reaches it.
const fuzzReadLimit = 4096

// fuzzFrame is one frame of a FuzzSession input.
type fuzzFrame struct {
	b0      byte // FIN, RSV and opcode, as the first header byte
	payload []byte
}

// encodeFrames writes frames in FuzzSession's input format: per frame the
// first header byte, a length byte (n < 0x80 is n bytes; n >= 0x80 is
// (n&0x7F)*64 bytes), then the payload.
func encodeFrames(fs ...fuzzFrame) []byte {
	var b []byte
	for _, f := range fs {
		n := len(f.payload)
		if n < 0x80 {
			b = append(b, f.b0, byte(n))
		} else {
			b = append(b, f.b0, 0x80|byte(n/64))
			n = n / 64 * 64
		}
		b = append(b, f.payload[:n]...)
	}
	return b
}

// parseFrames reads a FuzzSession input (see encodeFrames). A payload the
// input cuts short is padded with zeros.
func parseFrames(data []byte) []fuzzFrame {
	var fs []fuzzFrame
	for len(data) >= 2 {
		b0, l := data[0], data[1]
		data = data[2:]
		n := int(l)
		if l >= 0x80 {
			n = int(l&0x7F) * 64
		}
		p := make([]byte, n)
		data = data[copy(p, data):]
		fs = append(fs, fuzzFrame{b0, p})
	}
	return fs
}

// frameSpan is where a frame lies in the stream: its header from start to
// payload, its payload from payload to end.
type frameSpan struct{ start, payload, end int }

// wireBytes is what the peer sends for fs: every frame masked, with a key
// that varies, when the peer is a client; and where each frame lies.
func wireBytes(fs []fuzzFrame, masked bool) ([]byte, []frameSpan) {
	var stream []byte
	var spans []frameSpan
	for i, f := range fs {
		h := frame.Header{
			Fin:    f.b0&0x80 != 0,
			RSV:    frame.RSV(f.b0) & (frame.RSV1 | frame.RSV2 | frame.RSV3),
			Opcode: frame.Opcode(f.b0 & 0xF),
			Masked: masked,
			Length: int64(len(f.payload)),
		}
		p := append([]byte(nil), f.payload...)
		if masked {
			h.Mask = [4]byte{byte(i), 0x5A, byte(len(p)), 0xC3}
			frame.Mask(h.Mask, 0, p)
		}
		start := len(stream)
		stream = frame.AppendHeader(stream, h)
		spans = append(spans, frameSpan{start, len(stream), len(stream) + len(p)})
		stream = append(stream, p...)
	}
	return stream, spans
}

// scriptConn is the session's side of a connection whose peer sent in and
// then ended its side: reads return in, at most chunk bytes at a time
// (any number if 0), then io.EOF; writes are kept in out. Nothing blocks,
// and no write fails because the peer has gone, as they would over
// net.Pipe: what the session does depends on the input alone.
//
// At each offset of in listed in stalls, the read that gets there fails
// once as if its deadline had passed, and the current stallCtx expires:
// the session sees its context expire in the middle of whatever it was
// reading.
type scriptConn struct {
	mu      sync.Mutex
	in      []byte
	pos     int // bytes of in read so far
	chunk   int
	stalls  []int // offsets of in, increasing
	current *stallCtx
	// readDeadline is what raw sets to interrupt a read under a context
	// that is done; reads fail while it has passed.
	readDeadline time.Time
	out          []byte
	closed       bool
}

// stallCtx is the context of one read of the session: it is done, with
// DeadlineExceeded, for good, once the connection has stalled under it.
// raw watches it as any context: once done, a read under it fails at once
// (the read deadline raw sets in the past), as over a real socket.
type stallCtx struct {
	context.Context
	sc      *scriptConn
	done    chan struct{}
	expired bool // guarded by sc.mu
}

func (c *stallCtx) Done() <-chan struct{} { return c.done }
func (c *stallCtx) Err() error {
	c.sc.mu.Lock()
	defer c.sc.mu.Unlock()
	if c.expired {
		return context.DeadlineExceeded
	}
	return nil
}

// newStallCtx returns the context of the session's next read.
func (c *scriptConn) newStallCtx(parent context.Context) *stallCtx {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = &stallCtx{Context: parent, sc: c, done: make(chan struct{})}
	return c.current
}

func (c *scriptConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case !c.readDeadline.IsZero() && !time.Now().Before(c.readDeadline):
		return 0, os.ErrDeadlineExceeded
	case len(c.stalls) > 0 && c.stalls[0] == c.pos:
		c.stalls = c.stalls[1:]
		if c.current != nil && !c.current.expired {
			c.current.expired = true
			close(c.current.done)
		}
		return 0, os.ErrDeadlineExceeded
	case c.pos == len(c.in):
		return 0, io.EOF
	}
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	end := len(c.in)
	if len(c.stalls) > 0 {
		end = c.stalls[0]
	}
	n := copy(p, c.in[c.pos:end])
	c.pos += n
	return n, nil
}

func (c *scriptConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *scriptConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *scriptConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out
}

type scriptAddr struct{}

func (scriptAddr) Network() string { return "script" }
func (scriptAddr) String() string  { return "script" }

func (c *scriptConn) LocalAddr() net.Addr           { return scriptAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr          { return scriptAddr{} }
func (c *scriptConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }
func (c *scriptConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDeadline = t
	return nil
}
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// echoed is a data message the peer received.
type echoed struct {
	typ  conn.MessageType
	data []byte
}

// peerView is what the peer received from the session.
type peerView struct {
	msgs      []echoed // whole data messages, decompressed
	pongs     [][]byte
	closeCode frame.StatusCode // of the session's close frame; 0 if none came
	err       error            // a rule the session broke, if any
}

// watchSession reads what the session wrote, out, as the peer in role
// would, having agreed peer (nil for none), and checks it: frames the
// peer may receive, compressed messages that decode, close payloads that
// parse, and nothing after the close frame (RFC 6455, Section 5.5.1). A
// message the session had not finished when it ended is left out.
func watchSession(out []byte, role raw.Role, peer extension.Agreed) peerView {
	var rsv frame.RSV
	var dec extension.Decoder
	if peer != nil {
		rsv, dec = peer.RSV(), peer.NewDecoder()
	}
	rc := raw.New(&scriptConn{in: out}, nil, role, &raw.Options{MaxFrameSize: -1, AllowedRSV: rsv})
	defer rc.Close()
	var v peerView
	var msg []byte
	var first frame.Header
	for {
		h, err := rc.NextFrame(context.Background())
		if err != nil {
			var pe *frame.ProtocolError
			if errors.As(err, &pe) {
				v.err = fmt.Errorf("session sent an illegal frame: %w", err)
			}
			return v
		}
		if v.closeCode != 0 {
			v.err = fmt.Errorf("session sent a %v frame after its close frame", h.Opcode)
			return v
		}
		p, err := io.ReadAll(rc)
		if err != nil || int64(len(p)) < h.Length {
			v.err = fmt.Errorf("session wrote a frame cut short: %v", err)
			return v
		}
		switch h.Opcode {
		case frame.OpClose:
			code, _, err := frame.ParseClose(p)
			if err != nil {
				v.err = fmt.Errorf("session sent close payload %x: %w", p, err)
				return v
			}
			v.closeCode = code
		case frame.OpPong:
			v.pongs = append(v.pongs, p)
		case frame.OpPing:
		default:
			if h.Opcode != frame.OpContinuation {
				first, msg = h, nil
			}
			msg = append(msg, p...)
			if !h.Fin {
				continue
			}
			if dec != nil {
				r, err := dec.Decode(bytes.NewReader(msg), &extension.Message{Opcode: first.Opcode, RSV: first.RSV, Size: int64(len(msg))})
				if err == nil && r != nil {
					msg, err = io.ReadAll(r)
					r.Close()
				}
				if err != nil {
					v.err = fmt.Errorf("session sent a compressed message that does not decode: %w", err)
					return v
				}
			}
			v.msgs = append(v.msgs, echoed{conn.MessageType(first.Opcode), msg})
		}
	}
}

// FuzzSession drives the Default session, as a server or as a client,
// with or without permessage-deflate, with what a peer sent before it
// ended its side (scriptConn): the frames an input describes (see
// encodeFrames), masked if the peer is a client, or the input's bytes as
// they are. The session echoes every message until a read fails. It must
// not panic or hang, what it sends must follow the protocol (watchSession),
// a further read must carry a close status, and no goroutine may be left
// behind.
//
// From frames, the session must do what modelSession says: deliver the
// same messages, answer the same pings, and end with the same status, at
// the same frame (the peer's close code, echoed; 1002, 1007 or 1009, sent
// in its close frame; or 1006 at the end of the stream), except that a
// compressed message, whose content the model does not know, may end it
// with 1007 or 1009. From raw bytes, the read must end with a status that
// makes sense (checkPlausible).
//
// mode: bit 0 the input's bytes as they are, bit 1 echo through Reader
// and Writer rather than Read and Write, bit 2 the session is the client,
// bit 3 permessage-deflate agreed (context takeover both ways), bits 4-7
// k: the session's reads get at most k*k bytes (no limit if k is 0), bits
// 8-15 k: with neither bit 1 nor bit 3, a read is cut short by its
// context every k bytes of the stream (see scriptConn).
func FuzzSession(f *testing.F) {
	text := func(fin bool, s string) fuzzFrame { return fuzzFrame{b(fin) | 0x1, []byte(s)} }
	bin := func(fin bool, s string) fuzzFrame { return fuzzFrame{b(fin) | 0x2, []byte(s)} }
	cont := func(fin bool, s string) fuzzFrame { return fuzzFrame{b(fin) | 0x0, []byte(s)} }
	ctrl := func(op byte, s string) fuzzFrame { return fuzzFrame{0x80 | op, []byte(s)} }
	closeF := func(code frame.StatusCode, reason string) fuzzFrame {
		return fuzzFrame{0x88, frame.AppendClose(nil, code, reason)}
	}
	rawClose := func(p ...byte) fuzzFrame { return fuzzFrame{0x88, p} }
	seeds := [][]fuzzFrame{
		{text(true, "Hello"), closeF(1000, "")},
		{text(false, "Hel"), cont(true, "lo"), closeF(1000, "bye")},
		{text(false, "Hel"), ctrl(0x9, "ping"), cont(true, "lo"), closeF(1001, "")},
		{bin(true, strings.Repeat("\x00", 256)), ctrl(0xA, "unsolicited"), closeF(3000, "app")},
		{bin(false, "a"), cont(false, "b"), cont(true, "c")}, // then EOF: 1006
		{text(true, "")},
		{fuzzFrame{0xC1, []byte("x")}},        // RSV1
		{fuzzFrame{0xA1, []byte("x")}},        // RSV2
		{fuzzFrame{0x91, []byte("x")}},        // RSV3
		{fuzzFrame{0x83, nil}},                // reserved opcode
		{fuzzFrame{0x8B, nil}},                // reserved control opcode
		{fuzzFrame{0x09, []byte("x")}},        // fragmented ping
		{ctrl(0x9, strings.Repeat("p", 126))}, // control frame too long
		{cont(true, "x")},                     // continuation first
		{text(false, "a"), text(true, "b")},   // data frame inside a message
		{text(true, "\xed\xa0\x80")},          // surrogate
		{text(true, "\xf4\x90\x80\x80")},      // above U+10FFFF
		{text(true, "\xc0\xaf")},              // overlong
		{text(false, "ok\xf4\x90"), cont(true, "\x80\x80")},
		{text(false, "ok"), cont(true, "\xe2\x82")}, // cut short at the end
		{text(true, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")},
		{bin(true, strings.Repeat("z", fuzzReadLimit+64))},                                                         // frame too big
		{bin(false, strings.Repeat("z", 2048)), cont(true, strings.Repeat("z", 2112))},                             // message too big
		{bin(false, strings.Repeat("y", fuzzReadLimit-64)), cont(true, strings.Repeat("y", 64))},                   // exactly the limit
		{bin(false, strings.Repeat("y", fuzzReadLimit-64)), cont(false, strings.Repeat("y", 64)), cont(true, "y")}, // one byte over
		{rawClose()},                                                           // 1005
		{rawClose(0x03)},                                                       // one byte
		{rawClose(0x00, 0x00)}, {rawClose(0x03, 0xe7)}, {rawClose(0x03, 0xec)}, // 0, 999, 1004
		{rawClose(0x03, 0xed)}, {rawClose(0x03, 0xee)}, {rawClose(0x03, 0xf8)}, // 1005, 1006, 1016
		{rawClose(0x0b, 0xb7)}, {rawClose(0x13, 0x88)}, {rawClose(0x0f, 0x9f)}, // 2999, 5000, 3999
		{rawClose(0x03, 0xe8, 0xff)}, // bad reason
		{closeF(1008, "policy")}, {closeF(1014, "")}, {closeF(4999, "last")},
		{closeF(1000, ""), text(true, "after close")},
	}
	for i, s := range seeds {
		f.Add(encodeFrames(s...), uint16(i%16)&^1|uint16(i%5)<<4)
	}
	// Reads cut short by their context every few bytes, as server and as
	// client.
	for i, s := range seeds {
		f.Add(encodeFrames(s...), uint16(1+i%9)<<8|uint16(i%2)<<2|uint16(i%3)<<4)
	}
	// Compressed messages: RFC 7692's "Hello" (Section 7.2.3.1), the same
	// in two fragments and with its second message on the window
	// (7.2.3.2), a stored block (7.2.3.3), a bomb past the read limit,
	// corrupt data, RSV1 on a continuation and on a ping.
	hello := "\xf2\x48\xcd\xc9\xc9\x07\x00"
	comp := func(fin bool, s string) fuzzFrame { return fuzzFrame{b(fin) | 0x41, []byte(s)} }
	bomb := func() string {
		var buf strings.Builder
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(make([]byte, 64<<10))
		w.Flush()
		return strings.TrimSuffix(buf.String(), "\x00\x00\xff\xff")
	}()
	deflateSeeds := [][]fuzzFrame{
		{comp(true, hello), closeF(1000, "")},
		{comp(false, "\xf2\x48\xcd"), cont(true, "\xc9\xc9\x07\x00"), closeF(1000, "")},
		{comp(true, hello), comp(true, "\xf2\x00\x11\x00\x00")},
		{comp(true, "\x00\x05\x00\xfa\xffHello\x00")},
		{comp(true, bomb)},
		{comp(true, "\xff\xff\xff\xff")},
		{comp(false, "\xf2\x48\xcd"), fuzzFrame{0xC0, []byte("\xc9\xc9\x07\x00")}},
		{fuzzFrame{0xC9, []byte("p")}},
		{text(true, "plain"), comp(true, hello)},
	}
	for i, s := range deflateSeeds {
		f.Add(encodeFrames(s...), uint16(8|i%4<<1))
	}
	// The same frames as raw bytes, some of them unmasked.
	f.Add([]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, uint16(1))
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x88, 0x80, 1, 2, 3, 4}, uint16(1))
	f.Add([]byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, uint16(3))
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa}, uint16(1))

	f.Fuzz(func(t *testing.T, data []byte, mode uint16) {
		base := runtime.NumGoroutine()
		sm := sessionMode{
			streaming: mode&2 != 0,
			role:      raw.Server,
			compress:  mode&8 != 0,
			chunk:     int(mode >> 4 & 15 * (mode >> 4 & 15)),
		}
		if mode&4 != 0 {
			sm.role = raw.Client
		}
		rawMode := mode&1 != 0
		var frames []fuzzFrame
		var spans []frameSpan
		stream := data
		if !rawMode {
			frames = parseFrames(data)
			stream, spans = wireBytes(frames, sm.role == raw.Server)
			if k := int(mode >> 8); k > 0 && !sm.streaming && !sm.compress {
				for s := k; s < len(stream) && len(sm.stalls) < 256; s += k {
					sm.stalls = append(sm.stalls, s)
				}
			}
		}
		view, err, second := runSession(t, stream, sm)

		if conn.CloseStatus(second) == 0 {
			t.Fatalf("a read after %v failed with %v, which carries no close status", err, second)
		}
		if view.err != nil {
			t.Fatal(view.err)
		}
		if rawMode {
			checkPlausible(t, err, view)
		} else {
			checkModel(t, modelSession(frames, spans, sm.stalls, sm.compress, fuzzReadLimit), err, view)
		}

		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// checkPlausible checks how a session fed arbitrary bytes ended: 1002,
// 1007 or 1009 for a *ProtocolError (and the same code in the close frame
// it sent), 1006 when the connection just ended, or for the peer's
// *CloseError a code that may be sent (1005 for an empty close frame).
func checkPlausible(t *testing.T, err error, view peerView) {
	t.Helper()
	code := conn.CloseStatus(err)
	var pe *conn.ProtocolError
	var ce *conn.CloseError
	switch {
	case errors.As(err, &pe):
		if code != 1002 && code != 1007 && code != 1009 {
			t.Fatalf("protocol error with close code %d: %v", code, err)
		}
		if view.closeCode != code {
			t.Fatalf("session failed with %d but sent close code %d", code, view.closeCode)
		}
	case errors.As(err, &ce) && code == conn.StatusAbnormalClosure:
	case errors.As(err, &ce):
		if !code.ValidOnWire() && code != conn.StatusNoStatusRcvd {
			t.Fatalf("read ended with the peer's close code %d, which cannot be sent: %v", code, err)
		}
	default:
		t.Fatalf("read ended with %v, close status %d", err, code)
	}
}

func b(fin bool) byte {
	if fin {
		return 0x80
	}
	return 0
}

// sessionMode is how FuzzSession runs a session: echoing through Reader
// and Writer (streaming) or Read and Write, in role, with
// permessage-deflate if compress, reading at most chunk bytes at a time
// (any number if 0).
type sessionMode struct {
	streaming bool
	role      raw.Role
	compress  bool
	chunk     int
	stalls    []int // see scriptConn
}

// runSession runs an echoing session, as m says, on a connection whose
// peer sent stream and then ended its side, and returns the error the
// session's read ended with, the error a further read gives, and what the
// peer received.
func runSession(t *testing.T, stream []byte, m sessionMode) (view peerView, err, second error) {
	var header string
	var sessAgreed, peerAgreed []extension.Agreed
	if m.compress {
		x := []extension.Extension{deflate.New(nil)}
		var srv, cli []extension.Agreed
		header, srv, err = extension.Negotiate(x, extension.Offers(x))
		if err == nil {
			cli, err = extension.Confirm(x, header)
		}
		if err != nil || len(srv) != 1 || len(cli) != 1 {
			t.Fatalf("permessage-deflate not agreed: %q, %v", header, err)
		}
		sessAgreed, peerAgreed = srv, cli
		if m.role == raw.Client {
			sessAgreed, peerAgreed = cli, srv
		}
	}
	sc := &scriptConn{in: stream, chunk: m.chunk, stalls: m.stalls}
	res := &handshake.Result{Conn: sc, Extensions: header}
	c := conn.NewFromResult(res, m.role, sessAgreed, &conn.Options{ReadLimit: fuzzReadLimit, CloseTimeout: time.Second, ReadBufferSize: 512, WriteBufferSize: 512})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		if i > len(stream)+len(m.stalls) {
			t.Fatalf("more messages than bytes in the stream")
		}
		if m.streaming {
			err = echoStream(ctx, c)
		} else {
			var typ conn.MessageType
			var p []byte
			typ, p, err = c.Read(sc.newStallCtx(ctx))
			if err == nil {
				c.Write(ctx, typ, p) // a write error shows in the next read
			}
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				continue // a stall: the session goes on with a new context
			}
		}
		if err != nil {
			break
		}
	}
	hung := ctx.Err() != nil
	_, _, second = c.Read(ctx)
	c.CloseNow()
	if hung {
		t.Fatalf("session still reading after 5s; last error %v", err)
	}
	peerRole := raw.Client
	if m.role == raw.Client {
		peerRole = raw.Server
	}
	var pa extension.Agreed
	if len(peerAgreed) > 0 {
		pa = peerAgreed[0]
	}
	return watchSession(sc.written(), peerRole, pa), err, second
}

// echoStream echoes one message through Reader and Writer.
func echoStream(ctx context.Context, c *conn.Conn) error {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	w, err := c.Writer(ctx, typ)
	if err != nil {
		w = nil // a write error shows in the next read
	}
	var buf [700]byte
	for {
		n, rerr := r.Read(buf[:])
		if n > 0 && w != nil {
			if _, err := w.Write(buf[:n]); err != nil {
				w.Close()
				w = nil
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if w != nil {
				w.Close()
			}
			return rerr
		}
	}
	if w != nil {
		w.Close()
	}
	return nil
}
