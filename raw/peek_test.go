//go:build unix

package raw

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
)

// TestPeekBeforeBuffer: a wait whose first read found the socket empty
// makes the next wait look (sockEmpty) before it takes a buffer; a look
// that finds data makes the next wait read straight in again; and what
// arrives is read whole whichever way the wait began.
func TestPeekBeforeBuffer(t *testing.T) {
	c, peer := spinPair(t)
	c.SetReadSpin(-1)
	ctx := context.Background()
	send := func(payload string, after time.Duration) {
		b := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(len(payload))})
		b = append(b, payload...)
		go func() {
			time.Sleep(after)
			peer.Write(b)
		}()
	}
	read := func(want string) {
		t.Helper()
		if err := c.ReadAhead(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := c.NextFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil || h.Opcode != frame.OpBinary || string(got) != want {
			t.Fatalf("read %v %q, %v; want binary %q", h.Opcode, got, err, want)
		}
	}
	steps := []struct {
		payload  string
		early    bool // sent before the reader waits
		wantPeek bool
	}{
		{"first", false, true},  // a read found nothing, then the wait
		{"second", false, true}, // looked, found nothing, waited
		{"third", true, false},  // looked, found data, read it
		{"fourth", true, false}, // read straight in, found data
		{"fifth", false, true},  // read straight in, found nothing
		{"sixth", true, false},  // looked, found data
	}
	for _, s := range steps {
		if s.early {
			send(s.payload, 0)
			time.Sleep(20 * time.Millisecond) // in the socket before the wait
		} else {
			send(s.payload, 20*time.Millisecond) // after the wait began
		}
		read(s.payload)
		if c.peekFirst != s.wantPeek {
			t.Fatalf("after %q: peekFirst %v, want %v", s.payload, c.peekFirst, s.wantPeek)
		}
	}
}

// TestFirstTryEndsWithTheWait: a wait the runtime ends without a read (a
// read deadline already past) leaves no first read pending, so that a
// spin's read after it is not taken for one, which would look, and then
// wait, rather than return to the spin.
func TestFirstTryEndsWithTheWait(t *testing.T) {
	c, _ := spinPair(t)
	c.SetReadSpin(-1)
	c.peekFirst = true
	c.NetConn().SetReadDeadline(time.Unix(1, 0))
	if err := c.ReadAhead(context.Background()); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadAhead past the read deadline: %v", err)
	}
	if c.firstTry {
		t.Fatal("firstTry still set after a wait that read nothing")
	}
}
