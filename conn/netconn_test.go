package conn_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// netConnPair returns the two ends of a WebSocket over TCP, each as a
// net.Conn carrying typ messages.
func netConnPair(t *testing.T, typ conn.MessageType) (client, server net.Conn) {
	t.Helper()
	ch := make(chan net.Conn, 1)
	release := make(chan struct{})
	url := serve(t, func(c *conn.Conn) {
		ch <- conn.NetConn(context.Background(), c, typ)
		<-release // the test has the connection until its cleanup
	})
	c := dial(t, url, nil)
	client = conn.NetConn(context.Background(), c, typ)
	server = <-ch
	t.Cleanup(func() {
		client.Close()
		server.Close()
		close(release)
	})
	return client, server
}

type Arith struct{}

type Args struct{ A, B int }

func (Arith) Multiply(args *Args, reply *int) error {
	*reply = args.A * args.B
	return nil
}

// TestNetConnJSONRPC runs net/rpc with its JSON-RPC codec, unmodified,
// over the adapter, with concurrent calls.
func TestNetConnJSONRPC(t *testing.T) {
	for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
		t.Run(typ.String(), func(t *testing.T) {
			cnc, snc := netConnPair(t, typ)
			srv := rpc.NewServer()
			if err := srv.Register(Arith{}); err != nil {
				t.Fatal(err)
			}
			served := make(chan struct{})
			go func() {
				srv.ServeCodec(jsonrpc.NewServerCodec(snc))
				close(served)
			}()
			client := jsonrpc.NewClient(cnc)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var got int
					if err := client.Call("Arith.Multiply", &Args{i, 7}, &got); err != nil {
						t.Error(err)
						return
					}
					if got != i*7 {
						t.Errorf("%d*7 = %d", i, got)
					}
				}()
			}
			wg.Wait()
			if err := client.Close(); err != nil { // closes cnc: the close handshake
				t.Fatal(err)
			}
			select {
			case <-served: // the server codec saw io.EOF
			case <-time.After(10 * time.Second):
				t.Fatal("rpc server did not end after the client closed")
			}
		})
	}
}

// TestNetConnLines reads a bufio line protocol whose lines are cut across
// messages at arbitrary points.
func TestNetConnLines(t *testing.T) {
	cnc, snc := netConnPair(t, conn.MessageText)
	go func() {
		for _, piece := range []string{"hel", "lo\nwor", "ld\n", "", "x", "\n"} {
			if _, err := io.WriteString(cnc, piece); err != nil {
				t.Error(err)
				return
			}
		}
		cnc.Close()
	}()
	sc := bufio.NewScanner(snc)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(lines, ","); got != "hello,world,x" {
		t.Fatalf("lines %q", got)
	}
}

// Reads with a small buffer span message boundaries.
func TestNetConnSmallReads(t *testing.T) {
	cnc, snc := netConnPair(t, conn.MessageBinary)
	go func() {
		for _, m := range []string{"abcde", "f", "ghijklmnop"} {
			cnc.Write([]byte(m))
		}
		cnc.Close()
	}()
	var got []byte
	buf := make([]byte, 3)
	for {
		n, err := snc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0, nil")
		}
	}
	if string(got) != "abcdefghijklmnop" {
		t.Fatalf("got %q", got)
	}
}

func checkTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v (%T), want a timeout that is os.ErrDeadlineExceeded", err, err)
	}
}

// A read deadline interrupts a Read blocked in the middle of a message;
// once the deadline is moved, the same message reads on.
func TestNetConnReadDeadline(t *testing.T) {
	a, b := net.Pipe()
	peer := raw.New(a, nil, raw.Client, nil)
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer peer.Close()
	defer s.CloseNow()
	nc := conn.NetConn(context.Background(), s, conn.MessageBinary)

	// A deadline in the past fails at once.
	nc.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := nc.Read(make([]byte, 10))
	checkTimeout(t, err)
	nc.SetReadDeadline(time.Time{})

	go peer.WriteFrame(context.Background(), frame.Header{Opcode: frame.OpBinary}, []byte("abc"))
	buf := make([]byte, 10)
	n, err := nc.Read(buf)
	if err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("first frame: %q %v", buf[:n], err)
	}

	nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err = nc.Read(buf) // the continuation has not come
	checkTimeout(t, err)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Read returned after %v", d)
	}
	// Interrupting from another goroutine, with a deadline moved into the
	// past while Read is blocked.
	nc.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		nc.SetReadDeadline(time.Now())
	}()
	_, err = nc.Read(buf)
	checkTimeout(t, err)

	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	go peer.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpContinuation}, []byte("def"))
	n, err = nc.Read(buf)
	if err != nil || string(buf[:n]) != "def" {
		t.Fatalf("after the timeouts: %q %v", buf[:n], err)
	}
}

// A write deadline interrupts a Write the peer does not take; the
// connection stays usable when no byte of the frame went out.
func TestNetConnWriteDeadline(t *testing.T) {
	a, b := net.Pipe()
	peer := raw.New(a, nil, raw.Client, nil)
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer peer.Close()
	defer s.CloseNow()
	nc := conn.NetConn(context.Background(), s, conn.MessageText)

	nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := nc.Write([]byte("nobody reads this")) // net.Pipe: blocks until read
	checkTimeout(t, err)

	nc.SetWriteDeadline(time.Time{})
	got := make(chan string, 1)
	go func() {
		if _, err := peer.NextFrame(context.Background()); err != nil {
			got <- err.Error()
			return
		}
		p, _ := io.ReadAll(peer)
		got <- string(p)
	}()
	if _, err := nc.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "after" {
		t.Fatalf("peer got %q", g)
	}
}

// Close does the closing handshake: the peer sees 1000, and Read and Write
// after it fail.
func TestNetConnClose(t *testing.T) {
	var peerErr = make(chan error, 1)
	url := serveKeep(t, func(c *conn.Conn) {
		_, _, err := c.Read(context.Background())
		peerErr <- err
	})
	c := dial(t, url, nil)
	nc := conn.NetConn(context.Background(), c, conn.MessageText)
	if err := nc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-peerErr; conn.CloseStatus(err) != conn.StatusNormalClosure {
		t.Fatalf("peer got %v, want 1000", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read after Close: %v, want io.EOF", err)
	}
	if err := nc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if nc.LocalAddr() == nil || nc.RemoteAddr() == nil || nc.LocalAddr().String() == nc.RemoteAddr().String() {
		t.Errorf("addresses %v %v", nc.LocalAddr(), nc.RemoteAddr())
	}
}

// A message of the other type fails the stream and closes with 1003; a
// peer close with an unusual code is an error, not io.EOF.
func TestNetConnWrongTypeAndCloseCode(t *testing.T) {
	var peerErr = make(chan error, 1)
	url := serveKeep(t, func(c *conn.Conn) {
		c.Write(context.Background(), conn.MessageBinary, []byte{1})
		_, _, err := c.Read(context.Background())
		peerErr <- err
	})
	c := dial(t, url, nil)
	nc := conn.NetConn(context.Background(), c, conn.MessageText)
	_, err := nc.Read(make([]byte, 10))
	if err == nil || !strings.Contains(err.Error(), "binary message") {
		t.Fatalf("Read: %v", err)
	}
	if err := <-peerErr; conn.CloseStatus(err) != conn.StatusUnsupportedData {
		t.Fatalf("peer got %v, want 1003", err)
	}

	url = serveKeep(t, func(c *conn.Conn) { c.Close(4321, "custom") })
	nc = conn.NetConn(context.Background(), dial(t, url, nil), conn.MessageText)
	_, err = nc.Read(make([]byte, 10))
	if conn.CloseStatus(err) != 4321 {
		t.Fatalf("Read: %v, want the CloseError 4321", err)
	}
}

// When the parent context is done, reads and writes fail, and not as
// timeouts.
func TestNetConnParentContext(t *testing.T) {
	a, b := net.Pipe()
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer a.Close()
	defer s.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	nc := conn.NetConn(ctx, s, conn.MessageText)
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := nc.Read(make([]byte, 1))
	var ne net.Error
	if !errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("Read: %v, want context.Canceled", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write: %v", err)
	}
}

// serveKeep is serve for handlers that leave reading to the end: it reads
// after h until the connection ends, and the test waits for it.
func serveKeep(t *testing.T, h func(c *conn.Conn)) string {
	t.Helper()
	var wg sync.WaitGroup
	url := serve(t, func(c *conn.Conn) {
		wg.Add(1)
		defer wg.Done()
		h(c)
		// Keep the connection until the peer is done with it.
		c.Read(context.Background())
	})
	t.Cleanup(wg.Wait)
	return url
}

var _ = fmt.Sprint
