//go:build unix

package raw

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/internal/testnet"
)

// spinPair returns a client Conn over one end of a connected Unix socket
// and the other end.
func spinPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	a, b := testnet.UnixPair(t, 0)
	c := New(a, nil, Client, nil)
	t.Cleanup(func() { c.Close() })
	if c.idle == nil || c.idle.spin != defaultSpin {
		t.Fatalf("a socket's Conn starts with spin %+v, want %+v", c.idle.spin, defaultSpin)
	}
	return c, b
}

// TestReadSpinBacksOff: a spin that finds nothing makes the next 1, 3,
// 7 ... waits (up to 1023) go without one; a spin that finds data hands
// it over as a wait would, and makes the next wait spin again; a negative
// SetReadSpin turns spins off.
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
	c.SetReadSpin(-1)
	if read, _ := c.spinRead(); read {
		t.Fatal("SetReadSpin(-1) still spins")
	}
}

// TestReadSpinLimit: no more than GOMAXPROCS/2 connections spin at once.
func TestReadSpinLimit(t *testing.T) {
	c, peer := spinPair(t)
	c.SetReadSpin(time.Second)
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

// TestDefaultSpinOnlyWhileAlone: with the default spin, a connection
// spins only while its reads were the last two of the process to find
// data, and a spin under way ends when another connection reads.
func TestDefaultSpinOnlyWhileAlone(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("spins need GOMAXPROCS >= 2")
	}
	c, peer := spinPair(t)
	other, otherPeer := spinPair(t)
	frame := []byte{0x82, 0x02, 'h', 'i'}

	// A read that waited makes its connection the last reader.
	otherPeer.Write(frame)
	if err := other.ReadAhead(t.Context()); err != nil {
		t.Fatal(err)
	}
	if lastReader.Load() != readerID(other.idle) {
		t.Fatal("a read that found data did not make its connection the last reader")
	}

	// Another connection is receiving: no spin, and no miss counted.
	peer.Write(frame)
	if read, _ := c.spinRead(); read {
		t.Fatal("spun and read while another connection was the last to read")
	}
	if c.idle.spin.backoff != 0 || c.idle.spin.skip != 0 {
		t.Fatalf("a spin not made counted as a miss: %+v", c.idle.spin)
	}
	if err := c.ReadAhead(t.Context()); err != nil {
		t.Fatal(err)
	}
	if lastReader.Load() != readerID(c.idle) {
		t.Fatal("the wait's read did not make its connection the last reader")
	}
	readHi(t, c)

	// One read of its own is not enough: among many connections that
	// each receive now and then, the last to read is seldom the next.
	peer.Write(frame)
	if read, _ := c.spinRead(); read {
		t.Fatal("spun and read after one read of its own")
	}
	if err := c.ReadAhead(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !aloneAgain(c.idle) {
		t.Fatal("two reads in a row did not mark the connection as reading alone")
	}
	readHi(t, c)

	// Alone: the default spin finds what the peer sends during it. A
	// spin ends early when its thread is preempted, so a loaded machine
	// gets tries for up to 5 seconds (20 tries were not always enough
	// with another test binary busy on both cores, in .ci/run's 32-bit
	// step).
	c.idle.spin.us = 1<<16 - 1 // long enough for the test's scheduling
	deadline := time.Now().Add(5 * time.Second)
	for try := 1; ; try++ {
		c.idle.spin.skip, c.idle.spin.backoff = 0, 0
		go func() {
			time.Sleep(time.Millisecond)
			peer.Write(frame)
		}()
		read, err := c.spinRead()
		if err != nil {
			t.Fatal(err)
		}
		if !read {
			if time.Now().After(deadline) {
				t.Fatalf("alone, %d spins in 5s did not read the frame sent during them", try)
			}
			if err := c.ReadAhead(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		readHi(t, c)
		if read {
			break
		}
	}

	// Another connection reads during the spin: it ends then, and the
	// frame sent well after that is left to the wait.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(time.Millisecond)
		noteRead(other.idle)
		time.Sleep(10 * time.Millisecond)
		peer.Write(frame)
	}()
	read, _ := c.spinRead()
	<-done
	if read {
		t.Fatal("the spin went on after another connection read")
	}
	if c.idle.spin.backoff != 1 {
		t.Fatalf("a spin cut short by another reader: backoff %d, want 1 (a miss)", c.idle.spin.backoff)
	}
}

// TestDefaultSpinYieldsToWork: the default spin ends when goroutines with
// work take its turns, even as the last reader; one set with SetReadSpin
// goes on (given a few tries: the peer's writer is one of the goroutines
// that wait for a turn).
func TestDefaultSpinYieldsToWork(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("spins need GOMAXPROCS >= 2")
	}
	c, peer := spinPair(t)
	frame := []byte{0x82, 0x02, 'h', 'i'}
	// spin spins beside GOMAXPROCS busy goroutines while the peer sends.
	spin := func() bool {
		c.idle.spin.skip, c.idle.spin.backoff = 0, 0
		noteRead(c.idle)
		noteRead(c.idle)
		var stop atomic.Bool
		for range runtime.GOMAXPROCS(0) {
			go func() {
				for !stop.Load() {
				}
			}()
		}
		go func() {
			time.Sleep(2 * time.Millisecond)
			peer.Write(frame)
		}()
		read, err := c.spinRead()
		stop.Store(true)
		if err != nil {
			t.Fatal(err)
		}
		if !read {
			if err := c.ReadAhead(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		readHi(t, c)
		return read
	}
	c.idle.spin.us = 1<<16 - 1
	if spin() {
		t.Fatal("the default spin read on, with goroutines busy beside it")
	}
	c.SetReadSpin(time.Second)
	for try := 1; !spin(); try++ {
		if try == 5 {
			t.Fatal("a spin set with SetReadSpin never read, with goroutines busy beside it")
		}
	}
}

// readHi reads the frame "hi" the tests' peers send.
func readHi(t *testing.T, c *Conn) {
	t.Helper()
	h, err := c.NextFrame(t.Context())
	if err != nil || h.Length != 2 {
		t.Fatalf("frame %+v %v, want the 2-byte one", h, err)
	}
	if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
}
