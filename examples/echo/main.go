// Command echo is a WebSocket echo server with a small web page, or with
// -dial an echo client.
//
//	go run ./examples/echo                      # serve http://127.0.0.1:8080/
//	go run ./examples/echo -any-origin          # also accept cross-origin pages
//	go run ./examples/echo -dial ws://HOST:PORT/PATH
//	go run ./examples/echo -no-deflate          # do not negotiate permessage-deflate
//
// The server echoes every message on /ws with its type. The client sends
// back every message it receives, in order, and when the server closes the
// connection prints "close CODE REASON" and exits 0. Both negotiate
// permessage-deflate (RFC 7692) unless -no-deflate is given, and compress
// what they send when it was agreed.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

//go:embed index.html
var indexHTML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs the server or the
// client until ctx is done or the work ends, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "serve on this `host:port`")
	anyOrigin := fs.Bool("any-origin", false, "accept WebSocket handshakes from pages of any origin")
	noDeflate := fs.Bool("no-deflate", false, "do not negotiate permessage-deflate")
	dial := fs.String("dial", "", "instead of serving, connect to this ws:// `URL` and echo what it sends")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "echo: unexpected arguments %q\n", fs.Args())
		return 2
	}
	logger := log.New(stderr, "echo: ", log.LstdFlags)

	if *dial != "" {
		code, reason, err := echoClient(ctx, *dial, !*noDeflate)
		if err != nil {
			logger.Print(err)
			return 1
		}
		fmt.Fprintf(stdout, "close %d %s\n", code, reason)
		return 0
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("serving http://%s/", ln.Addr())
	if err := serve(ctx, ln, newHandler(*anyOrigin, !*noDeflate, logger)); err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}

// newServer returns the http.Server for h. The limits guard the HTTP part
// that precedes every WebSocket handshake: a client that trickles or
// bloats its request headers is cut off.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}

// serve serves h on ln until ctx is done, then shuts down: open WebSocket
// connections are closed with 1001 (going away) by their handlers.
func serve(ctx context.Context, ln net.Listener, h *handler) error {
	srv := newServer(h)
	// Requests, and so the WebSocket handlers, see ctx end at shutdown.
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	<-errc // http.ErrServerClosed
	// Shutdown does not track hijacked connections: wait for their handlers.
	h.wait()
	return err
}

// handler serves the page on / and the echo WebSocket on /ws.
type handler struct {
	mux    *http.ServeMux
	accept conn.AcceptOptions
	logger *log.Logger
	conns  sync.WaitGroup // running WebSocket handlers
}

// newHandler returns the echo server's handler. With anyOrigin, pages from
// any origin may connect; otherwise the default policy of
// handshake.Upgrader applies, which accepts the page's own origin. With
// compress, the server accepts permessage-deflate offers.
func newHandler(anyOrigin, compress bool, logger *log.Logger) *handler {
	h := &handler{mux: http.NewServeMux(), logger: logger}
	h.accept.Extensions = extensions(compress)
	if anyOrigin {
		h.accept.Upgrader.CheckOrigin = func(*http.Request) bool { return true }
	}
	h.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	h.mux.HandleFunc("/ws", h.echo)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// wait returns when every WebSocket handler has returned.
func (h *handler) wait() { h.conns.Wait() }

// echo accepts a WebSocket connection and echoes every message with its
// type until the client closes or the server shuts down.
func (h *handler) echo(w http.ResponseWriter, r *http.Request) {
	h.conns.Add(1)
	defer h.conns.Done()
	c, err := conn.Accept(w, r, &h.accept)
	if err != nil {
		// Accept has already written the HTTP error response.
		h.logger.Printf("%s: %v", r.RemoteAddr, err)
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	var p []byte // reused: AppendRead allocates only to grow it
	for {
		var typ conn.MessageType
		typ, p, err = c.AppendRead(ctx, p[:0])
		if err == nil {
			err = c.Write(ctx, typ, p)
		}
		if cap(p) > 64<<10 {
			p = nil // do not keep a large buffer on an idle connection
		}
		switch {
		case err == nil:
			continue
		case conn.CloseStatus(err) != 0 && conn.CloseStatus(err) != conn.StatusAbnormalClosure:
			// The client closed; conn has answered its close frame.
		case ctx.Err() != nil:
			c.Close(conn.StatusGoingAway, "server shutting down")
		default:
			h.logger.Printf("%s: %v", r.RemoteAddr, err)
		}
		return
	}
}

// extensions returns what to offer or accept: permessage-deflate with its
// defaults, or nothing.
func extensions(compress bool) []extension.Extension {
	if !compress {
		return nil
	}
	return []extension.Extension{deflate.New(nil)}
}

// echoClient connects to url and sends back every message it receives, with
// the same type and payload, until the server closes the connection. It
// returns the server's close code and reason; any other ending is an error.
// With compress it offers permessage-deflate.
func echoClient(ctx context.Context, url string, compress bool) (conn.StatusCode, string, error) {
	c, _, err := conn.Dial(ctx, url, &conn.DialOptions{Extensions: extensions(compress)})
	if err != nil {
		return 0, "", err
	}
	defer c.CloseNow()
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			// conn reports a connection that dropped without a close
			// frame as a CloseError too, with 1006, which is never on
			// the wire (RFC 6455, Section 7.4.1): that is no close.
			var ce *conn.CloseError
			if errors.As(err, &ce) && ce.Code != conn.StatusAbnormalClosure {
				return ce.Code, ce.Reason, nil
			}
			return 0, "", fmt.Errorf("read: %w", err)
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return 0, "", fmt.Errorf("write: %w", err)
		}
	}
}
