package handshake

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// acceptGUID is the globally unique identifier of RFC 6455, Section 1.3,
// appended to the client's key to compute Sec-WebSocket-Accept.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ComputeAccept returns the value of the Sec-WebSocket-Accept header for the
// client's Sec-WebSocket-Key: the base64-encoded SHA-1 of the key
// concatenated with the protocol GUID (RFC 6455, Section 1.3 and Section
// 4.2.2). The key is used exactly as given; it is not decoded or trimmed.
func ComputeAccept(key string) string {
	var b [28]byte
	return string(appendAccept(b[:0], key))
}

// appendAccept appends ComputeAccept(key) to dst; it allocates nothing
// but what dst needs to grow (and, for a key of more than 92 bytes,
// which no client sends, the SHA-1 input).
func appendAccept(dst []byte, key string) []byte {
	var in [128]byte
	sum := sha1.Sum(append(append(in[:0], key...), acceptGUID...))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// GenerateKey returns a new Sec-WebSocket-Key: 16 bytes from crypto/rand,
// base64-encoded (RFC 6455, Section 4.1).
func GenerateKey() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error; crashes the program irrecoverably instead
	return base64.StdEncoding.EncodeToString(b[:])
}

// Sentinel errors; the errors returned by [Upgrader.Upgrade] and
// [Dialer.Dial] wrap them where they apply, for use with errors.Is.
var (
	// ErrBadHandshake is wrapped by errors that report a peer's opening
	// handshake that does not follow RFC 6455, Section 4: a malformed
	// request on the server, an unacceptable response on the client.
	ErrBadHandshake = errors.New("handshake: bad handshake")

	// ErrUnsupportedVersion reports a client that did not ask for version 13
	// of the protocol (RFC 6455, Section 4.4).
	ErrUnsupportedVersion = errors.New("handshake: unsupported Sec-WebSocket-Version")

	// ErrOriginNotAllowed reports a request whose Origin was refused by the
	// origin policy (RFC 6455, Section 10.2).
	ErrOriginNotAllowed = errors.New("handshake: origin not allowed")

	// ErrNoSubprotocol reports a server that selected none of the
	// subprotocols offered, when Dialer.RequireSubprotocol is set.
	ErrNoSubprotocol = errors.New("handshake: server selected no subprotocol")
)

// badHandshake is a failed check of the peer's handshake. Its text says
// "handshake:" once; it wraps ErrBadHandshake, and the cause if any, for
// errors.Is and errors.As.
type badHandshake struct {
	msg   string
	cause error // nil, or wrapped too
}

// errBad returns a badHandshake whose message is fmt.Sprintf(format, a...).
func errBad(cause error, format string, a ...any) error {
	return &badHandshake{msg: "handshake: " + fmt.Sprintf(format, a...), cause: cause}
}

func (e *badHandshake) Error() string { return e.msg }

func (e *badHandshake) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrBadHandshake}
	}
	return []error{e.cause, ErrBadHandshake}
}

// StatusError is the error of a Dial whose server answered with a status
// other than the handshake's (101 Switching Protocols over HTTP/1.1, a 2xx
// over HTTP/2): the server is not a WebSocket endpoint at that URL, or it
// refused the request. It wraps ErrBadHandshake. The whole response, with
// the first kilobyte of its body, is what Dial returns beside it.
type StatusError struct {
	StatusCode int    // the response's status code, for example 403
	Status     string // the response's status line, for example "403 Forbidden"
	// Body is the first line of the response body, at most 200 bytes,
	// with control characters and invalid UTF-8 replaced; "" if none.
	Body string
	// Location is the Location header of a redirect, which Dial does not
	// follow.
	Location string

	http2 bool // the answer to an extended CONNECT (RFC 8441)
}

// maxErrorBodyLine bounds StatusError.Body.
const maxErrorBodyLine = 200

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("handshake: server answered ")
	b.WriteString(e.Status)
	if e.http2 {
		b.WriteString(", not 200 to an extended CONNECT")
	} else {
		b.WriteString(", not 101 Switching Protocols")
	}
	switch c := e.StatusCode; {
	case c >= 300 && c < 400 && e.Location != "":
		fmt.Fprintf(&b, " (a redirect to %q, which Dial does not follow)", e.Location)
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		b.WriteString(" (the server refused the request)")
	case c == http.StatusUpgradeRequired:
		b.WriteString(" (the server wants another protocol version)")
	case c < 400 || c == http.StatusNotFound || c == http.StatusMethodNotAllowed:
		b.WriteString(" (not a WebSocket endpoint: check the URL's host, port and path)")
	}
	if e.Body != "" {
		b.WriteString("; the body begins: ")
		b.WriteString(e.Body)
	}
	return b.String()
}

// Unwrap returns ErrBadHandshake.
func (e *StatusError) Unwrap() error { return ErrBadHandshake }

// firstLine returns the first non-blank line of body, trimmed, cut to
// maxErrorBodyLine bytes on a rune boundary, with control characters and
// invalid UTF-8 replaced by U+FFFD, so that a hostile server cannot write
// to a terminal through an error message.
func firstLine(body []byte) string {
	s := strings.TrimLeft(string(body), " \t\r\n")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(s, " \t")
	if len(s) > maxErrorBodyLine {
		// Cut on a rune boundary: drop a rune the cut split.
		i := maxErrorBodyLine
		for i > maxErrorBodyLine-utf8.UTFMax && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// Error is returned by [Upgrader.Upgrade] when it refuses or fails a
// handshake. StatusCode is the HTTP status written to the client, or 0 when
// the failure happened after the connection was hijacked and nothing more
// could be sent (the connection is closed then).
type Error struct {
	StatusCode int
	Reason     string
	Err        error // the underlying cause, if any; see Unwrap
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return "handshake: " + e.Reason
	}
	return "handshake: " + http.StatusText(e.StatusCode) + ": " + e.Reason
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// reservedHeaders are the header fields the handshake sets itself; callers
// may not set them through Dialer.Header or Upgrader.Header.
var reservedHeaders = map[string]bool{
	"Upgrade":                  true,
	"Connection":               true,
	"Sec-Websocket-Key":        true,
	"Sec-Websocket-Version":    true,
	"Sec-Websocket-Extensions": true,
	"Sec-Websocket-Protocol":   true,
	"Sec-Websocket-Accept":     true,
}

// headerTokens returns the comma-separated elements of every value of the
// header field name (RFC 7230, Section 7), trimmed of optional whitespace,
// with empty elements dropped.
func headerTokens(h http.Header, name string) []string {
	var toks []string
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if t = strings.Trim(t, " \t"); t != "" {
				toks = append(toks, t)
			}
		}
	}
	return toks
}

// hasToken reports whether the header field name lists token,
// compared case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	// As headerTokens, without making the list: every handshake asks
	// twice.
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// isToken reports whether s is a non-empty token (RFC 7230, Section 3.2.6),
// the syntax RFC 6455, Section 4.1 requires of subprotocol names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v can be sent as a header field value
// without breaking the message framing.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// checkHeader validates caller-supplied header fields: names must be tokens,
// values must not contain CR, LF or NUL, and the fields the handshake sets
// itself are refused.
func checkHeader(h http.Header) error {
	for k, vs := range h {
		if !isToken(k) {
			return fmt.Errorf("handshake: invalid header field name %q", k)
		}
		ck := http.CanonicalHeaderKey(k)
		if reservedHeaders[ck] {
			return fmt.Errorf("handshake: header field %s is set by the handshake and may not be supplied", ck)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return fmt.Errorf("handshake: invalid value for header field %s", ck)
			}
		}
	}
	return nil
}
