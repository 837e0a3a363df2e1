package raw_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// ReadAhead waits for the peer with the same promises as NextFrame: a
// context that ends the wait leaves the connection usable and loses no
// byte, the bytes it reads are the next frame's, and the end of the
// stream is kept for NextFrame.
func TestReadAhead(t *testing.T) {
	s, client := tcpPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.ReadAhead(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadAhead with an expiring ctx = %v, want context.DeadlineExceeded", err)
	}
	f := maskedFrame([]byte("hello"))
	if _, err := client.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadAhead(context.Background()); err != nil {
		t.Fatalf("ReadAhead = %v", err)
	}
	if s.Buffered() != len(f) {
		t.Fatalf("after ReadAhead %d bytes are buffered, want the frame's %d", s.Buffered(), len(f))
	}
	// Nothing to wait for while bytes are buffered: an expired ctx does
	// not matter.
	if err := s.ReadAhead(ctx); err != nil {
		t.Fatalf("ReadAhead with bytes buffered = %v, want nil", err)
	}
	h, err := s.NextFrame(context.Background())
	if err != nil || h.Length != 5 {
		t.Fatalf("NextFrame = %+v, %v", h, err)
	}
	p, err := io.ReadAll(s)
	if err != nil || string(p) != "hello" {
		t.Fatalf("payload %q, %v", p, err)
	}
	client.Close()
	if err := s.ReadAhead(context.Background()); err != io.EOF {
		t.Fatalf("ReadAhead after the peer closed = %v, want io.EOF", err)
	}
	if _, err := s.NextFrame(context.Background()); err != io.EOF {
		t.Fatalf("NextFrame after ReadAhead saw the end = %v, want io.EOF", err)
	}
}
