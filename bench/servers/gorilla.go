package servers

import (
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

func init() {
	register(&Lib{
		Name:        "gorilla",
		Deflate:     true,
		DeflateMode: "EnableCompression (no context takeover, level 1)",
		Notes:       "Upgrader + ReadMessage/WriteMessage, as its examples/echo does",
		Serve:       serveGorilla,
	})
}

func serveGorilla(ln net.Listener, o Options) error {
	up := &websocket.Upgrader{EnableCompression: o.Deflate}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(readLimit)
		for {
			mt, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, p); err != nil {
				return
			}
		}
	}), o)
}
