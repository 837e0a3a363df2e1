package conn_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// keepaliveOpts pings often and gives up soon, so that a peer that stops
// reading is caught in a fraction of a second.
var keepaliveOpts = conn.Options{PingInterval: 50 * time.Millisecond, PongTimeout: 100 * time.Millisecond}

// keepaliveBound is how long the tests below give the keepalive to fail a
// connection whose peer stopped reading: generous, for slow machines and
// the race detector, and far below the contexts the blocked calls run
// under (which is what they return at without the keepalive).
const keepaliveBound = 5 * time.Second

// shrinkBuffers makes the buffers on the way from the writer w to the
// reader r small, so that once r stops reading the TCP window closes
// after a few kilobytes. (Only these two: shrinking the receive buffer
// of a socket that is still being read from makes the kernel drop data it
// had made room for, and the sender then waits for retransmissions.)
func shrinkBuffers(t *testing.T, w, r net.Conn) {
	t.Helper()
	if err := w.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := r.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
}

// TestKeepaliveFailsStuckWrite: the peer stops reading while a big
// message is being written, so the write holds the frame lock and the
// keepalive's ping cannot go out. The keepalive must fail the connection
// as it does when no pong comes (1006 wrapping ErrPongTimeout), which also
// ends the blocked write, instead of giving up and leaving both stuck.
func TestKeepaliveFailsStuckWrite(t *testing.T) {
	srvNC, cliNC := testnet.Loopback(t)
	shrinkBuffers(t, srvNC, cliNC)
	c := conn.NewFromResult(&handshake.Result{Conn: srvNC}, raw.Server, nil, &keepaliveOpts)
	defer c.CloseNow()

	ctx, cancel := context.WithTimeout(context.Background(), 4*keepaliveBound)
	defer cancel()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	start := time.Now()
	err := c.Write(ctx, conn.MessageBinary, make([]byte, 16<<20))
	if took := time.Since(start); err == nil || took > keepaliveBound {
		t.Fatalf("Write to a peer that stopped reading returned %v after %v, want an error within %v", err, took, keepaliveBound)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, conn.ErrPongTimeout) || conn.CloseStatus(err) != conn.StatusAbnormalClosure {
			t.Fatalf("Read: %v, want a 1006 CloseError wrapping ErrPongTimeout", err)
		}
	case <-time.After(keepaliveBound):
		t.Fatal("Read still blocked after the keepalive should have failed the connection")
	}
}

// TestHandlerPingFlood: under Handler, a client floods pings and never
// reads. The serve loop's reader blocks writing pongs into the closed TCP
// window; the keepalive must fail the connection rather than let the
// client hold the serve goroutine for ever.
func TestHandlerPingFlood(t *testing.T) {
	served := make(chan error, 1)
	// The first ping is due after the flood has closed the window.
	ao := &conn.AcceptOptions{Options: conn.Options{PingInterval: 500 * time.Millisecond, PongTimeout: 100 * time.Millisecond}}
	srv := httptest.NewServer(conn.Handler(ao, func(ctx context.Context, c *conn.Conn) {
		c.NetConn().(*net.TCPConn).SetWriteBuffer(4096)
		for {
			if _, _, err := c.Read(ctx); err != nil {
				served <- err
				return
			}
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 4*keepaliveBound)
	defer cancel()
	var d handshake.Dialer
	res, _, err := d.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	nc := res.Conn
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(4096)

	// Flood until the server ends the connection or the test gives up;
	// the writes block once the server stops reading, so each has a
	// deadline.
	ping := bytes.Repeat(maskedFrame(frame.OpPing, bytes.Repeat([]byte("p"), 125)), 32)
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		for ctx.Err() == nil {
			nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := nc.Write(ping); err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				return
			}
		}
	}()
	defer func() { nc.Close(); <-flooded }()

	select {
	case err := <-served:
		if !errors.Is(err, conn.ErrPongTimeout) || conn.CloseStatus(err) != conn.StatusAbnormalClosure {
			t.Fatalf("serve's Read: %v, want a 1006 CloseError wrapping ErrPongTimeout", err)
		}
	case <-time.After(keepaliveBound):
		t.Fatal("a client that floods pings and never reads still holds the serve goroutine")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A keepalive interval shorter than the time New takes to return: the
// first tick may run before New has stored its timer, and must find it
// there (it resets it), not nil.
func TestKeepaliveTinyInterval(t *testing.T) {
	for range 50 {
		a, b := testnet.Loopback(t)
		c := conn.New(raw.New(a, nil, raw.Server, nil), "", &conn.Options{PingInterval: time.Nanosecond, PongTimeout: time.Second})
		// The tick's ping reaches the socket, and the tick re-arms.
		b.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := b.Read(make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
		b.Close()
	}
}
