package raw_test

import (
	"bytes"
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

// ReadAheadInto's wait and read, with the Read after it, give the payload
// of a frame that arrives in parts, whatever the size of the reads: a
// buffer larger than the connection's, which the bytes go into straight,
// one smaller, and a Read into another, smaller, buffer than the one
// lent, after which the lent one is the caller's again (here overwritten
// at once) and nothing is read from it or into it.
func TestReadAheadInto(t *testing.T) {
	payload := make([]byte, 300_000)
	for i := range payload {
		payload[i] = byte(i * 13 / 7)
	}
	wire := maskedFrame(payload)
	for _, tc := range []struct {
		name  string
		piece int
		other bool
	}{
		{"large", 200_000, false},
		{"small", 1000, false},
		{"large, read into another buffer", 200_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, client := tcpPair(t)
			go func() {
				client.Write(wire[:100_000])
				time.Sleep(5 * time.Millisecond)
				client.Write(wire[100_000:])
			}()
			ctx := context.Background()
			if _, err := s.NextFrame(ctx); err != nil {
				t.Fatal(err)
			}
			// q is smaller than p: a Read into it leaves bytes that
			// were read into p unread.
			p, q := make([]byte, tc.piece), make([]byte, tc.piece/3)
			var got []byte
			for {
				if err := s.ReadAheadInto(ctx, p); err != nil {
					t.Fatalf("ReadAheadInto after %d bytes: %v", len(got), err)
				}
				dst := p
				if tc.other {
					dst = q
				}
				n, err := s.Read(dst)
				got = append(got, dst[:n]...)
				if tc.other {
					for i := range p {
						p[i] = 0xEE
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read after %d bytes: %v", len(got), err)
				}
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("read %d bytes, not the %d-byte payload", len(got), len(payload))
			}
		})
	}
}

// A context that ends ReadAheadInto's wait loses nothing, and a peer
// that goes away in the middle of the payload is io.ErrUnexpectedEOF for
// ReadAheadInto and for the Read after it, never the frame's io.EOF.
func TestReadAheadIntoEnds(t *testing.T) {
	payload := bytes.Repeat([]byte("payload "), 20_000)
	wire := maskedFrame(payload)
	s, client := tcpPair(t)
	if _, err := client.Write(wire[:1000]); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.NextFrame(ctx); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, len(payload))
	n, err := s.Read(p)
	if err != nil || n == 0 {
		t.Fatalf("Read = %d, %v", n, err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.ReadAheadInto(short, p[n:]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadAheadInto with an expiring ctx = %v, want context.DeadlineExceeded", err)
	}
	if _, err := client.Write(wire[1000:50_000]); err != nil {
		t.Fatal(err)
	}
	for s.Remaining() > 0 && n < 50_000-(len(wire)-len(payload)) {
		if err := s.ReadAheadInto(ctx, p[n:]); err != nil {
			t.Fatalf("ReadAheadInto after %d bytes: %v", n, err)
		}
		k, err := s.Read(p[n:])
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", n, err)
		}
		n += k
	}
	if !bytes.Equal(p[:n], payload[:n]) {
		t.Fatalf("the first %d bytes of the payload differ", n)
	}
	client.Close()
	if err := s.ReadAheadInto(ctx, p[n:]); err != io.ErrUnexpectedEOF {
		t.Fatalf("ReadAheadInto after the peer closed in the payload = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := s.Read(p[n:]); err != io.ErrUnexpectedEOF {
		t.Fatalf("Read after it = %v, want io.ErrUnexpectedEOF", err)
	}
}

// A caller that lends p to ReadAheadInto and then skips the rest of the
// frame with NextFrame, not Read, gets p back: the next frame is read
// right though p is overwritten, and nothing more is read into it.
func TestReadAheadIntoThenNextFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("skipped "), 40_000)
	wire := append(maskedFrame(payload), maskedFrame([]byte("next"))...)
	s, client := tcpPair(t)
	go func() {
		client.Write(wire[:1000])
		time.Sleep(5 * time.Millisecond)
		client.Write(wire[1000:])
	}()
	ctx := context.Background()
	if _, err := s.NextFrame(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	for s.Buffered() > 0 { // up to where ReadAheadInto has to wait
		if _, err := s.Read(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	p := make([]byte, len(payload))
	if err := s.ReadAheadInto(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range p {
		p[i] = 0xEE
	}
	h, err := s.NextFrame(ctx)
	if err != nil || h.Length != 4 {
		t.Fatalf("NextFrame after ReadAheadInto = %+v, %v; want the 4-byte frame", h, err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "next" {
		t.Fatalf("the next frame's payload is %q, %v", got, err)
	}
	for i, b := range p {
		if b != 0xEE {
			t.Fatalf("byte %d of the returned buffer was written after NextFrame", i)
		}
	}
}
