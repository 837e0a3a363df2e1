package conn

import (
	"context"
	"net/http"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// AcceptOptions configures Accept. The zero value accepts same-origin
// requests with no subprotocol, with the default session Options.
type AcceptOptions struct {
	Upgrader handshake.Upgrader
	// Extensions (for example deflate.New(nil)) and OnNegotiation are
	// those of raw.AcceptOptions: negotiated with the request, the
	// outcome reported. The Conn applies what was agreed to its messages.
	Extensions    []extension.Extension
	OnNegotiation func(*http.Request, *extension.Negotiation)
	// Tracker, when set, tracks the connection (see Tracker.Accept): once
	// its Shutdown has begun, Accept refuses with 503 Service Unavailable
	// and ErrShuttingDown. It is how a Handler's connections are closed
	// at shutdown.
	Tracker *Tracker
	Options
}

// Accept upgrades an HTTP request to a WebSocket connection (RFC 6455,
// Section 4.2), or accepts the extended CONNECT of a WebSocket over HTTP/2
// (RFC 8441; see the package documentation). On failure it has already
// written the HTTP error response; the handler should just return. On
// HTTP/2 the handler must not return while the Conn is in use.
func Accept(w http.ResponseWriter, r *http.Request, o *AcceptOptions) (*Conn, error) {
	var ao AcceptOptions
	if o != nil {
		ao = *o
	}
	if t := ao.Tracker; t != nil {
		ao.Tracker = nil
		return t.Accept(w, r, &ao)
	}
	opts := ao.Options.withDefaults()
	rc, err := raw.Accept(w, r, &raw.AcceptOptions{
		Upgrader: ao.Upgrader, Extensions: ao.Extensions, OnNegotiation: ao.OnNegotiation, Options: *opts.rawOptions(),
	})
	if err != nil {
		return nil, err
	}
	return newConn(rc, rc.Subprotocol(), &opts), nil
}

// DialOptions configures Dial. The zero value dials with the defaults.
type DialOptions struct {
	Dialer handshake.Dialer
	// Extensions are the extensions to offer, in order of preference, for
	// example deflate.New(nil). The server's answer is checked with
	// extension.Confirm. When Extensions is not empty it replaces
	// Dialer.Extensions and Dialer.CheckExtensions.
	Extensions []extension.Extension
	Options
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL (RFC 6455,
// Section 4.1). ctx bounds the opening handshake only. When the server
// answers the handshake with something else than a valid 101, the
// response is returned along with the error so that the caller can
// inspect it.
func Dial(ctx context.Context, url string, o *DialOptions) (*Conn, *http.Response, error) {
	var do DialOptions
	if o != nil {
		do = *o
	}
	opts := do.Options.withDefaults()
	rc, resp, err := raw.Dial(ctx, url, &raw.DialOptions{Dialer: do.Dialer, Extensions: do.Extensions, Options: *opts.rawOptions()})
	if err != nil {
		return nil, resp, err
	}
	return newConn(rc, rc.Subprotocol(), &opts), resp, nil
}

// NewFromResult starts the Default session on a connection whose opening
// handshake was done outside Accept and Dial: with handshake.Upgrader or
// handshake.Dialer directly (a server that answers some requests itself,
// a client that dials its own way), or by another HTTP stack that fills
// in a handshake.Result. res gives the connection, the bytes read past the
// handshake, the subprotocol and the server's Sec-WebSocket-Extensions
// value; role says which end this is; agreed is what extension.Negotiate
// (server) or extension.Confirm (client) returned for that value, nil if
// no extension is in use. The Conn owns res.Conn.
func NewFromResult(res *handshake.Result, role raw.Role, agreed []extension.Agreed, o *Options) *Conn {
	opts := o.withDefaults()
	rc := raw.NewFromResult(res, role, agreed, opts.rawOptions())
	return newConn(rc, res.Subprotocol, &opts)
}
