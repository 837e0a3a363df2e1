package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// client is an accepted WebSocket connection waiting for its session.
type client struct {
	addr string
	run  func(ctx context.Context) error
	stop func() // ends the connection unseen, when hybi exits first
}

// listen serves WebSockets on o.target, one client at a time, as wscat -l
// does: each runs the session dial would run, with the same standard input,
// until its closing handshake ends; a client that comes while another is
// connected is refused with 503. hybi exits at the end of standard input
// (closing the client's connection with 1000 first, if there is one) or
// when ctx is done (with 1001).
func listen(ctx context.Context, o *options, ls *lineSource, out *printer, stderr io.Writer) error {
	ln, err := net.Listen("tcp", o.target)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "listening on ws://%s\n", ln.Addr())

	up := handshake.Upgrader{Subprotocols: o.protos, AllowedOrigins: o.origins}
	var exts []extension.Extension
	if o.deflate && !o.raw {
		exts = []extension.Extension{deflate.New(nil)}
	}
	var busy atomic.Bool
	clients := make(chan client)
	done := make(chan struct{})
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !busy.CompareAndSwap(false, true) {
				http.Error(w, "hybi listen serves one client at a time; try again when it has gone", http.StatusServiceUnavailable)
				return
			}
			cl, err := accept(w, r, o, up, exts, out, ls, stderr)
			if err != nil {
				// The upgrade wrote its own HTTP error.
				fmt.Fprintf(stderr, "hybi: refused %s: %v\n", r.RemoteAddr, err)
				busy.Store(false)
				return
			}
			select {
			case clients <- cl:
			case <-done:
				cl.stop()
			}
		}),
	}
	go srv.Serve(ln)
	defer func() {
		close(done)
		srv.Close()
	}()

	for {
		select {
		case cl := <-clients:
			fmt.Fprintf(stderr, "client connected from %s\n", cl.addr)
			err := cl.run(ctx)
			busy.Store(false)
			if err != nil {
				fmt.Fprintf(stderr, "hybi: client %s: %v\n", cl.addr, err)
			} else {
				fmt.Fprintf(stderr, "client %s gone\n", cl.addr)
			}
			select {
			case <-ls.eof:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
		case <-ls.eof:
			if ls.err != nil {
				fmt.Fprintln(stderr, "hybi: reading input:", ls.err)
			}
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// accept upgrades r into the session the flags ask for.
func accept(w http.ResponseWriter, r *http.Request, o *options, up handshake.Upgrader, exts []extension.Extension, out *printer, ls *lineSource, stderr io.Writer) (client, error) {
	cl := client{addr: r.RemoteAddr}
	if o.raw {
		res, err := up.Upgrade(w, r)
		if err != nil {
			return cl, err
		}
		rc := raw.New(res.Conn, res.Buffered, raw.Server, nil)
		cl.run = func(ctx context.Context) error {
			defer rc.Close()
			return sessionRaw(ctx, rc, raw.Server, o.noPong, ls, out, stderr)
		}
		cl.stop = func() { rc.Close() }
		return cl, nil
	}
	pongs := newPongLog(out)
	c, err := conn.Accept(w, r, &conn.AcceptOptions{Upgrader: up, Extensions: exts, Options: conn.Options{OnPong: pongs.received}})
	if err != nil {
		return cl, err
	}
	cl.run = func(ctx context.Context) error {
		defer c.CloseNow()
		return sessionDefault(ctx, c, pongs, ls, out, stderr)
	}
	cl.stop = func() { c.CloseNow() }
	return cl, nil
}
