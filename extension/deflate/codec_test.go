package deflate

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
)

// pair returns the encoder of one end and the decoder of the other for an
// agreement seen from the sender.
func pair(x *Extension, bits int, noCtx bool) (*encoder, *decoder) {
	send := &agreed{x: x, sendBits: bits, sendNoCtx: noCtx, recvBits: 15}
	recv := &agreed{x: x, recvBits: bits, recvNoCtx: noCtx, sendBits: 15}
	return send.NewEncoder().(*encoder), recv.NewDecoder().(*decoder)
}

// encode compresses p as one message, written in chunks of chunk bytes
// (all at once if chunk is 0), and returns the payload and its RSV bits.
func encode(t testing.TB, e *encoder, p []byte, size int64, chunk int) ([]byte, frame.RSV) {
	t.Helper()
	var out bytes.Buffer
	m := &extension.Message{Opcode: frame.OpBinary, Size: size}
	w, err := e.Encode(&out, m)
	if err != nil {
		t.Fatal(err)
	}
	if w == nil {
		return p, m.RSV
	}
	if chunk == 0 {
		chunk = len(p) + 1
	}
	for q := p; len(q) > 0; {
		k := min(chunk, len(q))
		if _, err := w.Write(q[:k]); err != nil {
			t.Fatal(err)
		}
		q = q[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), m.RSV
}

// decode decompresses one message payload received with rsv.
func decode(t testing.TB, d *decoder, payload []byte, rsv frame.RSV, oneByte bool) ([]byte, error) {
	t.Helper()
	var r io.Reader = bytes.NewReader(payload)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	rc, err := d.Decode(r, &extension.Message{Opcode: frame.OpBinary, RSV: rsv, Size: -1})
	if err != nil {
		return nil, err
	}
	if rc == nil {
		return payload, nil
	}
	defer rc.Close()
	if oneByte {
		var out []byte
		var b [1]byte
		for {
			n, err := rc.Read(b[:])
			out = append(out, b[:n]...)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
		}
	}
	return io.ReadAll(rc)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestGoldenDecode decodes the examples of RFC 7692, Section 7.2.3.
func TestGoldenDecode(t *testing.T) {
	tests := []struct {
		name  string
		noCtx bool
		msgs  []string // payloads, hex
	}{
		{"7.2.3.1 one compressed block", false, []string{"f2 48 cd c9 c9 07 00"}},
		{"7.2.3.2 sharing the window", false, []string{"f2 48 cd c9 c9 07 00", "f2 00 11 00 00"}},
		{"7.2.3.2 first message again without takeover", true, []string{"f2 48 cd c9 c9 07 00", "f2 48 cd c9 c9 07 00"}},
		{"7.2.3.3 no compression", false, []string{"00 05 00 fa ff 48 65 6c 6c 6f 00"}},
		{"7.2.3.4 BFINAL set", false, []string{"f3 48 cd c9 c9 07 00 00"}},
		{"7.2.3.5 two blocks", false, []string{"f2 48 05 00 00 00 ff ff ca c9 c9 07 00"}},
		{"7.2.3.5 then takeover", false, []string{"f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "f2 00 11 00 00"}},
	}
	x := New(nil)
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/onebyte=%v", tt.name, oneByte), func(t *testing.T) {
				_, d := pair(x, 15, tt.noCtx)
				for i, m := range tt.msgs {
					got, err := decode(t, d, unhex(m), frame.RSV1, oneByte)
					if err != nil || string(got) != "Hello" {
						t.Fatalf("message %d: got %q, %v; want Hello", i, got, err)
					}
				}
			})
		}
	}
}

// TestGoldenEncode checks what the compressor sends. For input as short
// as "Hello" klauspost/compress writes a stored block, which is exactly
// the example of RFC 7692, Section 7.2.3.3; zlib's compressed form of
// Sections 7.2.3.1 and 7.2.3.2 is decoded in TestGoldenDecode. Context
// takeover shows on a longer message sent twice.
func TestGoldenEncode(t *testing.T) {
	x := New(&Options{Threshold: -1})
	e, d := pair(x, 15, false)
	want := unhex("00 05 00 fa ff 48 65 6c 6c 6f 00")
	for i := 0; i < 2; i++ {
		p, rsv := encode(t, e, []byte("Hello"), 5, 0)
		if rsv != frame.RSV1 || !bytes.Equal(p, want) {
			t.Fatalf("message %d: % x rsv %v, want % x", i, p, rsv, want)
		}
		if got, err := decode(t, d, p, rsv, false); err != nil || string(got) != "Hello" {
			t.Fatalf("message %d: got %q, %v", i, got, err)
		}
	}
	msg := jsonText(300, 7)
	first, _ := encode(t, e, msg, -1, 0)
	second, _ := encode(t, e, msg, -1, 0)
	t.Logf("300 bytes of JSON: %d bytes, then %d with context takeover", len(first), len(second))
	if len(second) > 16 {
		t.Errorf("repeated message compressed to %d bytes with context takeover", len(second))
	}
	for _, p := range [][]byte{first, second} {
		if got, err := decode(t, d, p, frame.RSV1, false); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if bytes.HasSuffix(first, syncTail[:]) {
		t.Errorf("payload % x ends with the sync tail", first)
	}
	// Without context takeover the second message is as long as the first.
	e, _ = pair(x, 15, true)
	a, _ := encode(t, e, msg, -1, 0)
	b, _ := encode(t, e, msg, -1, 0)
	if !bytes.Equal(a, b) {
		t.Errorf("no context takeover: % x then % x", a, b)
	}
}

func jsonText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","email":"u%d@example.com","active":%v,"score":%d.%02d,"tags":["t%d","x"]},`,
			r.IntN(100000), r.IntN(5000), r.IntN(5000), r.IntN(2) == 0, r.IntN(1000), r.IntN(100), r.IntN(20))
	}
	return b.Bytes()[:n]
}

// TestRoundTrip sends sequences of messages through an encoder and a
// decoder in every mode: each window size, with and without context
// takeover, whole and streamed, read whole and byte by byte.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 5, 127, 128, 1000, 4096, 40000, 100000}
	for _, level := range []int{1, 5, 9} {
		for bits := 8; bits <= 15; bits++ {
			for _, noCtx := range []bool{false, true} {
				name := fmt.Sprintf("level=%d/bits=%d/noctx=%v", level, bits, noCtx)
				if level != 1 && bits != 15 {
					continue // the windowed compressor has one level
				}
				t.Run(name, func(t *testing.T) {
					x := New(&Options{Level: level})
					e, d := pair(x, bits, noCtx)
					for i, n := range sizes {
						msg := jsonText(n, uint64(i))
						if i%2 == 1 {
							msg = bytes.Repeat([]byte("abcdefgh"), n/8+1)[:n]
						}
						size, chunk := int64(n), 0
						if i%3 == 2 {
							size, chunk = -1, 333 // streamed in chunks
						}
						p, rsv := encode(t, e, msg, size, chunk)
						if n < DefaultThreshold && size >= 0 {
							if rsv != 0 {
								t.Fatalf("size %d below threshold compressed", n)
							}
						} else if rsv != frame.RSV1 {
							t.Fatalf("size %d not compressed", n)
						}
						got, err := decode(t, d, p, rsv, i%4 == 3)
						if err != nil || !bytes.Equal(got, msg) {
							t.Fatalf("size %d: %v, got %d bytes want %d", n, err, len(got), len(msg))
						}
					}
				})
			}
		}
	}
}

// TestWindowWithZlib checks with Python's zlib, whose decompressor refuses
// a distance beyond the window it was given, that the compressor keeps to
// the negotiated window across messages.
func TestWindowWithZlib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	for _, bits := range []int{8, 9, 10, 12, 15} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			x := New(&Options{Threshold: -1, ContextSize: 1 << 15})
			e, _ := pair(x, bits, false)
			var script strings.Builder
			// zlib cannot inflate a raw stream with an 8-bit window; 9 is
			// the smallest it takes, and it still catches a compressor
			// that uses the full 32 KiB.
			zb := max(bits, 9)
			fmt.Fprintf(&script, "import zlib,sys\no=zlib.decompressobj(-%d)\nt=b'\\x00\\x00\\xff\\xff'\n", zb)
			var want bytes.Buffer
			for i := 0; i < 6; i++ {
				msg := jsonText(3000+i*5000, uint64(i+bits))
				if i%2 == 1 {
					msg = append(jsonText(300, 99), msg...) // repeats from long ago
				}
				p, _ := encode(t, e, msg, -1, 1000)
				fmt.Fprintf(&script, "sys.stdout.buffer.write(o.decompress(bytes.fromhex('%x')+t))\n", p)
				want.Write(msg)
			}
			out, err := exec.Command(py, "-c", script.String()).CombinedOutput()
			if err != nil {
				t.Fatalf("zlib: %v: %s", err, out[max(0, len(out)-300):])
			}
			if !bytes.Equal(out, want.Bytes()) {
				t.Fatalf("zlib decoded %d bytes, want %d", len(out), want.Len())
			}
		})
	}
}

// TestCorrupt checks that bad compressed data is a 1007 protocol error.
func TestCorrupt(t *testing.T) {
	_, d := pair(New(nil), 15, false)
	_, err := decode(t, d, []byte{0xff, 0xff, 0xff, 0xff}, frame.RSV1, false)
	pe, ok := err.(*frame.ProtocolError)
	if !ok || pe.Code != frame.StatusInvalidFramePayloadData {
		t.Fatalf("got %v, want a 1007 protocol error", err)
	}
}

// TestNotCompressed checks that a message without RSV1 passes as it is.
func TestNotCompressed(t *testing.T) {
	_, d := pair(New(nil), 15, false)
	rc, err := d.Decode(strings.NewReader("plain"), &extension.Message{Opcode: frame.OpText, Size: -1})
	if rc != nil || err != nil {
		t.Fatalf("Decode of an uncompressed message = %v, %v", rc, err)
	}
	e, _ := pair(New(nil), 15, false)
	w, err := e.Encode(io.Discard, &extension.Message{Opcode: frame.OpText, Size: -1, NoCompression: true})
	if w != nil || err != nil {
		t.Fatalf("Encode with NoCompression = %v, %v", w, err)
	}
}

func TestTailWriter(t *testing.T) {
	in := []byte("0123456789abcdef")
	for _, chunks := range [][]int{{16}, {1, 1, 1, 1, 12}, {3, 3, 3, 3, 4}, {5, 11}, {2, 2, 12}, {15, 1}} {
		var out bytes.Buffer
		tw := tailWriter{w: &out}
		q := in
		for _, k := range chunks {
			if n, err := tw.Write(q[:k]); n != k || err != nil {
				t.Fatal(n, err)
			}
			q = q[k:]
		}
		if out.String() != "0123456789ab" || string(tw.tail[:tw.n]) != "cdef" {
			t.Errorf("%v: passed %q, kept %q", chunks, out.String(), tw.tail[:tw.n])
		}
	}
}

func TestWindow(t *testing.T) {
	w := window{size: 8}
	var all []byte
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		p := make([]byte, r.IntN(12))
		for j := range p {
			p[j] = byte('a' + r.IntN(26))
		}
		w.write(p)
		all = append(all, p...)
		want := all[max(0, len(all)-8):]
		if got := w.appendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("step %d: window %q, want %q", i, got, want)
		}
	}
}
