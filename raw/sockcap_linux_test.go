//go:build linux

package raw_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/nbsys"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// bigUnixPair returns a Raw server session over one end of a Unix socket
// pair whose buffers hold 8 MiB, and the other end.
func bigUnixPair(t *testing.T) (*raw.Conn, net.Conn) {
	t.Helper()
	a, b := testnet.UnixPair(t, 8<<20)
	s := raw.New(a, nil, raw.Server, nil)
	t.Cleanup(func() { s.Close() })
	return s, b
}

// A read into the buffer ReadAheadInto lends takes at most
// nbsys.MaxDirect bytes, however much the buffer and the socket hold
// (readLent): a larger read would go through package syscall, deeper
// than a waiting goroutine's stack. The payload still arrives whole.
func TestLentReadAtMostMaxDirect(t *testing.T) {
	s, client := bigUnixPair(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	if _, err := client.Write(maskedFrame(payload)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.NextFrame(ctx); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(payload))
	p := make([]byte, len(payload))
	for {
		if s.Buffered() == 0 {
			if err := s.ReadAheadInto(ctx, p[:len(payload)-len(got)]); err != nil {
				t.Fatalf("ReadAheadInto after %d bytes: %v", len(got), err)
			}
			if n := s.Buffered(); n > nbsys.MaxDirect || n == 0 {
				t.Fatalf("ReadAheadInto with %d bytes in the socket and room for them read %d, want 1 to %d (nbsys.MaxDirect)", len(payload)-len(got), n, nbsys.MaxDirect)
			}
		}
		n, err := s.Read(p[:s.Buffered()])
		got = append(got, p[:n]...)
		if err == io.EOF || len(got) == len(payload) {
			break
		}
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the payload read differs from the one sent")
	}
}

// writeCalls returns how many write system calls (write, writev) the
// process has made.
func writeCalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Skip("no syscw in /proc/self/io")
	return 0
}

// The writev of a frame's header and payload moves at most
// nbsys.MaxDirect bytes, however much the socket takes: a 1 MiB frame
// into a socket with room for it takes more than one call.
func TestWritevAtMostMaxDirect(t *testing.T) {
	s, client := bigUnixPair(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), (1<<20)/16)
	before := writeCalls(t)
	if err := s.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpBinary}, payload); err != nil {
		t.Fatal(err)
	}
	calls := writeCalls(t) - before
	var hbuf [frame.MaxHeaderSize]byte
	h, err := frame.ReadHeader(client, &hbuf)
	if err != nil || h.Length != int64(len(payload)) {
		t.Fatalf("header %+v, %v", h, err)
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("payload: %v, equal %v", err, bytes.Equal(got, payload))
	}
	if calls < 2 {
		t.Fatalf("a 1 MiB frame went out in %d write system call(s), want at least 2 (at most %d bytes each)", calls, nbsys.MaxDirect)
	}
}
