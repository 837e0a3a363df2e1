package raw_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// TestNoDataAfterClose: once a close frame is written, data frames are
// refused and control frames still go (RFC 6455, Section 5.5.1).
func TestNoDataAfterClose(t *testing.T) {
	c, _ := tcpPair(t)
	ctx := context.Background()
	pf := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("prepared"))
	if err := c.WriteFrame(ctx, frame.Header{Opcode: frame.OpText}, []byte("open")); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, nil); err != nil {
		t.Fatal(err)
	}
	for _, op := range []frame.Opcode{frame.OpContinuation, frame.OpText, frame.OpBinary} {
		err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: op}, []byte("late"))
		if !errors.Is(err, raw.ErrCloseSent) {
			t.Errorf("%v frame after close = %v, want ErrCloseSent", op, err)
		}
	}
	if err := c.WritePrepared(ctx, pf); !errors.Is(err, raw.ErrCloseSent) {
		t.Errorf("WritePrepared after close = %v, want ErrCloseSent", err)
	}
	if err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPong}, nil); err != nil {
		t.Errorf("pong after close = %v, want nil", err)
	}
}
