package raw_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// TestFrameBuffered: true only while a whole next frame, header and
// payload, is in the read buffer after the rest of the current frame.
func TestFrameBuffered(t *testing.T) {
	ctx := context.Background()
	first := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 2})
	first = append(first, "ab"...)
	next := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpText, Length: 100})
	next = append(next, bytes.Repeat([]byte("c"), 100)...)
	for _, tc := range []struct {
		name string
		cut  int // bytes of next that arrived
		want bool
	}{
		{"nothing more", 0, false},
		{"part of a header", 1, false},
		{"a header", 2, false},
		{"all but a byte", len(next) - 1, false},
		{"the whole frame", len(next), true},
	} {
		wire := append(append([]byte(nil), first...), next[:tc.cut]...)
		c := raw.New(&readerConn{r: bytes.NewReader(wire)}, nil, raw.Client, nil)
		if c.FrameBuffered() {
			t.Fatalf("%s: a whole frame buffered before any read", tc.name)
		}
		if _, err := c.NextFrame(ctx); err != nil {
			t.Fatal(err)
		}
		// Before and after the rest of the current frame is read.
		if got := c.FrameBuffered(); got != tc.want {
			t.Errorf("%s, with the current payload unread: %v, want %v", tc.name, got, tc.want)
		}
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		if got := c.FrameBuffered(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
