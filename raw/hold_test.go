package raw_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// TestHoldFrameOrder: held frames go out before whatever is written
// next (a prepared frame, one too large to hold), and Flush sends the
// rest; the peer reads every frame whole and in order, masked or not.
func TestHoldFrameOrder(t *testing.T) {
	for _, role := range []raw.Role{raw.Server, raw.Client} {
		t.Run(map[raw.Role]string{raw.Server: "server", raw.Client: "client"}[role], func(t *testing.T) {
			rc := &readerConn{r: bytes.NewReader(nil)}
			c := raw.New(rc, nil, role, &raw.Options{WriteBufferSize: 1024})
			ctx := context.Background()
			bin := frame.Header{Fin: true, Opcode: frame.OpBinary}
			var want [][]byte
			hold := func(p []byte) {
				t.Helper()
				if err := c.HoldFrame(ctx, bin, p); err != nil {
					t.Fatal(err)
				}
				want = append(want, p)
			}
			hold([]byte("one"))
			hold([]byte("two"))
			if rc.w.Len() != 0 || c.Held() == 0 {
				t.Fatalf("%d bytes written, %d held: want the frames held", rc.w.Len(), c.Held())
			}
			if err := c.WritePrepared(ctx, raw.NewPreparedFrame(bin, []byte("prepared"))); err != nil {
				t.Fatal(err)
			}
			want = append(want, []byte("prepared"))
			if c.Held() != 0 {
				t.Fatalf("%d bytes still held after a write", c.Held())
			}
			hold([]byte("three"))
			// Over the limit (four write buffers or 256 KiB, whichever is
			// more): written at once.
			big := bytes.Repeat([]byte("b"), 256<<10+1)
			hold(big)
			if c.Held() != 0 {
				t.Fatalf("%d bytes held after a frame over the limit", c.Held())
			}
			for i := range 5 {
				hold(bytes.Repeat([]byte{byte('0' + i)}, 900)) // the buffer grows
			}
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			peerRole := raw.Client
			if role == raw.Client {
				peerRole = raw.Server
			}
			peer := raw.New(&readerConn{r: bytes.NewReader(rc.w.Bytes())}, nil, peerRole, nil)
			for i, w := range want {
				if _, err := peer.NextFrame(ctx); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				got, err := io.ReadAll(peer)
				if err != nil || !bytes.Equal(got, w) {
					t.Fatalf("frame %d: %d bytes %v, want %d bytes", i, len(got), err, len(w))
				}
			}
			if _, err := peer.NextFrame(ctx); err != io.EOF {
				t.Fatalf("after the frames: %v, want EOF", err)
			}
		})
	}
}

// A frame larger than the write buffer goes out in one writev of its
// header and payload, whose vector is pooled rather than kept in every
// Conn: the write still allocates nothing.
func TestLargeWriteNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	s, client := tcpPair(t)
	p := make([]byte, 3*raw.DefaultWriteBufferSize)
	wire := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(len(p))})
	wire = append(wire, p...)
	got := make([]byte, len(wire))
	ctx := context.Background()
	write := func() {
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadFull(client, got)
			done <- err
		}()
		if err := s.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, p); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	write()
	if !bytes.Equal(got, wire) {
		t.Fatal("the frame read back differs from the one written")
	}
	// The reading goroutine and its channel are the test's: 2 (or 3)
	// allocations per run, and none may be the write's.
	base := testing.AllocsPerRun(20, func() {
		done := make(chan error, 1)
		go func() { done <- nil }()
		<-done
	})
	if allocs := testing.AllocsPerRun(20, write); allocs > base {
		t.Errorf("writing a %d-byte frame: %v allocs beyond the test's %v, want none", len(p), allocs-base, base)
	}
}
