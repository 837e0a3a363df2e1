// Package framereader measures hybi's frame.Reader against gobwas/ws's
// wsutil.Reader, the one peer with a stream reader of frames: the same
// bytes (masked binary frames, as a server receives them) read header by
// header, payloads unmasked into the same buffer.
//
//	cd bench && go test -run '^$' -bench . -count 6 ./framereader
package framereader

import (
	"bytes"
	"io"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/hybi-go/hybi/frame"
)

func stream(size, n int) []byte {
	var b []byte
	payload := bytes.Repeat([]byte("x"), size)
	for i := 0; i < n; i++ {
		h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, byte(i)}, Length: int64(size)}
		b = frame.AppendHeader(b, h)
		p := bytes.Clone(payload)
		frame.Mask(h.Mask, 0, p)
		b = append(b, p...)
	}
	return b
}

var sizes = []struct {
	name string
	size int
}{{"125B", 125}, {"1KiB", 1024}, {"64KiB", 64 << 10}}

const frames = 256

func BenchmarkReader(b *testing.B) {
	for _, s := range sizes {
		data := stream(s.size, frames)
		buf := make([]byte, 4096)
		b.Run("hybi/"+s.name, func(b *testing.B) {
			br := bytes.NewReader(data)
			fr := frame.NewReader(br)
			fr.Validate, fr.Role = true, frame.RoleServer
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(data)
				fr.Reset(br)
				for {
					if _, err := fr.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					for {
						if _, err := fr.Read(buf); err != nil {
							break
						}
					}
				}
			}
		})
		b.Run("gobwas/"+s.name, func(b *testing.B) {
			br := bytes.NewReader(data)
			wr := &wsutil.Reader{Source: br, State: ws.StateServerSide}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(data)
				wr.Source = br
				for {
					if _, err := wr.NextFrame(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					for {
						if _, err := wr.Read(buf); err != nil {
							break
						}
					}
				}
			}
		})
	}
}
