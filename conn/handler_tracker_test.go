package conn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// TestHandlerTracker checks that a Handler given a Tracker tracks its
// connections: Shutdown closes them with 1001, serve sees it, and a
// handshake after Shutdown is refused with 503.
func TestHandlerTracker(t *testing.T) {
	var tracker conn.Tracker
	served := make(chan error, 2)
	srv := httptest.NewServer(conn.Handler(&conn.AcceptOptions{Tracker: &tracker}, func(ctx context.Context, c *conn.Conn) {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				served <- err
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*conn.Conn
	clientErrs := make(chan error, 2)
	for range 2 {
		c, _, err := conn.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
		go func() {
			_, _, err := c.Read(ctx)
			clientErrs <- err
		}()
	}
	// The 101 goes out before Accept tracks the connection.
	for tracker.Len() != 2 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if n := tracker.Len(); n != 2 {
		t.Fatalf("tracker holds %d connections, want 2", n)
	}
	if err := tracker.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-served; conn.CloseStatus(err) != conn.StatusGoingAway {
			t.Errorf("serve's read ended with %v, want 1001", err)
		}
		if err := <-clientErrs; conn.CloseStatus(err) != conn.StatusGoingAway {
			t.Errorf("client's read ended with %v, want 1001", err)
		}
	}
	_, resp, err := conn.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v, %v; want 503", resp, err)
	}
	// Tracker.Accept with options naming another Tracker tracks the
	// connection once, in its own.
	var other conn.Tracker
	ch := make(chan error, 1)
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := other.Accept(w, r, &conn.AcceptOptions{Tracker: &tracker})
		if err == nil {
			defer c.CloseNow()
		}
		ch <- err
	}))
	defer srv2.Close()
	if c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv2.URL, "http"), nil); err == nil {
		defer c.CloseNow()
	}
	if err := <-ch; err != nil {
		t.Errorf("Tracker.Accept with another Tracker in its options: %v", err)
	}
}
