package raw

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
)

// TestTakeDrained checks what conn/poll's edge-triggered registration
// relies on: takeDrained reports true only when the last read system call
// found the socket empty or returned less than it asked for, and false
// after a read that filled its buffer (more may wait), or when no read
// was made since the last call.
func TestTakeDrained(t *testing.T) {
	sc, cc := testnet.Loopback(t)
	c := New(sc, nil, Server, nil)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	send := func(n int) {
		h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: int64(n)}
		b := frame.AppendHeader(nil, h)
		if _, err := cc.Write(append(b, bytes.Repeat([]byte{'x'}, n)...)); err != nil {
			t.Error(err) // also from the writing goroutine below
		}
	}
	readFrame := func() {
		t.Helper()
		if _, err := c.NextFrame(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, frameReader{c}); err != nil {
			t.Fatal(err)
		}
	}
	if c.takeDrained() {
		t.Fatal("drained before any read")
	}
	send(10)
	readFrame()
	if !c.takeDrained() {
		t.Fatal("a short read did not report the socket drained")
	}
	if c.takeDrained() {
		t.Fatal("takeDrained did not forget")
	}
	// Far more than one read takes: the first read fills its buffer.
	go send(1 << 20)
	if _, err := c.NextFrame(ctx); err != nil {
		t.Fatal(err)
	}
	if c.takeDrained() {
		t.Fatal("a read that filled its buffer reported the socket drained")
	}
	if _, err := io.Copy(io.Discard, frameReader{c}); err != nil {
		t.Fatal(err)
	}
}

// frameReader reads the current frame's payload to its end.
type frameReader struct{ c *Conn }

func (r frameReader) Read(p []byte) (int, error) {
	if r.c.Remaining() == 0 {
		return 0, io.EOF
	}
	return r.c.Read(p)
}
