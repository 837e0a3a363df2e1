package handshake

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hybi-go/hybi/extension"
)

// Upgrader upgrades HTTP requests to WebSocket connections: the server
// side of the opening handshake, over HTTP/1.1 (RFC 6455, Section 4.2) and
// over HTTP/2 (RFC 8441). The zero value accepts same-origin requests, no
// subprotocol and no extension.
//
// An Upgrader may be used by many goroutines at once, provided its fields are
// not modified meanwhile.
type Upgrader struct {
	// Subprotocols lists the subprotocols the server supports, in order of
	// preference. The first of them that the client offered in
	// Sec-WebSocket-Protocol is selected (RFC 6455, Section 4.2.2); if none
	// was offered, no Sec-WebSocket-Protocol header is sent. Names are
	// compared case-sensitively.
	Subprotocols []string

	// CheckOrigin, if not nil, decides alone whether a request may proceed
	// given its Origin header (RFC 6455, Section 10.2); a false result is
	// answered with 403 Forbidden.
	//
	// If CheckOrigin is nil, a request is accepted when it has no Origin
	// header, when the host[:port] of its Origin equals r.Host ignoring case,
	// or when that host[:port] matches one of AllowedOrigins.
	CheckOrigin func(r *http.Request) bool

	// AllowedOrigins lists host[:port] patterns in the syntax of path.Match,
	// matched against the host[:port] of the Origin header ignoring case, for
	// example "example.com", "*.example.com" or "localhost:*". It is used
	// only when CheckOrigin is nil.
	AllowedOrigins []string

	// NegotiateExtensions, if not nil, is called with the raw values of the
	// client's Sec-WebSocket-Extensions header fields (RFC 6455, Section
	// 9.1), when there is at least one. A non-empty response is sent as the
	// server's Sec-WebSocket-Extensions header and reported in
	// Result.Extensions; an error fails the handshake with 400 Bad Request,
	// or with the StatusCode of a *Error it wraps, whose Reason is then all
	// the client is told.
	// If NegotiateExtensions is nil, no extension is accepted.
	NegotiateExtensions func(offers []string) (response string, err error)

	// Header holds extra header fields for the 101 response (the 200
	// response on HTTP/2). It may not
	// contain the fields the handshake sets itself (Upgrade, Connection and
	// the Sec-WebSocket-* fields).
	Header http.Header
}

// Result is the outcome of a successful opening handshake.
type Result struct {
	// Conn is the underlying network connection, with no deadline set.
	// The caller owns it and must close it. On HTTP/2 it is the stream
	// (RFC 8441): see the package documentation for what its deadlines
	// do, and Upgrader.Upgrade for the handler's part.
	Conn net.Conn

	// Buffered holds bytes the handshake read from Conn past the end of
	// the handshake: the start of the peer's first frames. They must be
	// consumed before anything read from Conn. Usually nil.
	Buffered []byte

	// Subprotocol is the negotiated subprotocol, or "" if none
	// (RFC 6455, Section 1.9).
	Subprotocol string

	// Extensions is the value of the server's Sec-WebSocket-Extensions
	// header field(s), or "" if no extension is in use (RFC 6455,
	// Section 9.1). ExtensionElements parses it.
	Extensions string

	// Request is the client's handshake request. On the server it is the
	// request passed to Upgrade; on the client it describes the request that
	// was sent.
	Request *http.Request

	// Response is the server's handshake response on the client, nil on the
	// server. Its Body is empty (on HTTP/2 the stream's data is Conn's).
	Response *http.Response
}

// ExtensionElements returns the extensions in use, parsed from
// Extensions: each one's name and parameters, in the order of the server's
// response, which is the order they apply to outgoing data. The handshake
// does not know the extensions themselves; extension.Describe pairs these
// with the Agreed values that extension.Negotiate or Confirm returned.
func (r *Result) ExtensionElements() ([]extension.Element, error) {
	return extension.Parse(r.Extensions)
}

// Upgrade performs the server side of the opening handshake (RFC 6455,
// Section 4.2) for the request r and, on success, hijacks the connection
// from w and writes the 101 Switching Protocols response itself.
//
// On failure Upgrade writes an HTTP error response to w (with
// "Connection: close") and returns an [*Error] describing it; the handler
// must not write to w afterwards. In particular: a method other than GET gets
// 405; a version other than 13 gets 426 with "Sec-WebSocket-Version: 13"
// (RFC 6455, Section 4.4); a refused origin gets 403; any other malformed
// handshake gets 400.
//
// After a successful Upgrade, w and r.Body must not be used.
//
// An extended CONNECT on HTTP/2 (RFC 8441, Section 4; r.Method CONNECT and
// r.Header[":protocol"] "websocket") gets the same checks, but for the
// fields HTTP/2 drops (Upgrade, Connection, Sec-WebSocket-Key), and a 200
// response with no Sec-WebSocket-Accept; error responses do not say
// "Connection: close", which would end the whole HTTP/2 connection. The
// WebSocket is then the request's stream: Result.Conn reads r.Body and
// writes to w, and the stream ends when the handler returns. So the
// handler must not return until it is done with Result.Conn. If it does,
// Result.Conn's reads and writes fail from then on; a write already under
// way as it returns races net/http's reuse of w, which no check can
// prevent, so this is a safety net, not a way to serve.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request) (*Result, error) {
	if r.ProtoMajor >= 2 && r.Method == http.MethodConnect {
		return u.upgradeStream(w, r)
	}
	// RFC 6455, Section 4.2.1, items 1 to 6.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return nil, fail(w, http.StatusMethodNotAllowed, "request method must be GET", ErrBadHandshake)
	}
	if !r.ProtoAtLeast(1, 1) {
		return nil, fail(w, http.StatusBadRequest, "request must be HTTP/1.1 or later", ErrBadHandshake)
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		return nil, fail(w, http.StatusBadRequest, `"websocket" token not found in Upgrade header`, ErrBadHandshake)
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return nil, fail(w, http.StatusBadRequest, `"upgrade" token not found in Connection header`, ErrBadHandshake)
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return nil, fail(w, http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13", ErrUnsupportedVersion)
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return nil, fail(w, http.StatusBadRequest, "request must have exactly one Sec-WebSocket-Key header", ErrBadHandshake)
	}
	key := strings.Trim(keys[0], " \t")
	if !validKey(key) {
		return nil, fail(w, http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64", ErrBadHandshake)
	}

	subprotocol, extensions, err := u.negotiate(w, r, fail)
	if err != nil {
		return nil, err
	}

	resp := u.response(key, subprotocol, extensions)

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fail(w, http.StatusInternalServerError, "cannot hijack the connection: "+err.Error(), err)
	}
	// The server may have set deadlines (ReadTimeout, WriteTimeout); the
	// connection is ours now.
	if err := nc.SetDeadline(time.Time{}); err != nil {
		nc.Close()
		return nil, &Error{Reason: "cannot clear deadline on hijacked connection: " + err.Error(), Err: err}
	}
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// Pipelined frames sent by the client right after its request.
		p, _ := brw.Reader.Peek(n)
		buffered = bytes.Clone(p)
	}
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, &Error{Reason: "cannot write the handshake response: " + err.Error(), Err: err}
	}
	return &Result{
		Conn:        nc,
		Buffered:    buffered,
		Subprotocol: subprotocol,
		Extensions:  extensions,
		Request:     r,
	}, nil
}

// The fixed parts of the 101 response.
const (
	switching       = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
	protocolField   = "Sec-WebSocket-Protocol: "
	extensionsField = "Sec-WebSocket-Extensions: "
	acceptLen       = 28 // base64 of a SHA-1 sum
)

// response returns the 101 response to a request with key, in one
// allocation of the size it needs: every handshake makes one, and a
// bytes.Buffer grown through it left three objects of garbage, one in
// the size class that each idle connection's conn.Conn is in.
func (u *Upgrader) response(key, subprotocol, extensions string) []byte {
	n := len(switching) + acceptLen + len("\r\n\r\n")
	if subprotocol != "" {
		n += len(protocolField) + len(subprotocol) + len("\r\n")
	}
	if extensions != "" {
		n += len(extensionsField) + len(extensions) + len("\r\n")
	}
	b := make([]byte, 0, n)
	b = append(b, switching...)
	b = appendAccept(b, key)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(append(append(b, protocolField...), subprotocol...), "\r\n"...)
	}
	if extensions != "" {
		b = append(append(append(b, extensionsField...), extensions...), "\r\n"...)
	}
	if len(u.Header) > 0 {
		buf := bytes.NewBuffer(b)
		u.Header.Write(buf) // checked by negotiate
		b = buf.Bytes()
	}
	return append(b, "\r\n"...)
}

// validKey reports whether key, trimmed, is a Sec-WebSocket-Key: 16
// bytes in base64 (RFC 6455, Section 4.2.1, item 4).
func validKey(key string) bool {
	if len(key) == 24 {
		// The length every valid key has, decoded without allocating.
		var b [18]byte
		n, err := base64.StdEncoding.Decode(b[:], []byte(key))
		return err == nil && n == 16
	}
	// base64 skips CR and LF, which a header value cannot hold: this is
	// for the letter of the check, not for any real client.
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// negotiate applies the parts of the handshake that HTTP/1.1 and HTTP/2
// share: the origin policy, the caller's header fields, the subprotocol
// and the extensions. It answers a failure with fail.
func (u *Upgrader) negotiate(w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, int, string, error) *Error) (subprotocol, extensions string, err error) {
	// RFC 6455, Section 4.2.2, item 1 and Section 10.2.
	if !u.checkOrigin(r) {
		return "", "", fail(w, http.StatusForbidden, u.originRefusal(r), ErrOriginNotAllowed)
	}

	if err := checkHeader(u.Header); err != nil {
		return "", "", fail(w, http.StatusInternalServerError, "invalid Upgrader.Header", err)
	}

	// RFC 6455, Section 4.2.2, item 5, /subprotocol/ and /extensions/.
	subprotocol = u.selectSubprotocol(r)
	if offers := r.Header.Values("Sec-WebSocket-Extensions"); len(offers) > 0 && u.NegotiateExtensions != nil {
		resp, err := u.NegotiateExtensions(offers)
		if err != nil {
			// A *Error with a status says whose fault it is (a 500 for a
			// server extension's bug); its Reason alone goes to the client.
			var he *Error
			if errors.As(err, &he) && he.StatusCode != 0 {
				return "", "", fail(w, he.StatusCode, he.Reason, err)
			}
			return "", "", fail(w, http.StatusBadRequest, "extension negotiation failed: "+err.Error(), err)
		}
		if !validHeaderValue(resp) {
			return "", "", fail(w, http.StatusInternalServerError, "invalid Sec-WebSocket-Extensions response", ErrBadHandshake)
		}
		extensions = strings.Trim(resp, " \t")
	}

	return subprotocol, extensions, nil
}

// fail writes an HTTP error response with status code and returns it as an
// *Error wrapping cause.
func fail(w http.ResponseWriter, code int, reason string, cause error) *Error {
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(code)+": "+reason, code)
	return &Error{StatusCode: code, Reason: reason, Err: cause}
}

// originRefusal says why checkOrigin refused r, and which setting decides:
// the reason goes in the 403 body, so that the client's error shows it.
func (u *Upgrader) originRefusal(r *http.Request) string {
	origin := fmt.Sprintf("%q", strings.Join(r.Header.Values("Origin"), ", "))
	if u.CheckOrigin != nil {
		return "origin " + origin + " refused by Upgrader.CheckOrigin"
	}
	return "origin " + origin + " not allowed: it is not the server's host " + fmt.Sprintf("%q", r.Host) +
		"; list it in Upgrader.AllowedOrigins, or decide with Upgrader.CheckOrigin"
}

// checkOrigin applies the origin policy (RFC 6455, Section 10.2).
func (u *Upgrader) checkOrigin(r *http.Request) bool {
	if u.CheckOrigin != nil {
		return u.CheckOrigin(r)
	}
	origins := r.Header.Values("Origin")
	if len(origins) == 0 {
		return true
	}
	if len(origins) > 1 {
		return false
	}
	o, err := url.Parse(origins[0])
	if err != nil || o.Host == "" {
		return false // including the opaque origin "null"
	}
	host := strings.ToLower(o.Host)
	if host == strings.ToLower(r.Host) {
		return true
	}
	for _, pattern := range u.AllowedOrigins {
		if ok, _ := path.Match(strings.ToLower(pattern), host); ok {
			return true
		}
	}
	return false
}

// selectSubprotocol returns the first of u.Subprotocols that the client
// offered, or "".
func (u *Upgrader) selectSubprotocol(r *http.Request) string {
	if len(u.Subprotocols) == 0 {
		return ""
	}
	offered := headerTokens(r.Header, "Sec-WebSocket-Protocol")
	for _, s := range u.Subprotocols {
		for _, o := range offered {
			if s == o {
				return s
			}
		}
	}
	return ""
}
