//go:build linux

package poll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestFDConnSize keeps what Serve adds for every socket it moves out of
// the runtime's poller in the 48-byte size class.
func TestFDConnSize(t *testing.T) {
	if n := unsafe.Sizeof(fdConn{}); n > 48 {
		t.Fatalf("fdConn is %d bytes, want at most 48: it is held for every served socket", n)
	}
}

// fdPair returns an fdConn over the server end of a loopback TCP
// connection (the *net.TCPConn it came from closed, as Serve closes it)
// and the client end, with small buffers on both so that a peer that does
// not read blocks writes after a few kilobytes.
func fdPair(t *testing.T) (*fdConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	srv.(*net.TCPConn).SetWriteBuffer(4096)
	cli.(*net.TCPConn).SetReadBuffer(4096)
	nc, err := newFDConn(srv)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	c := nc.(*fdConn)
	t.Cleanup(func() {
		c.Close()
		cli.Close()
	})
	return c, cli.(*net.TCPConn)
}

func TestFDConnReadWrite(t *testing.T) {
	c, cli := fdPair(t)
	if _, err := cli.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// A read that has to wait for the data.
	go func() {
		time.Sleep(20 * time.Millisecond)
		cli.Write([]byte("later"))
	}()
	n, err = c.Read(buf)
	if err != nil || string(buf[:n]) != "later" {
		t.Fatalf("waiting Read = %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	n, err = io.ReadFull(cli, buf[:4])
	if err != nil || string(buf[:n]) != "back" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); !ok || a.String() != cli.LocalAddr().String() {
		t.Errorf("RemoteAddr = %v, want %v", c.RemoteAddr(), cli.LocalAddr())
	}
	if a, ok := c.LocalAddr().(*net.TCPAddr); !ok || a.String() != cli.RemoteAddr().String() {
		t.Errorf("LocalAddr = %v, want %v", c.LocalAddr(), cli.RemoteAddr())
	}
	cli.CloseWrite()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at the peer's end of stream = %d, %v; want io.EOF", n, err)
	}
}

// fill writes to c, whose peer does not read, until a write blocks: it
// returns once the socket's buffers are full.
func fill(t *testing.T, c *fdConn) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	big := make([]byte, 64<<10)
	for {
		if _, err := c.Write(big); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("filling the socket: %v", err)
			}
			break
		}
	}
	c.SetWriteDeadline(time.Time{})
}

// A peer that stops reading: the write waits, and its deadline ends the
// wait, as a timeout.
func TestFDConnWriteDeadline(t *testing.T) {
	c, _ := fdPair(t)
	fill(t, c)
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := c.Write(make([]byte, 64<<10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write to a peer that does not read = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the write gave up after %v", el)
	}
}

// A deadline set while an operation waits moves that wait: a deadline in
// the past ends it at once (how package raw interrupts a write whose
// context is cancelled).
func TestFDConnDeadlineDuringWait(t *testing.T) {
	c, _ := fdPair(t)
	fill(t, c)
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64<<10))
		done <- err
	}()
	readDone := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		readDone <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.SetWriteDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("interrupted Write = %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set in the past did not end a waiting write")
	}
	select {
	case err := <-readDone:
		t.Fatalf("a write deadline ended a waiting read: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-readDone:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("interrupted Read = %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline set in the past did not end a waiting read")
	}
}

// Close wakes a write that waits for a peer that does not read, and a
// read that waits for data, with net.ErrClosed.
func TestFDConnCloseDuringWait(t *testing.T) {
	c, _ := fdPair(t)
	fill(t, c)
	errs := make(chan error, 2)
	go func() {
		_, err := c.Write(make([]byte, 64<<10))
		errs <- err
	}()
	go func() {
		_, err := c.Read(make([]byte, 1))
		errs <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("operation cut by Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake a waiting operation")
		}
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
}

// isOpen reports whether fd is an open descriptor.
func isOpen(fd int) bool {
	_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return errno == 0
}

// The descriptor is closed only once nothing uses it: Close during an
// operation leaves it open until the operation is done, so that the
// operation cannot reach another socket that got the same number.
func TestFDConnNoReuseWhileInUse(t *testing.T) {
	c, _ := fdPair(t)
	fd := int(c.fd)
	rc, _ := c.SyscallConn()
	closed := make(chan struct{})
	err := rc.Control(func(s uintptr) {
		go func() {
			c.Close()
			close(closed)
		}()
		<-closed
		// Another socket now would get a new number, not this one.
		if !isOpen(int(s)) {
			t.Error("Close closed the descriptor while Control used it")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if isOpen(fd) {
		t.Error("descriptor still open after Close and the last use")
	}
	if err := rc.Control(func(uintptr) { t.Error("Control ran after Close") }); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Control after Close = %v, want net.ErrClosed", err)
	}
}

// Only *net.TCPConn and stream *net.UnixConn move: another net.Conn, even
// one that gives access to its descriptor, may do something of its own
// with the bytes.
func TestNewFDConnRefuses(t *testing.T) {
	_, cli := fdPair(t)
	wrapped := struct{ *net.TCPConn }{cli}
	if _, err := newFDConn(wrapped); err == nil {
		t.Error("newFDConn took a wrapped *net.TCPConn")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := newFDConn(a); err == nil {
		t.Error("newFDConn took a net.Pipe")
	}
}

// WriteBuffers writes every buffer in order, through a socket buffer
// that fills (partial writes, waits), and consumes v.
func TestFDConnWriteBuffers(t *testing.T) {
	c, cli := fdPair(t)
	var want []byte
	var v net.Buffers
	for i := range 12 { // more than one writev takes
		b := make([]byte, 1+i*1000)
		for k := range b {
			b[k] = byte(i + k)
		}
		v = append(v, b, nil) // empty buffers are skipped
		want = append(want, b...)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(cli)
		got <- b
	}()
	n, err := c.WriteBuffers(&v)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("WriteBuffers = %d, %v; want %d", n, err, len(want))
	}
	if len(v) != 0 {
		t.Errorf("%d buffers left in v", len(v))
	}
	c.CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer read %d bytes, not what was written (%d)", len(b), len(want))
	}
}

// A deadline set while a read begins to wait reaches that wait, whichever
// comes first: setDeadlines takes no lock when nothing waits, and relies
// on the wait marking itself before it reads the deadlines.
func TestFDConnDeadlineRacesWait(t *testing.T) {
	c, _ := fdPair(t)
	buf := make([]byte, 1)
	for i := range 300 {
		c.SetReadDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(buf)
			done <- err
		}()
		if i%3 != 0 {
			runtime.Gosched()
		}
		c.SetReadDeadline(time.Unix(1, 0))
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("round %d: Read = %v, want os.ErrDeadlineExceeded", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: a deadline set as the read began to wait never ended it", i)
		}
	}
}

// Operations racing Close never reach the descriptor after it is closed,
// and the last of them closes it.
func TestFDConnCloseRacesOperations(t *testing.T) {
	for range 50 {
		c, cli := fdPair(t)
		fd := int(c.fd)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := c.Write([]byte("x")); err != nil {
						if !errors.Is(err, net.ErrClosed) {
							t.Errorf("Write = %v, want net.ErrClosed", err)
						}
						return
					}
				}
			}()
		}
		go io.Copy(io.Discard, cli)
		runtime.Gosched()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if isOpen(fd) {
			// The number may already belong to a new descriptor of this
			// process only if something opened one; nothing here does.
			t.Fatalf("descriptor %d still open after Close and the last operation", fd)
		}
	}
}
