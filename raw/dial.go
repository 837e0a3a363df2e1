package raw

import (
	"context"
	"errors"
	"net/http"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
)

// AcceptOptions configures Accept. The zero value accepts same-origin
// requests with no subprotocol and no extension, with the default
// Options.
type AcceptOptions struct {
	Upgrader handshake.Upgrader
	// Extensions are the extensions the server supports. They are
	// negotiated with extension.NegotiateRequest, given the request (see
	// extension.RequestAccepter), in place of Upgrader.NegotiateExtensions:
	// the client's offers are considered in its order of preference. The Raw session does not apply them:
	// it allows their reserved bits on received frames, and AgreedExtensions
	// gives the caller their Agreed values to encode and decode with.
	Extensions []extension.Extension
	// OnNegotiation, if not nil, is given the outcome of the negotiation
	// of Extensions when the client offered any: what was agreed, and
	// what the client offered that was declined, and why (not supported,
	// declined by the extension, or its reserved bit already taken).
	OnNegotiation func(*http.Request, *extension.Negotiation)
	Options
}

// Accept upgrades an HTTP request to a WebSocket connection (RFC 6455,
// Section 4.2, or RFC 8441 on HTTP/2) and starts a Raw session on it: the
// server's side of handshake.Upgrader.Upgrade then NewFromResult. On
// failure it has already written the HTTP error response; the handler
// should just return. On HTTP/2 the handler must not return while the
// Conn is in use.
func Accept(w http.ResponseWriter, r *http.Request, o *AcceptOptions) (*Conn, error) {
	var ao AcceptOptions
	if o != nil {
		ao = *o
	}
	// The negotiation's state is its own, made only when there are
	// extensions: a closure over ao and the agreed values would move
	// both to the heap for every handshake.
	var neg *negotiation
	if len(ao.Extensions) > 0 {
		neg = &negotiation{r: r, exts: ao.Extensions, onNegotiation: ao.OnNegotiation}
		ao.Upgrader.NegotiateExtensions = neg.negotiate
	}
	res, err := ao.Upgrader.Upgrade(w, r)
	if err != nil {
		return nil, err
	}
	var agreed []extension.Agreed
	if neg != nil {
		agreed = neg.agreed
	}
	return NewFromResult(res, Server, agreed, &ao.Options), nil
}

// negotiation negotiates AcceptOptions.Extensions for Accept, as
// Upgrader.NegotiateExtensions, and keeps what was agreed.
type negotiation struct {
	r             *http.Request
	exts          []extension.Extension
	onNegotiation func(*http.Request, *extension.Negotiation)
	agreed        []extension.Agreed
}

func (g *negotiation) negotiate(offers []string) (string, error) {
	n, err := extension.NegotiateRequest(g.r, g.exts, offers)
	if errors.Is(err, extension.ErrWrongName) {
		// The server's own extension is at fault, not the request.
		return "", &handshake.Error{StatusCode: http.StatusInternalServerError, Reason: "a server extension answered the offer wrongly", Err: err}
	}
	if err != nil {
		return "", err
	}
	if g.onNegotiation != nil {
		g.onNegotiation(g.r, n)
	}
	g.agreed = n.AgreedValues()
	return n.Response, nil
}

// DialOptions configures Dial. The zero value dials with the defaults.
type DialOptions struct {
	Dialer handshake.Dialer
	// Extensions are the extensions to offer, in order of preference; the
	// server's answer is checked with extension.Confirm, in place of
	// Dialer.Extensions and Dialer.CheckExtensions. As with
	// AcceptOptions.Extensions, the Raw session does not apply them.
	Extensions []extension.Extension
	Options
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL (RFC 6455,
// Section 4.1) and starts a Raw session on it: handshake.Dialer.Dial then
// NewFromResult. ctx bounds the opening handshake only. When the server
// answers with something else than a valid 101, the response is returned
// along with the error.
func Dial(ctx context.Context, url string, o *DialOptions) (*Conn, *http.Response, error) {
	var do DialOptions
	if o != nil {
		do = *o
	}
	var agreed []extension.Agreed
	if exts := do.Extensions; len(exts) > 0 {
		do.Dialer.Extensions = extension.Offers(exts)
		do.Dialer.CheckExtensions = func(resp string) error {
			a, err := extension.Confirm(exts, resp)
			agreed = a
			return err
		}
	}
	res, resp, err := do.Dialer.Dial(ctx, url)
	if err != nil {
		return nil, resp, err
	}
	return NewFromResult(res, Client, agreed, &do.Options), resp, nil
}

// agreedExts is what the opening handshake agreed.
type agreedExts struct {
	subprotocol string
	header      string // the server's Sec-WebSocket-Extensions value
	agreed      []extension.Agreed
}

// NewFromResult starts a Raw session on a connection whose opening
// handshake is done, as New does with res.Conn and res.Buffered, and
// records the subprotocol and the extensions agreed: res.Extensions is the server's
// Sec-WebSocket-Extensions value, agreed what extension.Negotiate (server)
// or extension.Confirm (client) returned for it. Their reserved bits are
// added to o.AllowedRSV. The Conn owns res.Conn.
func NewFromResult(res *handshake.Result, role Role, agreed []extension.Agreed, o *Options) *Conn {
	var opts Options
	if o != nil {
		opts = *o
	}
	for _, a := range agreed {
		opts.AllowedRSV |= a.RSV()
	}
	c := New(res.Conn, res.Buffered, role, &opts)
	if res.Subprotocol != "" || res.Extensions != "" || len(agreed) > 0 {
		c.ext = &agreedExts{subprotocol: res.Subprotocol, header: res.Extensions, agreed: agreed}
	}
	return c
}

// Subprotocol returns the subprotocol agreed in the opening handshake
// given to NewFromResult (RFC 6455, Section 1.9), or "".
func (c *Conn) Subprotocol() string {
	if c.ext == nil {
		return ""
	}
	return c.ext.subprotocol
}

// Extensions returns the server's Sec-WebSocket-Extensions value given to
// NewFromResult (RFC 6455, Section 9.1), or "" when no extension is in use.
func (c *Conn) Extensions() string {
	if c.ext == nil {
		return ""
	}
	return c.ext.header
}

// AgreedExtensions returns the extensions agreed in the opening handshake,
// in the order of the server's response: each one's name and parameters
// as the server answered, and its Agreed value (nil for one NewFromResult
// was given no value for). It is nil when none is in use. The Raw session
// does not encode or decode for them: the caller does, with the encoders
// and decoders of the Agreed values, and decides which frames may carry
// their reserved bits. Each call returns a new slice.
func (c *Conn) AgreedExtensions() []extension.Negotiated {
	if c.ext == nil {
		return nil
	}
	n, err := extension.Describe(c.ext.header, c.ext.agreed)
	if err != nil {
		// A header the handshake accepted parses; one given to
		// NewFromResult by hand may not: report the values alone.
		n = make([]extension.Negotiated, len(c.ext.agreed))
		for i, a := range c.ext.agreed {
			n[i].Agreed = a
		}
	}
	return n
}

// AllowedRSV returns the reserved bits a received frame may carry: those of
// Options.AllowedRSV and of the extensions agreed.
func (c *Conn) AllowedRSV() frame.RSV { return c.rsv }
