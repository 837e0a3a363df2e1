package raw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// capture returns a Conn of role whose writes are collected, and a func
// that returns everything written so far once the Conn is closed.
func capture(role raw.Role) (*raw.Conn, func() []byte) {
	a, b := net.Pipe()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, b)
		close(done)
	}()
	c := raw.New(a, nil, role, nil)
	return c, func() []byte {
		c.Close()
		<-done
		return buf.Bytes()
	}
}

func TestPreparedServerBytes(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 100000} {
		p := bytes.Repeat([]byte{'x'}, n)
		h := frame.Header{Fin: true, Opcode: frame.OpBinary}
		f := raw.NewPreparedFrame(h, p)

		want, wantDone := capture(raw.Server)
		if err := want.WriteFrame(ctx, h, p); err != nil {
			t.Fatal(err)
		}
		got, gotDone := capture(raw.Server)
		if err := got.WritePrepared(ctx, f); err != nil {
			t.Fatal(err)
		}
		if w, g := wantDone(), gotDone(); !bytes.Equal(w, g) {
			t.Fatalf("n=%d: WritePrepared wrote %d bytes, WriteFrame %d", n, len(g), len(w))
		}
		if !bytes.Equal(f.Wire(), append(frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(n)}), p...)) {
			t.Fatalf("n=%d: Wire differs", n)
		}
		if hd := f.Header(); hd.Length != int64(n) || hd.Masked {
			t.Fatalf("Header() = %+v", hd)
		}
	}
}

// A client masks each write of the same prepared frame with its own key,
// and the peer reads the original payload.
func TestPreparedClientMasks(t *testing.T) {
	a, b := net.Pipe()
	client := raw.New(a, nil, raw.Client, nil)
	server := raw.New(b, nil, raw.Server, nil)
	defer client.Close()
	defer server.Close()
	ctx := context.Background()
	payload := []byte("the same message to everyone")
	f := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.OpText}, payload)
	payload[0] = 'T' // NewPreparedFrame copied it
	go func() {
		for range 3 {
			client.WritePrepared(ctx, f)
		}
	}()
	keys := map[[4]byte]bool{}
	for range 3 {
		h, err := server.NextFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := io.ReadAll(server)
		if !h.Masked || string(p) != "the same message to everyone" {
			t.Fatalf("got %+v %q", h, p)
		}
		keys[h.Mask] = true
	}
	if len(keys) < 2 {
		t.Errorf("three writes used %d masking keys", len(keys))
	}
	if string(f.Payload()) != "the same message to everyone" {
		t.Errorf("the prepared payload was modified: %q", f.Payload())
	}
}

func TestPreparedRefusesRSV(t *testing.T) {
	c, done := capture(raw.Server)
	defer done()
	f := raw.NewPreparedFrame(frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpText}, []byte("x"))
	if err := c.WritePrepared(context.Background(), f); err == nil {
		t.Fatal("WritePrepared sent an RSV bit no extension owns")
	}
}

// Prepared frames and ordinary frames from concurrent writers never
// interleave.
func TestPreparedConcurrent(t *testing.T) {
	a, b := net.Pipe()
	server := raw.New(a, nil, raw.Server, nil)
	client := raw.New(b, nil, raw.Client, nil)
	defer server.Close()
	defer client.Close()
	ctx := context.Background()
	big := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.OpBinary}, bytes.Repeat([]byte{1}, 70000))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if i%2 == 0 {
					server.WritePrepared(ctx, big)
				} else {
					server.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, bytes.Repeat([]byte{2}, 3000))
				}
			}
		}()
	}
	for range 100 {
		if _, err := client.NextFrame(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := io.ReadAll(client)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p {
			if x != p[0] {
				t.Fatal("frames interleaved")
			}
		}
	}
	wg.Wait()
}

// A cancelled context stops a write nobody takes, and the connection stays
// usable since no byte went out.
func TestPreparedCancel(t *testing.T) {
	a, b := net.Pipe()
	server := raw.New(a, nil, raw.Server, nil)
	client := raw.New(b, nil, raw.Client, nil)
	defer server.Close()
	defer client.Close()
	f := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hi"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := server.WritePrepared(ctx, f); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	go server.WritePrepared(context.Background(), f)
	if _, err := client.NextFrame(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, _ := io.ReadAll(client); string(p) != "hi" {
		t.Fatalf("got %q", p)
	}
}
