//go:build linux && (amd64 || arm64) && !race && !msan && !asan

package nbsys

import (
	"bytes"
	"syscall"
	"testing"
)

// Where calls are made directly, a Write moves at most MaxDirect bytes,
// whatever it is given and the socket takes: a larger call would go
// through package syscall, deeper than package raw's writers may go.
// The bytes still arrive whole and in order.
func TestWriteAtMostMaxDirect(t *testing.T) {
	a, b := pair(t)
	syscall.SetsockoptInt(a, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 8<<20)
	syscall.SetsockoptInt(b, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<20)
	out := bytes.Repeat([]byte("0123456789abcdef"), 3*MaxDirect/16)
	got := make([]byte, 0, len(out))
	in := make([]byte, 4*MaxDirect)
	for sent := 0; len(got) < len(out); {
		if sent < len(out) {
			n, errno := Write(a, out[sent:])
			switch {
			case errno == syscall.EAGAIN:
			case errno != 0:
				t.Fatalf("Write: %v", errno)
			case n > MaxDirect:
				t.Fatalf("Write of %d bytes moved %d in one call, more than MaxDirect (%d)", len(out)-sent, n, MaxDirect)
			default:
				sent += n
			}
		}
		n, errno := Read(b, in)
		if errno != 0 && errno != syscall.EAGAIN {
			t.Fatalf("Read: %v", errno)
		}
		if n > 0 {
			got = append(got, in[:n]...)
		}
	}
	if !bytes.Equal(got, out) {
		t.Fatal("the bytes read back differ from those written")
	}
}
