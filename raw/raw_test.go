package raw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// readerConn is a net.Conn whose reads come from r; writes go to w.
type readerConn struct {
	net.Conn // nil: only the methods below are used
	r        io.Reader
	w        bytes.Buffer
}

func (c *readerConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *readerConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *readerConn) Close() error                     { return nil }
func (c *readerConn) SetReadDeadline(time.Time) error  { return nil }
func (c *readerConn) SetWriteDeadline(time.Time) error { return nil }
func (c *readerConn) SetDeadline(t time.Time) error    { return nil }

type shape struct {
	h frame.Header
	n int
}

// shapes covers every length encoding around its boundaries, masked and
// not, each opcode and RSV bit.
func shapes(masked bool) []shape {
	var s []shape
	for _, n := range []int{0, 1, 125, 126, 127, 1000, 65535, 65536, 70000} {
		for _, op := range []frame.Opcode{frame.OpText, frame.OpBinary} {
			s = append(s, shape{frame.Header{Fin: true, Opcode: op, Masked: masked, Mask: [4]byte{0xa, 0xb, 0xc, 0xd}}, n})
		}
	}
	for _, op := range []frame.Opcode{frame.OpPing, frame.OpPong, frame.OpClose} {
		for _, n := range []int{0, 2, 125} {
			s = append(s, shape{frame.Header{Fin: true, Opcode: op, Masked: masked, Mask: [4]byte{1, 2, 3, 4}}, n})
		}
	}
	// A fragmented message with RSV bits an extension owns.
	s = append(s,
		shape{frame.Header{Opcode: frame.OpText, RSV: frame.RSV1, Masked: masked, Mask: [4]byte{9, 8, 7, 6}}, 300},
		shape{frame.Header{Opcode: frame.OpPing, Fin: true, Masked: masked}, 5},
		shape{frame.Header{Opcode: frame.OpContinuation, RSV: frame.RSV2 | frame.RSV3, Masked: masked}, 0},
		shape{frame.Header{Opcode: frame.OpContinuation, Fin: true, Masked: masked}, 200},
	)
	return s
}

func payload(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + seed)
	}
	return p
}

func encode(shapes []shape) []byte {
	var b []byte
	for i, s := range shapes {
		h := s.h
		h.Length = int64(s.n)
		b = frame.AppendHeader(b, h)
		p := payload(s.n, i)
		if h.Masked {
			frame.Mask(h.Mask, 0, p)
		}
		b = append(b, p...)
	}
	return b
}

func TestReadEveryShape(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"plain":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader,
	}
	for _, role := range []raw.Role{raw.Server, raw.Client} {
		ss := shapes(role == raw.Server)
		wire := encode(ss)
		for name, wrap := range readers {
			for _, bufSize := range []int{0, 7, 4096} {
				c := raw.New(&readerConn{r: wrap(bytes.NewReader(wire))}, nil, role, &raw.Options{
					AllowedRSV: frame.RSV1 | frame.RSV2 | frame.RSV3, ReadBufferSize: bufSize,
				})
				for i, s := range ss {
					h, err := c.NextFrame(context.Background())
					if err != nil {
						t.Fatalf("role %v %s buf %d frame %d: %v", role, name, bufSize, i, err)
					}
					if h.Opcode != s.h.Opcode || h.Fin != s.h.Fin || h.RSV != s.h.RSV || h.Length != int64(s.n) {
						t.Fatalf("frame %d: got %+v want %+v len %d", i, h, s.h, s.n)
					}
					// Alternate byte-wise and bulk payload reads.
					var pr io.Reader = c
					if i%2 == 0 {
						pr = iotest.OneByteReader(c)
					}
					got, err := io.ReadAll(pr)
					if err != nil || !bytes.Equal(got, payload(s.n, i)) {
						t.Fatalf("role %v %s frame %d: payload mismatch (err %v, len %d)", role, name, i, err, len(got))
					}
				}
				if _, err := c.NextFrame(context.Background()); err != io.EOF {
					t.Fatalf("%s: after last frame: %v, want io.EOF", name, err)
				}
			}
		}
	}
}

func TestSkipUnreadPayload(t *testing.T) {
	ss := shapes(true)
	c := raw.New(&readerConn{r: iotest.HalfReader(bytes.NewReader(encode(ss)))}, nil, raw.Server,
		&raw.Options{AllowedRSV: frame.RSV1 | frame.RSV2 | frame.RSV3})
	for i, s := range ss {
		h, err := c.NextFrame(context.Background())
		if err != nil || h.Length != int64(s.n) {
			t.Fatalf("frame %d: %v %+v", i, err, h)
		}
	}
}

func TestBufferedBytesReadFirst(t *testing.T) {
	wire := encode([]shape{{frame.Header{Fin: true, Opcode: frame.OpText, Masked: true}, 300}, {frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true}, 5}})
	// The first 200 bytes were read by the handshake.
	c := raw.New(&readerConn{r: bytes.NewReader(wire[200:])}, wire[:200], raw.Server, nil)
	for i, n := range []int{300, 5} {
		if _, err := c.NextFrame(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(c)
		if !bytes.Equal(got, payload(n, i)) {
			t.Fatalf("frame %d mismatch", i)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name string
		role raw.Role
		h    []frame.Header
		want error
	}{
		{"unmasked to server", raw.Server, []frame.Header{{Fin: true, Opcode: frame.OpText}}, frame.ErrUnmasked},
		{"masked to client", raw.Client, []frame.Header{{Fin: true, Opcode: frame.OpText, Masked: true}}, frame.ErrMasked},
		{"rsv", raw.Client, []frame.Header{{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1}}, frame.ErrReservedBits},
		{"opcode", raw.Client, []frame.Header{{Fin: true, Opcode: 0xB}}, frame.ErrReservedOpcode},
		{"control fragmented", raw.Client, []frame.Header{{Opcode: frame.OpPong}}, frame.ErrFragmentedControl},
		{"control long", raw.Client, []frame.Header{{Fin: true, Opcode: frame.OpClose, Length: 126}}, frame.ErrControlTooLong},
		{"lone continuation", raw.Client, []frame.Header{{Fin: true, Opcode: frame.OpContinuation}}, frame.ErrUnexpectedContinuation},
		{"nested message", raw.Client, []frame.Header{{Opcode: frame.OpText}, {Fin: true, Opcode: frame.OpBinary}}, frame.ErrExpectedContinuation},
		{"frame too big", raw.Client, []frame.Header{{Fin: true, Opcode: frame.OpBinary, Length: 1 << 40}}, frame.ErrFrameTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wire []byte
			for _, h := range tt.h {
				wire = frame.AppendHeader(wire, h)
				if h.Length < 200 {
					wire = append(wire, make([]byte, h.Length)...)
				}
			}
			c := raw.New(&readerConn{r: bytes.NewReader(wire)}, nil, tt.role, nil)
			var err error
			for range tt.h {
				if _, err = c.NextFrame(context.Background()); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) || pe.Code == 0 {
				t.Fatalf("no close code in %v", err)
			}
			// The failure sticks.
			if _, err2 := c.NextFrame(context.Background()); !errors.Is(err2, tt.want) {
				t.Fatalf("second call: %v", err2)
			}
		})
	}
}

func TestTruncatedFrame(t *testing.T) {
	wire := encode([]shape{{frame.Header{Fin: true, Opcode: frame.OpBinary}, 1000}})
	for _, cut := range []int{1, 3, 500} {
		c := raw.New(&readerConn{r: bytes.NewReader(wire[:cut])}, nil, raw.Client, nil)
		_, err := c.NextFrame(context.Background())
		if err == nil {
			_, err = io.ReadAll(c)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
}

func TestWriteFrameMasksCopy(t *testing.T) {
	rc := &readerConn{r: bytes.NewReader(nil)}
	c := raw.New(rc, nil, raw.Client, &raw.Options{WriteBufferSize: 256})
	p := payload(5000, 3)
	orig := bytes.Clone(p)
	if err := c.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpBinary}, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, orig) {
		t.Fatal("WriteFrame modified the caller's payload")
	}
	h, n, err := frame.ParseHeader(rc.w.Bytes())
	if err != nil || !h.Masked || h.Length != 5000 {
		t.Fatalf("%+v %v", h, err)
	}
	got := rc.w.Bytes()[n:]
	frame.Mask(h.Mask, 0, got)
	if !bytes.Equal(got, orig) {
		t.Fatal("masked payload does not unmask to the original")
	}
}

func TestWriteFrameRefusesIllegal(t *testing.T) {
	c := raw.New(&readerConn{r: bytes.NewReader(nil)}, nil, raw.Server, nil)
	ctx := context.Background()
	for _, h := range []frame.Header{
		{Fin: true, Opcode: 3},
		{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1},
		{Opcode: frame.OpPing},
	} {
		if err := c.WriteFrame(ctx, h, nil); err == nil {
			t.Fatalf("%+v accepted", h)
		}
	}
	if err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, make([]byte, 126)); err == nil {
		t.Fatal("126-byte ping accepted")
	}
	// With AllowIllegalWrites the same frames go out as given.
	rc := &readerConn{r: bytes.NewReader(nil)}
	c = raw.New(rc, nil, raw.Client, &raw.Options{AllowIllegalWrites: true})
	if err := c.WriteFrame(ctx, frame.Header{Opcode: 3, RSV: frame.RSV3}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := rc.w.Bytes(); !bytes.Equal(got, []byte{0x13, 0x01, 'x'}) {
		t.Fatalf("got % x", got)
	}
}

func TestCancelKeepsConnection(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := raw.New(a, nil, raw.Client, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.NextFrame(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// Half a header arrives, then the context ends, then the rest.
	wire := encode([]shape{{frame.Header{Fin: true, Opcode: frame.OpText}, 300}})
	go b.Write(wire[:3])
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c.NextFrame(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	go b.Write(wire[3:])
	h, err := c.NextFrame(context.Background())
	if err != nil || h.Length != 300 {
		t.Fatalf("%+v %v", h, err)
	}
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, payload(300, 0)) {
		t.Fatalf("payload after cancels: %v", err)
	}
}
