package framereader

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/hybi-go/hybi/frame"
)

// TestSameWork: both readers give the same unmasked bytes from a stream,
// so the benchmark compares the same work.
func TestSameWork(t *testing.T) {
	data := stream(1000, 10)
	buf := make([]byte, 333)
	var a, b []byte
	fr := frame.NewReader(bytes.NewReader(data))
	for {
		if _, err := fr.Next(); err != nil {
			break
		}
		for {
			n, err := fr.Read(buf)
			a = append(a, buf[:n]...)
			if err != nil {
				break
			}
		}
	}
	wr := &wsutil.Reader{Source: bytes.NewReader(data), State: ws.StateServerSide}
	for {
		if _, err := wr.NextFrame(); err != nil {
			break
		}
		for {
			n, err := wr.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
	}
	if len(a) != 10000 || !bytes.Equal(a, b) || !bytes.Equal(a, bytes.Repeat([]byte("x"), 10000)) {
		t.Fatalf("hybi %d bytes, gobwas %d bytes, equal %v", len(a), len(b), bytes.Equal(a, b))
	}
}
