package servers

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

func init() {
	register(&Lib{
		Name:        "coder",
		Deflate:     true,
		DeflateMode: "CompressionNoContextTakeover",
		Notes:       "Accept + Reader/Writer with io.Copy, as its echo example does",
		Serve:       serveCoder,
	})
}

func serveCoder(ln net.Listener, o Options) error {
	opts := &websocket.AcceptOptions{}
	if o.Deflate {
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(readLimit)
		ctx := context.Background()
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	}), o)
}
