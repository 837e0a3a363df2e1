package servers

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func init() {
	registerBroadcast(&BroadcastLib{
		Name:    "coder",
		Deflate: true,
		Notes:   "as its internal/examples/chat: a subscriber per conn with a buffered channel (16) drained by the handler's goroutine, Write under a 5 s timeout (each Write compresses on its own), CloseRead; a subscriber whose channel is full is closed with 1008",
		Serve:   serveCoderBroadcast,
	})
}

type coderSubscriber struct {
	msgs      chan []byte
	closeSlow func()
}

func serveCoderBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	var mu sync.Mutex
	subs := map[*coderSubscriber]struct{}{}
	opts := &websocket.AcceptOptions{}
	if o.Deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		s := &coderSubscriber{
			msgs:      make(chan []byte, 16),
			closeSlow: func() { c.Close(websocket.StatusPolicyViolation, "connection too slow to keep up with messages") },
		}
		mu.Lock()
		subs[s] = struct{}{}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(subs, s)
			mu.Unlock()
		}()
		ctx := c.CloseRead(context.Background())
		for {
			select {
			case msg := <-s.msgs:
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := c.Write(wctx, websocket.MessageText, msg)
				cancel()
				if err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	broadcast := func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		for s := range subs {
			select {
			case s.msgs <- p:
			default:
				go s.closeSlow()
			}
		}
	}
	return broadcast, func() error { return serveHTTP(ln, handler, o) }
}
