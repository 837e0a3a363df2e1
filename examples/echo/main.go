// Command echo is a WebSocket echo server with a small web page, or with
// -dial an echo client.
//
//	go run ./examples/echo                      # serve http://127.0.0.1:8080/
//	go run ./examples/echo -any-origin          # also accept cross-origin pages
//	go run ./examples/echo -dial ws://HOST:PORT/PATH
//	go run ./examples/echo -no-deflate          # do not negotiate permessage-deflate
//	GODEBUG=http2xconnect=1 go run ./examples/echo -tls -v
//	go run ./examples/echo -dial wss://HOST:PORT/PATH -insecure -h2
//
// With -tls the server serves HTTPS, HTTP/2 and HTTP/1.1, with a
// self-signed certificate made at start; WebSockets over HTTP/2 (RFC 8441)
// need GODEBUG=http2xconnect=1 in the environment on Go 1.24 to 1.27, and
// browsers use HTTP/1.1 without it. -v logs a line for each WebSocket
// accepted, "accept REMOTE PROTO SUBPROTOCOL EXTENSIONS", and for each the
// client closes, "close REMOTE CODE REASON", the strings quoted. The client's -insecure skips the verification of the server's
// certificate, and -h2 dials over HTTP/2 only.
//
// The server echoes every message on /ws with its type. The client sends
// back every message it receives, in order, and when the server closes the
// connection prints "close CODE REASON" and exits 0. Both negotiate
// permessage-deflate (RFC 7692) unless -no-deflate is given, and compress
// what they send when it was agreed.
package main

import (
	"context"
	"crypto/tls"
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
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/selfsigned"
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
	dial := fs.String("dial", "", "instead of serving, connect to this ws:// or wss:// `URL` and echo what it sends")
	useTLS := fs.Bool("tls", false, "serve HTTPS (HTTP/2 and HTTP/1.1) with a self-signed certificate")
	verbose := fs.Bool("v", false, "log each WebSocket accepted, and each the client closes")
	insecure := fs.Bool("insecure", false, "with -dial, do not verify the server's certificate")
	h2 := fs.Bool("h2", false, "with -dial, open the WebSocket over HTTP/2 only (RFC 8441)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "echo: unexpected arguments %q\n", fs.Args())
		return 2
	}
	logger := log.New(stderr, "echo: ", log.LstdFlags)

	if *dial != "" {
		var d handshake.Dialer
		if *insecure {
			d.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		}
		if *h2 {
			d.HTTP2 = handshake.HTTP2Always
		}
		code, reason, err := echoClient(ctx, *dial, !*noDeflate, d)
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
	var cfg *tls.Config
	scheme := "http"
	if *useTLS {
		if cfg, err = selfSigned(); err != nil {
			logger.Print(err)
			ln.Close()
			return 1
		}
		scheme = "https"
	}
	logger.Printf("serving %s://%s/", scheme, ln.Addr())
	h := newHandler(*anyOrigin, !*noDeflate, logger)
	h.verbose = *verbose
	if err := serve(ctx, ln, h, cfg); err != nil {
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
// connections are closed with 1001 (going away) by their handlers. With
// cfg, it serves HTTPS: HTTP/2 and HTTP/1.1.
func serve(ctx context.Context, ln net.Listener, h *handler, cfg *tls.Config) error {
	srv := newServer(h)
	// The WebSocket handlers see ctx end at shutdown. Not through
	// srv.BaseContext: on HTTP/2 the end of r.Context() ends the
	// request's stream, and the WebSocket on it, before it can be closed.
	h.ctx = ctx
	errc := make(chan error, 1)
	if cfg != nil {
		srv.TLSConfig = cfg
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
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
	mux     *http.ServeMux
	accept  conn.AcceptOptions
	logger  *log.Logger
	verbose bool            // log each WebSocket accepted, and each the client closes
	ctx     context.Context // ends at shutdown: the WebSockets close with 1001
	conns   sync.WaitGroup  // running WebSocket handlers
}

// newHandler returns the echo server's handler. With anyOrigin, pages from
// any origin may connect; otherwise the default policy of
// handshake.Upgrader applies, which accepts the page's own origin. With
// compress, the server accepts permessage-deflate offers.
func newHandler(anyOrigin, compress bool, logger *log.Logger) *handler {
	h := &handler{mux: http.NewServeMux(), logger: logger, ctx: context.Background()}
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
	if h.verbose {
		h.logger.Printf("accept %s %s %q %q", r.RemoteAddr, r.Proto, c.Subprotocol(), c.Extensions())
	}
	ctx := h.ctx // not r.Context(), see serve
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
		var ce *conn.CloseError
		switch {
		case err == nil:
			continue
		case errors.As(err, &ce) && ce.Code != conn.StatusAbnormalClosure:
			// The client closed; conn has answered its close frame.
			if h.verbose {
				h.logger.Printf("close %s %d %q", r.RemoteAddr, ce.Code, ce.Reason)
			}
		case conn.CloseStatus(err) != 0 && conn.CloseStatus(err) != conn.StatusAbnormalClosure:
			// conn failed the connection with this code, as the
			// protocol asks.
		case ctx.Err() != nil:
			if err := c.Close(conn.StatusGoingAway, "server shutting down"); err != nil {
				h.logger.Printf("%s: %v", r.RemoteAddr, err)
			}
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
// With compress it offers permessage-deflate. d dials.
func echoClient(ctx context.Context, url string, compress bool, d handshake.Dialer) (conn.StatusCode, string, error) {
	c, _, err := conn.Dial(ctx, url, &conn.DialOptions{Dialer: d, Extensions: extensions(compress)})
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

// selfSigned returns a TLS configuration with a new self-signed
// certificate for localhost, 127.0.0.1 and ::1, valid for a day.
func selfSigned() (*tls.Config, error) {
	c, err := selfsigned.New("hybi echo")
	if err != nil {
		return nil, err
	}
	return c.ServerConfig(), nil
}
