package raw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// A server's frames that fit in the write buffer are written to a TCP
// socket through its RawConn (sockWrite), not net.Conn.Write. Written into
// socket buffers too small for them, they go out whole and in order:
// partial writes and waits for room lose and repeat nothing.
func TestSockWriteSmallBuffers(t *testing.T) {
	server, client := testnet.Loopback(t)
	server.(*net.TCPConn).SetWriteBuffer(16384)
	client.(*net.TCPConn).SetReadBuffer(65536)
	s := raw.New(server, nil, raw.Server, nil)
	defer s.Close()
	const frames, size = 100, 10000 // within the 16 KiB write buffer
	errc := make(chan error, 1)
	go func() {
		p := make([]byte, size)
		for i := range frames {
			for j := range p {
				p[j] = byte(i + j)
			}
			if err := s.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpBinary}, p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	time.Sleep(50 * time.Millisecond) // the writer fills the socket and waits
	var hbuf [frame.MaxHeaderSize]byte
	want := make([]byte, size)
	got := make([]byte, size)
	for i := range frames {
		h, err := frame.ReadHeader(client, &hbuf)
		if err != nil || h.Length != size || h.Masked {
			t.Fatalf("frame %d: header %+v, %v", i, h, err)
		}
		if _, err := io.ReadFull(client, got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for j := range want {
			want[j] = byte(i + j)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: payload differs", i)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A small frame written to a peer that reset the connection fails as
// net.Conn.Write fails: a *net.OpError of a "write", with the system
// call's error in an *os.SyscallError.
func TestSockWriteErrorLikeNetConn(t *testing.T) {
	server, client := testnet.Loopback(t)
	s := raw.New(server, nil, raw.Server, nil)
	defer s.Close()
	client.(*net.TCPConn).SetLinger(0)
	client.Close() // a reset, not a FIN
	var err error
	for range 100 {
		if err = s.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hello")); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("write to a reset peer = %#v, want a *net.OpError", err)
	}
	if oe.Op != "write" || oe.Net != "tcp" || oe.Source.String() != server.LocalAddr().String() || oe.Addr.String() != server.RemoteAddr().String() {
		t.Errorf("write to a reset peer = %v (Op %q, Net %q, Source %v, Addr %v), want net.Conn.Write's", err, oe.Op, oe.Net, oe.Source, oe.Addr)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "write" || !(errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("write to a reset peer = %v, want an *os.SyscallError of write with EPIPE or ECONNRESET", err)
	}
}

// A small frame that waits for a peer that does not read is cut short by
// its context, as a large one is.
func TestSockWriteCutByContext(t *testing.T) {
	server, client := testnet.Loopback(t)
	server.(*net.TCPConn).SetWriteBuffer(4096)
	client.(*net.TCPConn).SetReadBuffer(4096)
	s := raw.New(server, nil, raw.Server, nil)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p := make([]byte, 1000)
	var err error
	for range 10000 {
		if err = s.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, p); err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write to a peer that does not read = %v, want context.DeadlineExceeded", err)
	}
}

// countingConn is a TCP connection wrapped to count what is written.
type countingConn struct {
	*net.TCPConn
	n int
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.TCPConn.Write(p)
	c.n += n
	return n, err
}

// A net.Conn that wraps a socket has its Write called: only the socket
// types themselves are written to through their RawConn.
func TestSockWriteKeepsWrapper(t *testing.T) {
	server, _ := testnet.Loopback(t)
	cc := &countingConn{TCPConn: server.(*net.TCPConn)}
	s := raw.New(cc, nil, raw.Server, nil)
	defer s.Close()
	if err := s.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if cc.n != 7 {
		t.Fatalf("the wrapper's Write wrote %d bytes, want the frame's 7", cc.n)
	}
}

// A server's frame larger than the write buffer goes out on a socket as
// its header, after any held frames, and then its payload, uncopied,
// together in writevs. A peer that reads slowly makes them stop part way,
// and each resumes where it stopped: the peer reads every frame whole and
// in order.
func TestSockWritevResumes(t *testing.T) {
	server, client := testnet.Loopback(t)
	server.(*net.TCPConn).SetWriteBuffer(4096)
	s := raw.New(server, nil, raw.Server, nil)
	defer s.Close()
	bin := frame.Header{Fin: true, Opcode: frame.OpBinary}
	// Each step holds its small frames, then writes its large one.
	steps := []struct {
		held []string
		n    int
	}{
		{nil, raw.DefaultWriteBufferSize + 1},
		{[]string{"a", "bc"}, 70000},
		{nil, 300000},
		{[]string{"d"}, 20000},
	}
	var want []byte
	for i, st := range steps {
		for _, m := range st.held {
			want = append(frame.AppendHeader(want, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(len(m))}), m...)
		}
		want = append(frame.AppendHeader(want, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(st.n)}), payload(st.n, i)...)
	}
	got := make([]byte, len(want))
	done := make(chan error, 1)
	go func() {
		// Small reads with pauses: the writes find the socket full.
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		off := 0
		for i := 0; off < len(got); i++ {
			n, err := client.Read(got[off:min(off+3000, len(got))])
			off += n
			if err != nil {
				done <- err
				return
			}
			if i%8 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		done <- nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, st := range steps {
		for _, m := range st.held {
			if err := s.HoldFrame(ctx, bin, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.WriteFrame(ctx, bin, payload(st.n, i)); err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, st.n, err)
		}
		if s.Held() != 0 {
			t.Fatalf("frame %d: %d bytes still held after a write", i, s.Held())
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the peer read other bytes than the frames written")
	}
}
