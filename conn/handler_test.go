package conn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// echoServe echoes every message c receives until it ends.
func echoServe(ctx context.Context, c *conn.Conn) {
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return
		}
	}
}

func TestHandler(t *testing.T) {
	served := make(chan struct{})
	srv := httptest.NewServer(conn.Handler(nil, func(ctx context.Context, c *conn.Conn) {
		defer close(served)
		echoServe(ctx, c)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// The handler has returned by now, and the connection still works:
	// the context serve got is not the request's, which ServeHTTP ended.
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 3; i++ {
		msg := fmt.Sprint("hello ", i)
		if err := c.Write(ctx, conn.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.Read(ctx); err != nil || string(p) != msg {
			t.Fatalf("echo %d: %q %v", i, p, err)
		}
	}
	if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-served:
	case <-ctx.Done():
		t.Fatal("serve did not return after the close")
	}

	// A request that is not a WebSocket handshake gets an HTTP error and
	// serve is not called.
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}
}

// A server that frees net/http's per-request state as soon as the
// handshake is done: each connection is served in its own goroutine.
func ExampleHandler() {
	http.Handle("/echo", conn.Handler(nil, func(ctx context.Context, c *conn.Conn) {
		var buf []byte
		for {
			typ, p, err := c.AppendRead(ctx, buf[:0])
			if err != nil {
				return
			}
			buf = p
			if err := c.Write(ctx, typ, p); err != nil {
				return
			}
		}
	}))
}
