package conn_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/raw"
)

func TestWritePrepared(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	data := []byte("héllo everyone")
	pm := conn.NewPreparedMessage(conn.MessageText, data)
	data[0] = 'H' // the message keeps its own copy
	if pm.Type() != conn.MessageText || string(pm.Data()) != "héllo everyone" {
		t.Fatalf("pm = %v %q", pm.Type(), pm.Data())
	}
	// Both roles: the server sends the prepared bytes, the client masks.
	go func() {
		server.WritePrepared(ctx, pm)
		client.WritePrepared(ctx, pm)
	}()
	for _, c := range []*conn.Conn{client, server} {
		typ, p, err := c.Read(ctx)
		if err != nil || typ != conn.MessageText || string(p) != "héllo everyone" {
			t.Fatalf("read %v %q %v", typ, p, err)
		}
	}
}

// A prepared message waits for a streamed message in progress: messages
// never interleave.
func TestWritePreparedAfterStream(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	pm := conn.NewPreparedMessage(conn.MessageBinary, []byte{9, 9})
	w, err := server.Writer(ctx, conn.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.WritePrepared(ctx, pm) }()
	go func() {
		w.Write(bytes.Repeat([]byte{1}, 40000)) // more than a frame
		w.Close()
	}()
	_, p, err := client.Read(ctx)
	if err != nil || len(p) != 40000 {
		t.Fatalf("first message: %d bytes, %v", len(p), err)
	}
	_, p, err = client.Read(ctx)
	if err != nil || !bytes.Equal(p, []byte{9, 9}) {
		t.Fatalf("second message: %v %v", p, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Writing a prepared message on a server connection allocates nothing.
func TestWritePreparedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
	defer s.CloseNow()
	defer b.Close()
	pm := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 1024))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.WritePrepared(ctx, pm); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per WritePrepared, want 0", allocs)
	}
}

// BenchmarkServerWrite compares a server writing a 1 KiB message with
// Write (framed on every call) and with WritePrepared (framed once).
func BenchmarkServerWrite(b *testing.B) {
	for _, prepared := range []bool{false, true} {
		name := "Write"
		if prepared {
			name = "WritePrepared"
		}
		b.Run(name, func(b *testing.B) {
			a, d := net.Pipe()
			go io.Copy(io.Discard, d)
			s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
			msg := make([]byte, 1024)
			pm := conn.NewPreparedMessage(conn.MessageBinary, msg)
			ctx := context.Background()
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if prepared {
					err = s.WritePrepared(ctx, pm)
				} else {
					err = s.Write(ctx, conn.MessageBinary, msg)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			s.CloseNow()
			d.Close()
		})
	}
}
