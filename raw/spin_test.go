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

// spinPair returns a client Conn over one end of a connected Unix socket
// and the other end.
func spinPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ends [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "end")
		ends[i], err = net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	c := New(ends[0], nil, Client, nil)
	t.Cleanup(func() { c.Close(); ends[1].Close() })
	if c.idle == nil || c.idle.spin.us != 0 {
		t.Fatal("a socket's Conn spins by default")
	}
	return c, ends[1]
}

// TestReadSpinBacksOff: a spin that finds nothing makes the next 1, 3,
// 7 ... waits (up to 1023) go without one; a spin that finds data hands
// it over as a wait would, and makes the next wait spin again; SetReadSpin
// of 0 turns spins off.
func TestReadSpinBacksOff(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("spins need GOMAXPROCS >= 2")
	}
	c, peer := spinPair(t)
	c.SetReadSpin(time.Microsecond)
	for k := 1; k <= maxSpinBackoff+1; k++ {
		start := time.Now()
		if read, err := c.spinRead(); read || err != nil {
			t.Fatalf("spin %d read from an empty socket: %v", k, err)
		}
		if time.Since(start) < time.Microsecond {
			t.Fatalf("miss %d: no spin", k)
		}
		skips := 1<<min(k, maxSpinBackoff) - 1
		if int(c.idle.spin.skip) != skips {
			t.Fatalf("after %d misses in a row, %d waits without a spin, want %d", k, c.idle.spin.skip, skips)
		}
		for range skips {
			c.spinRead()
		}
		if c.idle.spin.skip != 0 {
			t.Fatalf("skip %d after the waits it counted", c.idle.spin.skip)
		}
	}
	// Data found: handed over, and the backoff is forgotten.
	c.SetReadSpin(time.Second)
	go func() {
		time.Sleep(time.Millisecond)
		peer.Write([]byte{0x82, 0x02, 'h', 'i'})
	}()
	if read, err := c.spinRead(); !read || err != nil {
		t.Fatalf("spin: read %v %v, want the frame sent during it", read, err)
	}
	if c.idle.spin.backoff != 0 || c.idle.spin.skip != 0 || c.idle.spin.probe {
		t.Fatalf("after a spin that found data: %+v", c.idle.spin)
	}
	h, err := c.NextFrame(t.Context())
	if err != nil || h.Length != 2 {
		t.Fatalf("the frame read by the spin: %+v %v", h, err)
	}
	// Off: no read at all.
	peer.Write([]byte{0x82, 0x02, 'h', 'i'})
	c.SetReadSpin(0)
	if read, _ := c.spinRead(); read {
		t.Fatal("SetReadSpin(0) still spins")
	}
}

// TestReadSpinLimit: no more than GOMAXPROCS/2 connections spin at once.
func TestReadSpinLimit(t *testing.T) {
	c, peer := spinPair(t)
	peer.Write([]byte{0x82, 0x02, 'h', 'i'})
	max := int32(runtime.GOMAXPROCS(0) / 2)
	spinners.Add(max)
	read, _ := c.spinRead()
	spinners.Add(-max)
	if read {
		t.Fatal("a spin beyond the limit read")
	}
	if spinners.Load() != 0 {
		t.Fatalf("%d spinners left counted", spinners.Load())
	}
}

// TestSwapStopsSpin: a connection conn/poll takes over (swapNetConn)
// never spins, whatever it was set to: a poller's worker serves others.
func TestSwapStopsSpin(t *testing.T) {
	c, _ := spinPair(t)
	other, _ := spinPair(t)
	c.SetReadSpin(TypicalReadSpin)
	err := c.swapNetConn(func(old net.Conn) (net.Conn, error) { return other.nc, nil })
	if err != nil {
		t.Fatal(err)
	}
	if c.idle.spin.us != 0 {
		t.Fatalf("a swapped connection still spins for %d µs", c.idle.spin.us)
	}
}
