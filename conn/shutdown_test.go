package conn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
)

// trackedServer serves a read loop on connections accepted through tr.
// handlers counts the running handlers.
func trackedServer(t *testing.T, tr *conn.Tracker, handlers *sync.WaitGroup) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tr.Accept(w, r, nil)
		if err != nil {
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		defer c.CloseNow()
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(handlers.Wait)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestTrackerShutdown closes 100 live connections with 1001 within the
// context, and refuses new ones.
func TestTrackerShutdown(t *testing.T) {
	var tr conn.Tracker
	var handlers sync.WaitGroup
	url := trackedServer(t, &tr, &handlers)
	const n = 100
	ctx := testCtx(t)
	results := make(chan error, n)
	for range n {
		c := dial(t, url, nil)
		// Each client is live: it has exchanged a message and is reading.
		if err := c.Write(ctx, conn.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _, err := c.Read(ctx)
			results <- err
		}()
	}
	for tr.Len() < n {
		time.Sleep(time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("closed %d connections in %v", n, time.Since(start))
	for range n {
		err := <-results
		var ce *conn.CloseError
		if !errors.As(err, &ce) || ce.Code != conn.StatusGoingAway || ce.Reason != "server shutting down" {
			t.Fatalf("client got %v, want 1001", err)
		}
	}
	if l := tr.Len(); l != 0 {
		t.Errorf("Len after Shutdown = %d", l)
	}

	// New connections are refused with 503.
	_, resp, err := conn.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Dial after Shutdown: %v, response %v; want 503", err, resp)
	}
}

// When peers do not answer, Shutdown gives up at the context's end and
// closes what is left at once.
func TestTrackerShutdownTimeout(t *testing.T) {
	var tr conn.Tracker
	var handlers sync.WaitGroup
	url := trackedServer(t, &tr, &handlers)
	ctx := testCtx(t)
	var d handshake.Dialer
	res, _, err := d.Dial(ctx, url) // a peer that never reads
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	for tr.Len() < 1 {
		time.Sleep(time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := tr.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v with a 200ms context", d)
	}
	handlers.Wait() // the handler's read ended: the connection was closed
}

// The tracker forgets connections that ended, without a goroutine each.
func TestTrackerForgets(t *testing.T) {
	var tr conn.Tracker
	for range 200 {
		c, s := pipePair()
		if err := tr.Track(s); err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
		s.CloseNow()
	}
	if l := tr.Len(); l != 0 {
		t.Fatalf("Len = %d, want 0", l)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, s := pipePair()
	defer c.CloseNow()
	defer s.CloseNow()
	if err := tr.Track(s); !errors.Is(err, conn.ErrShuttingDown) {
		t.Fatalf("Track after Shutdown: %v", err)
	}
}
