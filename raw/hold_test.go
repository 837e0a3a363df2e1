package raw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
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

// TestHeldFramesWithDirectWrite: on a socket, a small frame written while
// frames are held goes out after them in one write; a write that its
// context ends before its first byte leaves the held frames held (as one
// through a larger frame does), and they go out with the next write, in
// order.
func TestHeldFramesWithDirectWrite(t *testing.T) {
	s, client := tcpPair(t)
	ctx := context.Background()
	bin := frame.Header{Fin: true, Opcode: frame.OpBinary}
	// Fill the socket's buffers, so that the next write waits.
	nc := s.NetConn()
	filled := 0
	for size := 64 << 20; size > 0; size /= 8 {
		nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		n, _ := nc.Write(make([]byte, size))
		filled += n
	}
	nc.SetWriteDeadline(time.Time{})
	for _, p := range []string{"one", "two"} {
		if err := s.HoldFrame(ctx, bin, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	held := s.Held()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.WriteFrame(short, bin, []byte("lost")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write to a full socket under a short context: %v, want its deadline", err)
	}
	if s.Held() != held {
		t.Fatalf("after a write cut off before its first byte: %d bytes held, want the %d held before", s.Held(), held)
	}
	// So does a frame past the write buffer, whose header is written
	// after the held frames and its payload from where it is.
	large, cancelLarge := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelLarge()
	if err := s.WriteFrame(large, bin, make([]byte, raw.DefaultWriteBufferSize+1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a large write to a full socket under a short context: %v, want its deadline", err)
	}
	if s.Held() != held {
		t.Fatalf("after a large write cut off before its first byte: %d bytes held, want the %d held before", s.Held(), held)
	}
	want := []string{"one", "two", "three"}
	var wire []byte
	for _, w := range want {
		wire = frame.AppendHeader(wire, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(len(w))})
		wire = append(wire, w...)
	}
	got := make([]byte, filled+len(wire))
	done := make(chan error, 1)
	go func() {
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(client, got)
		done <- err
	}()
	if err := s.WriteFrame(ctx, bin, []byte("three")); err != nil {
		t.Fatal(err)
	}
	if s.Held() != 0 {
		t.Fatalf("%d bytes still held after a write", s.Held())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[filled:], wire) {
		t.Fatalf("after the filler the peer read %q, want %q", got[filled:], wire)
	}
}

// TestDirectWriteSizes: on a socket, frames of every size up to a large
// write buffer go out whole and in order, whether sockWrite builds them
// in a pooled writer's own buffer (up to 64 KiB) or writes the header
// from there and the payload from where it is, and a writer whose buffer
// grew for a large frame frames the small ones after it correctly; none
// of it allocates once warm, below 64 KiB.
func TestDirectWriteSizes(t *testing.T) {
	server, client := testnet.Loopback(t)
	s := raw.New(server, nil, raw.Server, &raw.Options{WriteBufferSize: 1 << 20})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	sizes := []int{16, 60 << 10, 1, 0, 64<<10 - 14, 64 << 10, 70 << 10, 300, 1 << 20, 125}
	var wire []byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		wire = frame.AppendHeader(wire, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(n)})
		wire = append(wire, p...)
	}
	got := make([]byte, len(wire))
	done := make(chan error, 1)
	go func() {
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(client, got)
		done <- err
	}()
	bin := frame.Header{Fin: true, Opcode: frame.OpBinary}
	for i, n := range sizes {
		if err := s.WriteFrame(ctx, bin, bytes.Repeat([]byte{byte('a' + i)}, n)); err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, n, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wire) {
		for i := range got {
			if got[i] != wire[i] {
				t.Fatalf("the peer read different bytes from offset %d of %d", i, len(wire))
			}
		}
	}
	if raceEnabled {
		return
	}
	go io.Copy(io.Discard, client)
	for _, n := range []int{16, 1000, 60 << 10} {
		p := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() { s.WriteFrame(ctx, bin, p) }); a != 0 {
			t.Errorf("a %d-byte frame: %.1f allocations per write", n, a)
		}
	}
}
