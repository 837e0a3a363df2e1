package raw_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// TestWriteFrameDoneContext: a WriteFrame whose context is done before
// the call sends nothing and returns ctx.Err(), whether the write lock is
// free, held by a writer stuck on a peer that does not read, or the
// connection is closed; the stuck writer's frame is the only one the
// peer gets.
func TestWriteFrameDoneContext(t *testing.T) {
	server, client := net.Pipe() // a write blocks until the peer reads
	s := raw.New(server, nil, raw.Server, nil)
	defer s.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	binary := frame.Header{Fin: true, Opcode: frame.OpBinary}

	// Free lock.
	if err := s.WriteFrame(done, binary, []byte("free")); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteFrame, lock free = %v, want Canceled", err)
	}

	// Busy lock: a writer blocks in the pipe until the peer reads.
	stuck := make(chan error, 1)
	go func() { stuck <- s.WriteFrame(context.Background(), binary, []byte("first")) }()
	time.Sleep(50 * time.Millisecond) // let it take the lock and block
	start := time.Now()
	for range 100 {
		if err := s.WriteFrame(done, binary, []byte("busy")); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteFrame, lock busy = %v, want Canceled", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("100 writes with a done context behind a busy lock took %v", d)
	}

	// The peer gets the stuck writer's frame, and nothing else: the next
	// frame it reads is the next write's.
	peer := raw.New(client, nil, raw.Client, nil)
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if p := nextPayload(t, ctx, peer); p != "first" {
		t.Fatalf("peer got %q first, want \"first\"", p)
	}
	if err := <-stuck; err != nil {
		t.Fatalf("the stuck writer: %v", err)
	}
	next := make(chan error, 1)
	go func() { next <- s.WriteFrame(context.Background(), binary, []byte("next")) }()
	if p := nextPayload(t, ctx, peer); p != "next" {
		t.Fatalf("after the done writes the peer got %q, want \"next\"", p)
	}
	if err := <-next; err != nil {
		t.Fatal(err)
	}

	// Closed: the context's error still comes first.
	s.Close()
	if err := s.WriteFrame(done, binary, []byte("closed")); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteFrame on a closed Conn with a done context = %v, want Canceled", err)
	}
	if err := s.WriteFrame(context.Background(), binary, []byte("closed")); !errors.Is(err, raw.ErrClosed) {
		t.Fatalf("WriteFrame on a closed Conn = %v, want ErrClosed", err)
	}
}

// nextPayload reads the next frame's payload from peer.
func nextPayload(t *testing.T, ctx context.Context, peer *raw.Conn) string {
	t.Helper()
	h, err := peer.NextFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(peer, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}
