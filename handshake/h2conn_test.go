package handshake

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a checker.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newTestStream() (*streamConn, *io.PipeWriter, *lockedBuffer) {
	pr, pw := io.Pipe()
	var out lockedBuffer
	return newStreamConn(pr, &out, nil, streamAddr("local"), streamAddr("remote")), pw, &out
}

// TestStreamReadDeadline: an expired read deadline interrupts a read
// without losing what that read then receives.
func TestStreamReadDeadline(t *testing.T) {
	c, pw, _ := newTestStream()
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || n != 0 {
		t.Fatalf("Read = %d, %v; want 0, ErrDeadlineExceeded", n, err)
	}
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the deadline: %v, want ErrDeadlineExceeded", err)
	}
	// The interrupted read is still waiting; its data comes next.
	go pw.Write([]byte("hello"))
	c.SetReadDeadline(time.Time{})
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	// A deadline in the past, then cleared, as raw's interrupter does.
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v, want ErrDeadlineExceeded", err)
	}
	c.SetReadDeadline(time.Time{})
	go func() { pw.Write([]byte("again")); pw.Close() }()
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "again" {
		t.Fatalf("Read = %q, %v; want again", buf[:n], err)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read at the end: %v, want EOF", err)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read after the end: %v, want EOF again", err)
	}
}

// TestStreamShortReads: a Read smaller than what arrived takes the rest
// on the next calls.
func TestStreamShortReads(t *testing.T) {
	c, pw, _ := newTestStream()
	defer c.Close()
	go pw.Write([]byte("abcdef"))
	var got []byte
	for len(got) < 6 {
		b := make([]byte, 4)
		n, err := c.Read(b[:2])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b[:n]...)
	}
	if string(got) != "abcdef" {
		t.Errorf("read %q, want abcdef", got)
	}
}

// TestStreamClose: Close ends a blocked Read, and later reads and writes
// fail with net.ErrClosed; onClose runs once.
func TestStreamClose(t *testing.T) {
	c, _, out := newTestStream()
	var closes int
	c.onClose = func() { closes++ }
	if _, err := c.Write([]byte("x")); err != nil || out.String() != "x" {
		t.Fatalf("Write: %v, wrote %q", err, out.String())
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked Read: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("y")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if closes != 1 {
		t.Errorf("onClose ran %d times, want 1", closes)
	}
}
