//go:build unix

package raw

import (
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// socketPair returns the two ends of a connected Unix socket, the first as
// a raw descriptor in nonblocking mode.
func socketPair(t *testing.T) (int, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[1]), "peer")
	peer, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); peer.Close() })
	return fds[0], peer
}

// TestReadSpinBacksOff: a spin that finds nothing makes the next 1, 3,
// 7 ... waits (up to 1023) go without one; a spin that finds data makes
// the next wait spin again; a zero length, or a wait that is not
// ReadAhead's, never spins.
func TestReadSpinBacksOff(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("spins need GOMAXPROCS >= 2")
	}
	fd, peer := socketPair(t)
	b := make([]byte, 16)
	s := readSpin{us: 1, armed: true}
	spun := func() bool {
		start := time.Now()
		n, err := s.trySpin(fd, b)
		if err != syscall.EAGAIN {
			t.Fatalf("read %d %v from an empty socket", n, err)
		}
		// A wait without a spin returns at once; one with a spin
		// reads until its microsecond is over.
		return time.Since(start) >= time.Microsecond
	}
	for k := 1; k <= maxSpinBackoff+1; k++ {
		if !spun() {
			t.Fatalf("miss %d: no spin", k)
		}
		skips := 1<<min(k, maxSpinBackoff) - 1
		if int(s.skip) != skips {
			t.Fatalf("after %d misses in a row, %d waits without a spin, want %d", k, s.skip, skips)
		}
		for range skips {
			s.trySpin(fd, b)
		}
		if s.skip != 0 {
			t.Fatalf("skip %d after the waits it counted", s.skip)
		}
	}
	// Data found: the backoff is forgotten.
	peer.Write([]byte("hi"))
	if n, err := s.trySpin(fd, b); n != 2 || err != nil {
		t.Fatalf("spin read %d %v, want the 2 bytes sent", n, err)
	}
	if s.backoff != 0 || s.skip != 0 {
		t.Fatalf("after a spin that found data: backoff %d, skip %d", s.backoff, s.skip)
	}
	// Off, or not ReadAhead's wait: no read at all.
	peer.Write([]byte("hi"))
	for _, st := range []readSpin{{us: 0, armed: true}, {us: 50, armed: false}} {
		if n, err := st.trySpin(fd, b); n != 0 || err != syscall.EAGAIN {
			t.Fatalf("%+v read %d %v, want no read", st, n, err)
		}
	}
}

// TestReadSpinLimit: no more than GOMAXPROCS/2 connections spin at once.
func TestReadSpinLimit(t *testing.T) {
	fd, peer := socketPair(t)
	peer.Write([]byte("hi"))
	b := make([]byte, 16)
	max := int32(runtime.GOMAXPROCS(0) / 2)
	spinners.Add(max)
	s := readSpin{us: 50, armed: true}
	n, err := s.trySpin(fd, b)
	spinners.Add(-max)
	if n != 0 || err != syscall.EAGAIN {
		t.Fatalf("a spin beyond the limit read %d %v", n, err)
	}
	if spinners.Load() != 0 {
		t.Fatalf("%d spinners left counted", spinners.Load())
	}
}
