package handshake

import (
	"bytes"
	"errors"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

func newTestStream() (*streamConn, *io.PipeWriter, *syncbuf.Buffer) {
	pr, pw := io.Pipe()
	var out syncbuf.Buffer
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

// resettingWriter is the write half of a stream as net/http's HTTP/2 has
// it: a write deadline that passes, even with no write under way, resets
// the stream, and every write after that fails. A write may be held in
// flight (block) until the deadline passes.
type resettingWriter struct {
	mu    sync.Mutex
	out   bytes.Buffer
	reset bool
	timer *time.Timer
	block chan struct{} // if not nil, Write waits on it or the reset
	gone  chan struct{} // closed at the reset
}

func newResettingWriter() *resettingWriter { return &resettingWriter{gone: make(chan struct{})} }

func (w *resettingWriter) doReset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.reset {
		w.reset = true
		close(w.gone)
	}
}

func (w *resettingWriter) setWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	switch {
	case t.IsZero():
	case !t.After(time.Now()):
		go w.doReset() // net/http resets at once
	default:
		w.timer = time.AfterFunc(time.Until(t), w.doReset)
	}
	return nil
}

func (w *resettingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	block := w.block
	w.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-w.gone:
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reset {
		return 0, errors.New("stream reset")
	}
	return w.out.Write(p)
}

// TestStreamWriteDeadlineBetweenWrites: raw's interrupter may set a write
// deadline in the past just after a write ended (a context cancelled as
// the write returns), then clear it. On TCP that is harmless; net/http's
// HTTP/2 resets the stream for a passed write deadline even with no write
// under way, so the stream applies its write deadline only while a write
// is in flight. A write blocked when the deadline passes is still cut.
func TestStreamWriteDeadlineBetweenWrites(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	w := newResettingWriter()
	c := newStreamConn(pr, w, nil, streamAddr("local"), streamAddr("remote"))
	c.setWriteDeadline = w.setWriteDeadline
	defer c.Close()

	if _, err := c.Write([]byte("one ")); err != nil {
		t.Fatal(err)
	}
	c.SetWriteDeadline(time.Unix(1, 0)) // the interrupt, just too late
	time.Sleep(10 * time.Millisecond)
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("two")); err != nil {
		t.Fatalf("a write after a deadline set and cleared between writes: %v", err)
	}
	if got := w.out.String(); got != "one two" {
		t.Errorf("wrote %q", got)
	}

	// A deadline already passed when a write begins: nothing is written,
	// and the stream lives on.
	c.SetWriteDeadline(time.Unix(1, 0))
	if n, err := c.Write([]byte("three")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %d, %v; want 0, ErrDeadlineExceeded", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte(" four")); err != nil {
		t.Fatalf("a write after the deadline was cleared: %v", err)
	}

	// A write blocked (by flow control, say) when an interrupt comes is cut.
	w.mu.Lock()
	w.block = make(chan struct{})
	w.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("five"))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	c.SetWriteDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a blocked write the deadline cut returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked write was not cut by a passed deadline")
	}
}
