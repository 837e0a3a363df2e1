package raw_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/ctxflag"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// tcpPair returns a Raw server session and the client's end of a loopback
// TCP connection.
func tcpPair(t *testing.T) (*raw.Conn, net.Conn) {
	t.Helper()
	server, client := testnet.Loopback(t)
	s := raw.New(server, nil, raw.Server, nil)
	t.Cleanup(func() { s.Close() })
	return s, client
}

func maskedFrame(p []byte) []byte {
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(p))}
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, p...)
	frame.Mask(h.Mask, 0, b[start:])
	return b
}

// One cancellable context used for every read and write costs nothing
// per operation once it is watched.
func TestSameContextNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	s, client := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := maskedFrame([]byte("hello"))
	buf := make([]byte, 64)
	reply := make([]byte, 7)
	echo := func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		h, err := s.NextFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := s.Read(buf[:h.Length])
		if err := s.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, buf[:n]); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Read(reply); err != nil {
			t.Fatal(err)
		}
	}
	echo() // the first use registers the watch
	if allocs := testing.AllocsPerRun(50, echo); allocs != 0 {
		t.Errorf("echo under one cancellable context: %v allocs, want 0", allocs)
	}
}

// Cancelling a context that was used before does not interrupt an
// operation under another one; using it again after its end fails at
// once; a blocked read under the current one is interrupted and the
// connection stays usable.
func TestWatchFollowsContext(t *testing.T) {
	s, client := tcpPair(t)
	old, cancelOld := context.WithCancel(context.Background())
	client.Write(maskedFrame([]byte("a")))
	if _, err := s.NextFrame(old); err != nil {
		t.Fatal(err)
	}
	s.Read(make([]byte, 1))

	cur, cancelCur := context.WithCancel(context.Background())
	defer cancelCur()
	got := make(chan error, 1)
	go func() {
		_, err := s.NextFrame(cur)
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancelOld()
	select {
	case err := <-got:
		t.Fatalf("read under a live context ended when an old one was cancelled: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancelCur()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("read under the cancelled context: %v", err)
	}
	if _, err := s.NextFrame(old); !errors.Is(err, context.Canceled) {
		t.Fatalf("read under an already cancelled context: %v", err)
	}
	client.Write(maskedFrame([]byte("b")))
	if h, err := s.NextFrame(context.Background()); err != nil || h.Length != 1 {
		t.Fatalf("read after the interrupts: %+v, %v", h, err)
	}
}

// A closed connection is not kept reachable by a long-lived context it
// was used with: the watch of the context holds the socket, which Close
// lets go.
func TestCloseReleasesWatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, close := range []bool{false, true} {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		wp := func() weak.Pointer[net.TCPConn] {
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			s := raw.New(server, nil, raw.Server, nil)
			client.Write(maskedFrame([]byte("a")))
			if _, err := s.NextFrame(ctx); err != nil {
				t.Fatal(err)
			}
			s.Read(make([]byte, 1))
			if close {
				s.Close()
			}
			return weak.Make(server.(*net.TCPConn))
		}()
		for range 3 {
			runtime.GC()
		}
		if alive := wp.Value() != nil; alive == close {
			// Unclosed, the watch must keep the socket (the check has
			// teeth); closed, it must not.
			t.Errorf("closed=%v: socket reachable=%v", close, alive)
		}
	}
}

// closingCtx is cancelled only when its owner closes the connections it
// is used with, and says so through ctxflag, as conn/poll's handler
// contexts do.
type closingCtx struct{ context.Context }

func (c closingCtx) Value(key any) any {
	if key == ctxflag.Key {
		return c.Done()
	}
	return c.Context.Value(key)
}

// raw does not watch such a context (nothing keeps the session
// reachable), but does watch a context derived from it with its own
// cancellation.
func TestClosesConnContextNotWatched(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := closingCtx{parent}
	server, _ := testnet.Loopback(t)
	wp := func() weak.Pointer[raw.Conn] {
		s := raw.New(server, nil, raw.Server, nil)
		if err := s.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, []byte("x")); err != nil {
			t.Fatal(err)
		}
		return weak.Make(s)
	}()
	for range 3 {
		runtime.GC()
	}
	if wp.Value() != nil {
		t.Error("a context flagged as closing the connection is watched")
	}

	s := raw.New(server, nil, raw.Server, nil)
	derived, cancelDerived := context.WithCancel(ctx)
	got := make(chan error, 1)
	go func() {
		_, err := s.NextFrame(derived)
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancelDerived()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read under the derived context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a derived context's cancel did not interrupt the read")
	}
}

// A context that ends while NextFrame is still skipping the rest of the
// previous frame's payload leaves the connection usable: the skipping
// resumes at the next call (FuzzPoll found it failing the connection,
// testdata/fuzz/FuzzPoll/a825c130150d5566).
func TestCancelWhileSkipping(t *testing.T) {
	for _, transport := range []string{"tcp", "pipe"} {
		t.Run(transport, func(t *testing.T) {
			var server, client net.Conn
			if transport == "tcp" {
				server, client = testnet.Loopback(t)
			} else {
				server, client = net.Pipe()
				t.Cleanup(func() { server.Close(); client.Close() })
			}
			s := raw.New(server, nil, raw.Server, nil)
			defer s.Close()
			first := maskedFrame([]byte("0123456789"))
			next := maskedFrame([]byte("next"))
			go client.Write(first[:len(first)-7]) // header and 3 payload bytes
			if h, err := s.NextFrame(context.Background()); err != nil || h.Length != 10 {
				t.Fatalf("first frame: %+v, %v", h, err)
			}
			for _, cancel := range []bool{false, true} {
				ctx, stop := context.WithTimeout(context.Background(), 30*time.Millisecond)
				if cancel {
					// A cancel, not a deadline: only the watch interrupts.
					ctx, stop = context.WithCancel(context.Background())
					time.AfterFunc(30*time.Millisecond, stop)
				}
				_, err := s.NextFrame(ctx) // skips the payload, which has not all come
				stop()
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					t.Fatalf("NextFrame while the payload is cut short: %v, want the context's error", err)
				}
			}
			go client.Write(append(first[len(first)-7:], next...))
			h, err := s.NextFrame(context.Background())
			if err != nil || h.Length != 4 {
				t.Fatalf("frame after the interrupted skip: %+v, %v", h, err)
			}
			p := make([]byte, 4)
			if _, err := io.ReadFull(s, p); err != nil || string(p) != "next" {
				t.Fatalf("payload %q, %v", p, err)
			}
		})
	}
}

// TestReadContextResumes cuts a payload read with the context of its
// NextFrame and goes on with ReadContext and a new one: the payload
// arrives whole and unmasked, and plain Read calls after it use the new
// context too.
func TestReadContextResumes(t *testing.T) {
	s, client := tcpPair(t)
	payload := []byte("a payload cut in the middle")
	wire := maskedFrame(payload)
	cut := len(wire) - len(payload) + 5
	if _, err := client.Write(wire[:cut]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.NextFrame(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if !errors.Is(err, context.DeadlineExceeded) || string(got) != string(payload[:5]) {
		t.Fatalf("read under the expiring context: %q, %v", got, err)
	}
	if _, err := client.Write(wire[cut:]); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	var b [4]byte
	n, err := s.ReadContext(ctx2, b[:])
	if err != nil {
		t.Fatalf("ReadContext: %v", err)
	}
	got = append(got, b[:n]...)
	rest, err := io.ReadAll(s) // plain Read, now under ctx2
	got = append(got, rest...)
	if err != nil || string(got) != string(payload) {
		t.Fatalf("payload %q, %v; want %q", got, err, payload)
	}
}
