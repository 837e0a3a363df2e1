package conn

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// ErrShuttingDown is returned by Tracker.Accept once Shutdown has begun.
var ErrShuttingDown = errors.New("websocket: server shutting down")

// Tracker keeps the connections a server accepted, so that they can all be
// closed when the server stops. http.Server.Shutdown cannot do it: an
// HTTP/1.1 WebSocket is hijacked from net/http, which forgets it, and one
// on an HTTP/2 stream is a request Shutdown waits for without ending it.
// So the Tracker goes first:
//
//	var tracker conn.Tracker
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		c, err := tracker.Accept(w, r, nil)
//		...
//	})
//	...
//	tracker.Shutdown(ctx) // refuses new WebSockets, closes every one with 1001 and waits
//	srv.Shutdown(ctx)     // stops accepting, waits for plain HTTP requests
//
// A Handler's connections are tracked by setting AcceptOptions.Tracker:
//
//	http.Handle("/ws", conn.Handler(&conn.AcceptOptions{Tracker: &tracker}, serve))
//
// The zero value is ready to use. A Tracker forgets a connection once it
// has ended (a close handshake, CloseNow, or a failure); it holds no
// goroutine per connection.
type Tracker struct {
	mu       sync.Mutex
	conns    map[*Conn]struct{}
	sweepAt  int // sweep ended connections when len(conns) reaches this
	shutdown bool
}

// Accept is the package's Accept for a tracked connection. After Shutdown
// has begun it refuses the handshake with 503 Service Unavailable and
// returns ErrShuttingDown. o.Tracker is ignored: the connection is
// tracked by t.
func (t *Tracker) Accept(w http.ResponseWriter, r *http.Request, o *AcceptOptions) (*Conn, error) {
	t.mu.Lock()
	down := t.shutdown
	t.mu.Unlock()
	if down {
		w.Header().Set("Connection", "close")
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, ErrShuttingDown
	}
	if o != nil && o.Tracker != nil {
		ao := *o
		ao.Tracker = nil
		o = &ao
	}
	c, err := Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	if err := t.Track(c); err != nil {
		c.Close(StatusGoingAway, "server shutting down")
		return nil, err
	}
	return c, nil
}

// Track adds c, a connection made some other way than with Accept (with
// New on a handshake of one's own, say). It returns ErrShuttingDown, and
// leaves c alone, once Shutdown has begun.
func (t *Tracker) Track(c *Conn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutdown {
		return ErrShuttingDown
	}
	if t.conns == nil {
		t.conns = make(map[*Conn]struct{})
	}
	if len(t.conns) >= t.sweepAt {
		// Forget the connections that ended. Sweeping when the map has
		// doubled since the last sweep keeps Track O(1) amortized.
		for c := range t.conns {
			if c.ended() {
				delete(t.conns, c)
			}
		}
		t.sweepAt = max(2*len(t.conns), 64)
	}
	t.conns[c] = struct{}{}
	return nil
}

// Len returns the number of tracked connections that have not ended.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for c := range t.conns {
		if !c.ended() {
			n++
		}
	}
	return n
}

// Shutdown refuses new connections, starts the closing handshake with
// StatusGoingAway (1001) and reason "server shutting down" on every
// tracked connection, and waits for the handshakes to end. Each is bounded
// by its connection's CloseTimeout; when ctx is done first, the
// connections still closing are closed at once (CloseNow) and Shutdown
// returns ctx.Err(). Otherwise it returns nil, also for a peer that did not
// complete its handshake in time.
//
// The handlers reading those connections see the peer's answer as a
// *CloseError with code 1001 and should return.
func (t *Tracker) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.shutdown = true
	conns := make([]*Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.conns = nil
	t.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range conns {
		if c.ended() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close(StatusGoingAway, "server shutting down")
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.CloseNow()
		}
		<-done // CloseNow ends each Close promptly
		return ctx.Err()
	}
}

// ended reports whether the connection is over for reading: the peer's
// close frame arrived, or it failed or was closed.
func (c *Conn) ended() bool {
	select {
	case <-c.peerClose.Done():
		return true
	default:
		return false
	}
}
