package raw_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

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

// TestReadCutByCloseReturnsErrClosed: a read that Close ends, waiting for
// a header (the idle wait) or in the middle of a payload, returns
// ErrClosed, as a write that Close cuts does, not the socket's "use of
// closed network connection".
func TestReadCutByCloseReturnsErrClosed(t *testing.T) {
	for _, mid := range []bool{false, true} {
		c, peer := tcpPair(t)
		ctx := context.Background()
		if mid {
			// A 10-byte frame of which 4 bytes of payload arrive.
			peer.Write(maskedFrame([]byte("0123456789"))[:2+4+4])
			if _, err := c.NextFrame(ctx); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() {
			if mid {
				_, err := io.ReadAll(c)
				done <- err
				return
			}
			_, err := c.NextFrame(ctx)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond) // let the read wait
		c.Close()
		if err := <-done; !errors.Is(err, raw.ErrClosed) {
			t.Errorf("mid-payload %v: read cut by Close = %v, want ErrClosed", mid, err)
		}
		// And it stays so.
		if _, err := c.NextFrame(ctx); !errors.Is(err, raw.ErrClosed) {
			t.Errorf("mid-payload %v: next read = %v, want ErrClosed", mid, err)
		}
	}
}
