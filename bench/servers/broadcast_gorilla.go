package servers

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

func init() {
	registerBroadcast(&BroadcastLib{
		Name:    "gorilla",
		Deflate: true,
		Notes:   "as its examples/chat: a client per conn with a buffered send channel (256) and a writePump goroutine (10 s write deadline), the broadcast a loop that drops a client whose channel is full; messages are PreparedMessages (framed and compressed once)",
		Serve:   serveGorillaBroadcast,
	})
}

type gorillaClient struct {
	c    *websocket.Conn
	send chan *websocket.PreparedMessage
}

func serveGorillaBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	var mu sync.Mutex
	clients := map[*gorillaClient]bool{}
	up := &websocket.Upgrader{EnableCompression: o.Deflate}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		cl := &gorillaClient{c: c, send: make(chan *websocket.PreparedMessage, 256)}
		mu.Lock()
		clients[cl] = true
		mu.Unlock()
		go func() { // writePump
			defer c.Close()
			for pm := range cl.send {
				c.SetWriteDeadline(time.Now().Add(broadcastWriteTimeout))
				if err := c.WritePreparedMessage(pm); err != nil {
					return
				}
			}
			c.WriteMessage(websocket.CloseMessage, []byte{})
		}()
		// readPump
		for {
			if _, _, err := c.NextReader(); err != nil {
				break
			}
		}
		mu.Lock()
		if clients[cl] {
			delete(clients, cl)
			close(cl.send)
		}
		mu.Unlock()
	})
	broadcast := func(p []byte) {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, p)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for cl := range clients {
			select {
			case cl.send <- pm:
			default:
				close(cl.send)
				delete(clients, cl)
			}
		}
	}
	return broadcast, func() error { return serveHTTP(ln, handler, o) }
}
