package raw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// fuzzMaxFrame bounds the memory a fuzzed session may ask for.
const fuzzMaxFrame = 1 << 20

// bytesConn is a net.Conn that reads a fixed byte stream, at most chunk
// bytes per Read, then io.EOF; writes are discarded.
type bytesConn struct {
	r     *bytes.Reader
	chunk int
}

func (c *bytesConn) Read(p []byte) (int, error) {
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.r.Read(p)
}
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }

// refFrame is one frame as a straightforward reading of RFC 6455, Section
// 5.2 sees it.
type refFrame struct {
	h       frame.Header
	payload []byte // unmasked; shorter than h.Length when the stream ends inside it
	err     error  // the error NextFrame must give instead of h
}

// reference splits stream into the frames a receiver in role must see,
// ending with the error that stops it.
func reference(stream []byte, role raw.Role) []refFrame {
	var out []refFrame
	inMsg := false
	for off := 0; ; {
		if off == len(stream) {
			return append(out, refFrame{err: io.EOF})
		}
		rest := stream[off:]
		if len(rest) < 2 || len(rest) < headerSize(rest[1]) {
			// Cut short inside the header: whatever the bytes that did
			// arrive say (a 64-bit length with its top bit set, say), a
			// receiver that reads whole headers sees the stream end.
			return append(out, refFrame{err: io.ErrUnexpectedEOF})
		}
		h, n, err := frame.ParseHeader(rest)
		if err != nil {
			return append(out, refFrame{err: err})
		}
		off += n
		if err := frame.Check(h, role, 0); err != nil {
			return append(out, refFrame{err: err})
		}
		if h.Opcode.IsData() {
			if err := frame.CheckSequence(h.Opcode, inMsg); err != nil {
				return append(out, refFrame{err: err})
			}
			inMsg = !h.Fin
		}
		if h.Length > fuzzMaxFrame {
			return append(out, refFrame{err: frame.ErrFrameTooBig})
		}
		end := off + int(h.Length)
		if end > len(stream) {
			end = len(stream)
		}
		p := bytes.Clone(stream[off:end])
		if h.Masked {
			for i := range p {
				p[i] ^= h.Mask[i%4]
			}
		}
		out = append(out, refFrame{h: h, payload: p})
		if int64(end-off) < h.Length {
			return append(out, refFrame{err: io.ErrUnexpectedEOF})
		}
		off = end
	}
}

// headerSize is the size of a header whose second byte is b1.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// FuzzRawRead feeds an arbitrary byte stream to a Raw session, as server
// and as client, and compares what NextFrame and Read give with a
// reference reading of RFC 6455, Section 5.2: the same headers, the same
// unmasked payloads (never more bytes than the header declares), and the
// same final error, which is io.EOF, io.ErrUnexpectedEOF or a
// *frame.ProtocolError. The stream is read in chunks of the fuzzer's
// choosing, with a prefix handed over as the handshake's buffered bytes;
// frames whose payload the fuzzer says to skip are left for NextFrame to
// discard. MaxFrameSize is 1 MiB, so memory stays bounded.
func FuzzRawRead(f *testing.F) {
	seeds := [][]byte{
		{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
		{0x01, 0x83, 1, 2, 3, 4, 0x49, 0x67, 0x6f, 0x89, 0x80, 1, 2, 3, 4, 0x80, 0x82, 1, 2, 3, 4, 0x6d, 0x6d},
		{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		append([]byte{0x82, 0x7E, 0x01, 0x00}, make([]byte, 256)...),
		append([]byte{0x82, 0xFE, 0x01, 0x00, 9, 8, 7, 6}, make([]byte, 256)...),
		append([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x10, 0x00}, make([]byte, 4096)...),
		{0x82, 0x7F, 0, 0, 0, 0, 0, 0x10, 0x00, 0x01},    // 1 MiB + 1: too big
		{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},          // length overflow
		{0xC1, 0x80, 1, 2, 3, 4},                         // RSV1
		{0xA1, 0x80, 1, 2, 3, 4},                         // RSV2
		{0x91, 0x80, 1, 2, 3, 4},                         // RSV3
		{0x83, 0x80, 1, 2, 3, 4},                         // reserved opcode
		{0x8B, 0x80, 1, 2, 3, 4},                         // reserved control opcode
		{0x09, 0x80, 1, 2, 3, 4},                         // fragmented ping
		{0x89, 0xFE, 0x00, 0x7E, 1, 2, 3, 4},             // 126-byte ping
		{0x80, 0x80, 1, 2, 3, 4},                         // continuation first
		{0x01, 0x80, 1, 2, 3, 4, 0x81, 0x80, 1, 2, 3, 4}, // text inside a message
		{0x88, 0x82, 1, 2, 3, 4, 0x02, 0xea},             // masked close 1000
		{0x88, 0x81, 1, 2, 3, 4, 0x02},                   // one-byte close
		{0x81, 0x85, 1, 2},                               // cut inside the header
		{0x81, 0x85, 1, 2, 3, 4, 0x49},                   // cut inside the payload
	}
	for i, s := range seeds {
		f.Add(s, uint16(i%5), uint16(i*7%64), uint16(i%3*100), uint16(i))
		// The same bytes unmasked, for the client.
		if h, n, err := frame.ParseHeader(s); err == nil && h.Masked {
			h.Masked = false
			u := frame.AppendHeader(nil, h)
			p := bytes.Clone(s[n:])
			frame.Mask(h.Mask, 0, p)
			f.Add(append(u, p...), uint16(0), uint16(1), uint16(0), uint16(0xFFFF))
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, nbuf, chunk, rbuf, skip uint16) {
		for _, role := range []raw.Role{raw.Server, raw.Client} {
			readStream(t, stream, role, int(nbuf), int(chunk), int(rbuf), skip)
		}
	})
}

func readStream(t *testing.T, stream []byte, role raw.Role, nbuf, chunk, rbuf int, skip uint16) {
	nbuf = min(nbuf, len(stream))
	nc := &bytesConn{r: bytes.NewReader(stream[nbuf:]), chunk: chunk}
	c := raw.New(nc, stream[:nbuf], role, &raw.Options{MaxFrameSize: fuzzMaxFrame, ReadBufferSize: rbuf})
	defer c.Close()
	want := reference(stream, role)
	ctx := context.Background()
	buf := make([]byte, 1+chunk*3%5000)
	for i, w := range want {
		h, err := c.NextFrame(ctx)
		if w.err != nil {
			if err != w.err {
				t.Fatalf("role %d, frame %d: NextFrame error %v, want %v", role, i, err, w.err)
			}
			var pe *frame.ProtocolError
			if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
				t.Fatalf("role %d: NextFrame ended with %v", role, err)
			}
			// The read side stays failed.
			if _, err2 := c.NextFrame(ctx); err2 != err {
				t.Fatalf("role %d: NextFrame after %v gave %v", role, err, err2)
			}
			return
		}
		if err != nil || h != w.h {
			t.Fatalf("role %d, frame %d: NextFrame = %+v, %v; want %+v", role, i, h, err, w.h)
		}
		if c.Remaining() != h.Length {
			t.Fatalf("role %d: Remaining() = %d after a header of length %d", role, c.Remaining(), h.Length)
		}
		if skip&(1<<(i%16)) != 0 {
			continue // leave the payload to NextFrame
		}
		var got []byte
		for {
			n, err := c.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned n = %d", n)
			}
			got = append(got, buf[:n]...)
			if int64(len(got)) > h.Length {
				t.Fatalf("role %d: read %d payload bytes from a frame of length %d", role, len(got), h.Length)
			}
			if err == io.EOF {
				if int64(len(got)) != h.Length {
					t.Fatalf("role %d: io.EOF after %d of %d bytes", role, len(got), h.Length)
				}
				break
			}
			if err != nil {
				if err != io.ErrUnexpectedEOF || int64(len(got)) == h.Length {
					t.Fatalf("role %d: Read error %v after %d of %d bytes", role, err, len(got), h.Length)
				}
				break
			}
			if n == 0 {
				t.Fatalf("role %d: Read returned 0, nil", role)
			}
		}
		if !bytes.Equal(got, w.payload) {
			t.Fatalf("role %d, frame %d: payload %x, want %x", role, i, got, w.payload)
		}
	}
	t.Fatalf("role %d: the reference has no final error", role)
}
