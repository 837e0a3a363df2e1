package raw_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// A refused write says which rule of RFC 6455 the frame breaks, as an
// *IllegalWriteError that errors.Is matches with ErrIllegalWrite, and
// sends nothing.
func TestWriteRefusalNamesTheRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    frame.Header
		n    int
		want []string
	}{
		{"unowned RSV", frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV2}, 1, []string{"RSV2", "AllowedRSV", "5.2"}},
		{"unowned RSV beside an owned one", frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1 | frame.RSV3}, 1, []string{"RSV3", "AllowedRSV"}},
		{"reserved opcode", frame.Header{Fin: true, Opcode: 0x3}, 1, []string{"opcode", "0x3", "reserved", "5.2"}},
		{"fragmented control", frame.Header{Opcode: frame.OpPing}, 1, []string{"ping", "fragmented", "5.5"}},
		{"long control", frame.Header{Fin: true, Opcode: frame.OpPong}, 126, []string{"pong", "126", "125", "5.5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := &readerConn{r: strings.NewReader("")}
			c := raw.New(nc, nil, raw.Server, &raw.Options{AllowedRSV: frame.RSV1})
			err := c.WriteFrame(context.Background(), tc.h, make([]byte, tc.n))
			if err == nil {
				t.Fatal("WriteFrame accepted the frame")
			}
			t.Logf("error: %v", err)
			var we *raw.IllegalWriteError
			if !errors.As(err, &we) || !errors.Is(err, raw.ErrIllegalWrite) {
				t.Fatalf("%v: not an *IllegalWriteError wrapping ErrIllegalWrite", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if we.Header.Opcode != tc.h.Opcode || we.Header.RSV != tc.h.RSV {
				t.Errorf("Header = %+v, want the refused one %+v", we.Header, tc.h)
			}
			if nc.w.Len() != 0 {
				t.Errorf("%d bytes went out", nc.w.Len())
			}
			// The connection is still good.
			if err := c.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpText}, []byte("ok")); err != nil {
				t.Errorf("a legal write after the refusal: %v", err)
			}
		})
	}
}

// Errors of a read that waited on an idle socket read like those of any
// read: no internal operation name ("raw-read"), and the operation and
// addresses of a *net.OpError.
func TestIdleReadErrorsLikeNetRead(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		sv, cl := testnet.Loopback(t)
		_ = cl
		c := raw.New(sv, nil, raw.Server, nil)
		sv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := c.NextFrame(context.Background())
		checkReadErr(t, err)
	})
	t.Run("reset", func(t *testing.T) {
		sv, cl := testnet.Loopback(t)
		c := raw.New(sv, nil, raw.Server, nil)
		cl.(*net.TCPConn).SetLinger(0)
		errc := make(chan error, 1)
		go func() {
			_, err := c.NextFrame(context.Background())
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond) // let the read wait on the idle socket
		cl.Close()                        // RST
		checkReadErr(t, <-errc)
	})
}

func checkReadErr(t *testing.T, err error) {
	t.Helper()
	if err == nil || err == io.EOF {
		t.Fatalf("NextFrame = %v, want an error", err)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "raw-") {
		t.Errorf("%q names an internal operation", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Errorf("%v (%T) is not a *net.OpError of a read", err, err)
	}
}

// closeBlockedConn is a net.Conn whose Write blocks until Close, then
// fails as a socket closed under a write does: the moment of a write
// racing Close, made certain.
type closeBlockedConn struct {
	net.Conn  // nil: only the methods below are used
	writing   chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *closeBlockedConn) Write(p []byte) (int, error) {
	close(c.writing)
	<-c.closed
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: net.ErrClosed}
}

func (c *closeBlockedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}
func (c *closeBlockedConn) Read(p []byte) (int, error)       { <-c.closed; return 0, net.ErrClosed }
func (c *closeBlockedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *closeBlockedConn) SetWriteDeadline(time.Time) error { return nil }
func (c *closeBlockedConn) SetDeadline(time.Time) error      { return nil }

// A write that Close cuts short returns ErrClosed, not the socket's "use
// of closed network connection".
func TestWriteCutByCloseReturnsErrClosed(t *testing.T) {
	nc := &closeBlockedConn{writing: make(chan struct{}), closed: make(chan struct{})}
	c := raw.New(nc, nil, raw.Client, nil)
	errc := make(chan error, 1)
	go func() {
		errc <- c.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("p"))
	}()
	<-nc.writing
	c.Close()
	if err := <-errc; !errors.Is(err, raw.ErrClosed) {
		t.Fatalf("write cut by Close: %v (%T), want ErrClosed", err, err)
	}
}
