package conn

import (
	"context"
	"net/http"
)

// Handler returns an http.Handler that accepts WebSocket connections with
// o and serves each in a goroutine of its own, returning from ServeHTTP
// at once. A handler that instead reads in a loop keeps net/http's state
// for the request (its buffered reader and writers and the parsed request,
// about 10 KB) alive as long as the connection; returning lets net/http
// free it, which is most of what an idle connection costs.
//
// Over HTTP/2 (RFC 8441) the WebSocket is the request's stream, which
// ends when ServeHTTP returns: there serve runs in ServeHTTP's goroutine,
// and ServeHTTP returns when it does.
//
// serve gets a context that carries r.Context()'s values but is not
// cancelled when ServeHTTP returns; the connection is closed (CloseNow)
// when serve returns, so serve should end with Close when it wants a
// closing handshake. A failed handshake has already been answered with an
// HTTP error and serve is not called.
//
// With o.Tracker set, the connections are tracked: the Tracker's
// Shutdown refuses new ones and closes those open with 1001, which serve
// sees as a *CloseError from its read.
//
// Nothing bounds ctx: a peer that stops reading blocks serve's writes,
// and the pongs its reads send, until the connection fails. Set
// Options.PingInterval (with PongTimeout) in o so that such a peer, or a
// dead one, fails the connection (1006, ErrPongTimeout) within
// PingInterval + PongTimeout, or give serve's calls contexts with
// deadlines.
func Handler(o *AcceptOptions, serve func(ctx context.Context, c *Conn)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, o)
		if err != nil {
			return
		}
		ctx := context.WithoutCancel(r.Context())
		if r.ProtoMajor >= 2 {
			defer c.CloseNow()
			serve(ctx, c)
			return
		}
		go func() {
			defer c.CloseNow()
			serve(ctx, c)
		}()
	})
}
