package deflate

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
)

var benchModes = []struct {
	name  string
	opts  Options
	bits  int
	noCtx bool
}{
	{"takeover", Options{}, 15, false},
	{"takeover-ctx32k", Options{ContextSize: 32 << 10}, 15, false},
	{"no-takeover", Options{}, 15, true},
	{"bits9", Options{}, 9, false},
	{"level5", Options{Level: 5}, 15, false},
}

// BenchmarkEncode measures compressing one message of JSON-like text, as
// Conn.Write does: bytes/s of input, the compressed size, allocations.
func BenchmarkEncode(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("%dK/%s", size>>10, mode.name), func(b *testing.B) {
				x := New(&mode.opts)
				e, _ := pair(x, mode.bits, mode.noCtx)
				var msgs [64][]byte // distinct, so that takeover finds only what is alike
				for i := range msgs {
					msgs[i] = jsonText(size, uint64(i))
				}
				var out bytes.Buffer
				out.Grow(2 * size)
				m := &extension.Message{Opcode: frame.OpText}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				total := 0
				for i := 0; i < b.N; i++ {
					out.Reset()
					*m = extension.Message{Opcode: frame.OpText, Size: int64(size)}
					w, _ := e.Encode(&out, m)
					w.Write(msgs[i%len(msgs)])
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
					total += out.Len()
				}
				b.ReportMetric(float64(total)/float64(b.N)/float64(size)*100, "%size")
			})
		}
	}
}

// BenchmarkDecode measures decompressing the same messages.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, mode := range benchModes {
			b.Run(fmt.Sprintf("%dK/%s", size>>10, mode.name), func(b *testing.B) {
				x := New(&mode.opts)
				// A sequence long enough to repeat in a loop, encoded once:
				// the decoder's window follows the encoder's.
				const n = 64
				e, d := pair(x, mode.bits, mode.noCtx)
				var payloads [n][]byte
				for i := range payloads {
					payloads[i], _ = encode(b, e, jsonText(size, uint64(i)), -1, 0)
				}
				buf := make([]byte, 32<<10)
				rd := bytes.NewReader(nil)
				m := &extension.Message{}
				or := &onlyReader{}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%n == 0 {
						// Start the sequence again with a fresh window.
						d.hist = window{size: d.hist.size, buf: d.hist.buf}
					}
					rd.Reset(payloads[i%n])
					*m = extension.Message{Opcode: frame.OpText, RSV: frame.RSV1, Size: -1}
					r, _ := d.Decode(rd, m)
					or.Reader = r
					k, err := io.CopyBuffer(io.Discard, or, buf)
					if err != nil || k != int64(size) {
						b.Fatal(k, err)
					}
					r.Close()
				}
			})
		}
	}
}

// onlyReader hides WriterTo, as a Conn's reader does.
type onlyReader struct{ io.Reader }
