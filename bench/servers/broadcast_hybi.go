package servers

import (
	"context"
	"io"
	"net"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

func init() {
	registerBroadcast(&BroadcastLib{
		Name:    "hybi",
		Deflate: true,
		Notes:   "conn.Handler + hub.Add; hub.Broadcast frames (and compresses, without context takeover as the peers are configured) once and puts it on every member's conn.SendQueue, which the hub's pool of 128 writers drains; a member over its queue (64 messages) is closed with 1008",
		Serve:   serveHybiBroadcast,
	})
}

func serveHybiBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	h := hub.New(nil)
	opts := &conn.AcceptOptions{}
	if o.Deflate {
		opts.Extensions = []extension.Extension{deflate.New(noTakeover)}
	}
	handler := conn.Handler(opts, func(ctx context.Context, c *conn.Conn) {
		m := h.Add(c)
		defer h.Remove(m)
		for {
			_, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			io.Copy(io.Discard, r)
		}
	})
	return func(p []byte) { h.Broadcast(conn.MessageText, p) },
		func() error { return serveHTTP(ln, handler, o) }
}
