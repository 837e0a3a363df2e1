package raw_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"weak"

	"github.com/hybi-go/hybi/frame"
)

// heavyCtx is a context the test can watch the collection of.
type heavyCtx struct {
	context.Context
	_ [256]byte
}

// collected reports whether the context wp points to has been collected.
func collected(wp weak.Pointer[heavyCtx]) bool {
	for range 3 {
		runtime.GC()
	}
	return wp.Value() == nil
}

// TestEndedFrameDropsContext: once a frame has been read to its end, its
// context is not kept by the Conn (it may hold a request's values, or a
// timer), whether the frame had no payload, a payload read to its end,
// or NextFrame failed; a frame whose payload is still unread keeps it,
// which the check's own test shows.
func TestEndedFrameDropsContext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wire  []byte
		read  bool // read the payload to its end
		fails bool // NextFrame fails
		again bool // and is called again, under the watched context
		kept  bool // the context is kept after the calls
	}{
		{name: "empty payload", wire: maskedFrame(nil)},
		{name: "payload read", wire: maskedFrame([]byte("hello")), read: true},
		{name: "payload unread", wire: maskedFrame([]byte("hello")), kept: true},
		{name: "protocol error", wire: []byte{0x83, 0x80, 1, 2, 3, 4}, fails: true}, // reserved opcode
		{name: "after a protocol error", wire: []byte{0x83, 0x80, 1, 2, 3, 4}, fails: true, again: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, client := tcpPair(t)
			if _, err := client.Write(tc.wire); err != nil {
				t.Fatal(err)
			}
			wp := func() weak.Pointer[heavyCtx] {
				ctx := &heavyCtx{Context: context.Background()}
				first := context.Context(ctx)
				if tc.again {
					first = context.Background()
				}
				h, err := s.NextFrame(first)
				if tc.fails {
					var pe *frame.ProtocolError
					if !errors.As(err, &pe) {
						t.Fatalf("NextFrame = %v, want a protocol error", err)
					}
					if tc.again {
						// The sticky error comes back.
						if _, err := s.NextFrame(ctx); !errors.As(err, &pe) {
							t.Fatalf("the second NextFrame = %v, want the protocol error again", err)
						}
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if tc.read {
					if _, err := s.Read(make([]byte, h.Length)); err != nil {
						t.Fatal(err)
					}
				}
				return weak.Make(ctx)
			}()
			if got := !collected(wp); got != tc.kept {
				t.Errorf("context kept = %v, want %v", got, tc.kept)
			}
		})
	}
}
