package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// clientFrames is msg as masked client frames of the given sizes.
func clientFrames(op frame.Opcode, msg []byte, sizes []int) []byte {
	var b []byte
	for i, n := range sizes {
		h := frame.Header{Fin: i == len(sizes)-1, Opcode: op, Masked: true, Mask: [4]byte{9, 8, 7, 6}, Length: int64(n)}
		if i > 0 {
			h.Opcode = frame.OpContinuation
		}
		b = frame.AppendHeader(b, h)
		start := len(b)
		b = append(b, msg[:n]...)
		frame.Mask(h.Mask, 0, b[start:])
		msg = msg[n:]
	}
	return b
}

// A message's Read returns io.EOF at the end of the message without
// waiting for the peer's next one: after an empty last frame, for an
// empty message, and when the last bytes came with the frame before.
// (A version that read ahead of Read whenever nothing was buffered hung
// the Autobahn suite's compressed cases: see the next test.)
func TestReadEndsWithoutNextMessage(t *testing.T) {
	for _, sizes := range [][]int{{0}, {5, 0}, {70_000, 0}, {3, 0, 4}, {70_000}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			s, cl := testnet.Loopback(t)
			c := conn.New(raw.New(s, nil, raw.Server, nil), "", nil)
			t.Cleanup(func() { c.CloseNow() })
			total := 0
			for _, n := range sizes {
				total += n
			}
			msg := bytes.Repeat([]byte("abcdefg"), total/7+1)[:total]
			go cl.Write(clientFrames(frame.OpText, msg, sizes))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, r, err := c.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, 7)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d bytes of %d: %v", len(got), total, err)
				}
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("read %q, want %q", got, msg)
			}
		})
	}
}

// The same with permessage-deflate: at the end of a compressed message's
// frames its decoder may still have output, which Read returns without
// waiting for the peer, which waits for the echo before it sends more.
func TestReadEndsWithoutNextMessageDeflate(t *testing.T) {
	url, _ := echoServer(t, &conn.AcceptOptions{Extensions: exts(nil)})
	c := dial(t, url, &conn.DialOptions{Extensions: exts(nil)})
	for i, n := range []int{10, 4096, 70_000} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msg := jsonish(n, i)
		if err := c.Write(ctx, conn.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		cancel()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: echo of %d bytes, %v", n, len(got), err)
		}
	}
}

// A payload that arrives in parts is read whole, with waits between the
// parts; and a context that ends during such a wait ends the Read with
// its error, not a hang.
func TestReadWaitsInPayload(t *testing.T) {
	s, cl := testnet.Loopback(t)
	c := conn.New(raw.New(s, nil, raw.Server, nil), "", nil)
	t.Cleanup(func() { c.CloseNow() })
	msg := bytes.Repeat([]byte("0123456789"), 30_000)
	wire := clientFrames(frame.OpBinary, msg, []int{len(msg)})
	go func() {
		for part := range slices.Chunk(wire, 40_000) {
			cl.Write(part)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes, %v; want the %d-byte message", len(got), err, len(msg))
	}

	// Half a frame, and nothing more.
	wire = clientFrames(frame.OpBinary, msg[:1000], []int{1000})
	if _, err := cl.Write(wire[:500]); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	_, r, err = c.Reader(short)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(r)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a read whose context ended in the payload's wait returned %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the read returned %v after its context ended", d)
	}

	// Half a frame, and the peer goes away.
	s, cl = testnet.Loopback(t)
	c = conn.New(raw.New(s, nil, raw.Server, nil), "", nil)
	t.Cleanup(func() { c.CloseNow() })
	if _, err := cl.Write(wire[:500]); err != nil {
		t.Fatal(err)
	}
	_, r, err = c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		cl.Close()
	}()
	if got, err := io.ReadAll(r); err == nil {
		t.Fatalf("a message whose peer went away in its payload read as %d bytes and no error", len(got))
	}
}
