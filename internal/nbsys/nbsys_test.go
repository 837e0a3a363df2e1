//go:build unix

package nbsys

import (
	"bytes"
	"syscall"
	"testing"
)

// pair returns the two ends of a nonblocking Unix stream socket pair.
func pair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
	}
	return fds[0], fds[1]
}

func TestReadWriteEmpty(t *testing.T) {
	a, b := pair(t)
	buf := make([]byte, 16)
	if !Empty(b) {
		t.Error("Empty on a socket nothing was written to = false")
	}
	if n, errno := Read(b, buf); errno != syscall.EAGAIN || n != -1 {
		t.Errorf("Read of an empty socket = %d, %v; want -1, EAGAIN", n, errno)
	}
	if n, errno := Write(a, []byte("hello")); errno != 0 || n != 5 {
		t.Fatalf("Write = %d, %v; want 5, no error", n, errno)
	}
	if Empty(b) {
		t.Error("Empty with 5 bytes waiting = true")
	}
	// Empty only looks: the bytes are still there.
	if n, errno := Read(b, buf); errno != 0 || string(buf[:n]) != "hello" {
		t.Errorf("Read = %q, %v; want hello", buf[:max(n, 0)], errno)
	}
	syscall.Shutdown(a, syscall.SHUT_WR)
	if Empty(b) {
		t.Error("Empty at the end of the stream = true: the read that follows must find it")
	}
	if n, errno := Read(b, buf); errno != 0 || n != 0 {
		t.Errorf("Read at the end of the stream = %d, %v; want 0, no error", n, errno)
	}
}

// Calls larger than MaxDirect go through package syscall, with the same
// results.
func TestLarge(t *testing.T) {
	a, b := pair(t)
	syscall.SetsockoptInt(a, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
	syscall.SetsockoptInt(b, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	for _, size := range []int{MaxDirect, MaxDirect + 1, 3 * MaxDirect} {
		out := bytes.Repeat([]byte{byte(size)}, size)
		sent := 0
		got := make([]byte, 0, size)
		in := make([]byte, 2*MaxDirect)
		for len(got) < size {
			if sent < size {
				n, errno := Write(a, out[sent:])
				switch {
				case errno == syscall.EAGAIN:
				case errno != 0:
					t.Fatalf("%d bytes: Write: %v", size, errno)
				default:
					sent += n
				}
			}
			n, errno := Read(b, in)
			switch {
			case errno == syscall.EAGAIN:
			case errno != 0:
				t.Fatalf("%d bytes: Read: %v", size, errno)
			default:
				got = append(got, in[:n]...)
			}
		}
		if !bytes.Equal(got, out) {
			t.Fatalf("%d bytes: read back %d bytes that differ", size, len(got))
		}
	}
}

func TestWritev(t *testing.T) {
	a, b := pair(t)
	parts := [][]byte{[]byte("head"), []byte("-"), bytes.Repeat([]byte("x"), 100)}
	iov := make([]syscall.Iovec, len(parts))
	size := 0
	for i, p := range parts {
		iov[i].Base = &p[0]
		iov[i].SetLen(len(p))
		size += len(p)
	}
	if n, errno := Writev(a, iov, size); errno != 0 || n != size {
		t.Fatalf("Writev = %d, %v; want %d", n, errno, size)
	}
	buf := make([]byte, 256)
	n, errno := Read(b, buf)
	if want := bytes.Join(parts, nil); errno != 0 || !bytes.Equal(buf[:n], want) {
		t.Errorf("read back %q, %v; want %q", buf[:max(n, 0)], errno, want)
	}
	// A socket whose peer no longer reads: the error, as a number.
	syscall.Shutdown(b, syscall.SHUT_RDWR)
	if _, errno := Write(a, []byte("x")); errno != syscall.EPIPE {
		t.Errorf("Write to a closed peer = %v, want EPIPE", errno)
	}
}
