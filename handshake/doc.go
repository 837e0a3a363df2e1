// Package handshake implements the WebSocket opening handshake of
// RFC 6455, Section 4: the server side on top of net/http ([Upgrader]) and
// the client side over any net.Conn ([Dialer]).
//
// A successful handshake yields a [Result]: the raw network connection, any
// bytes that were already read past the handshake (which belong to the first
// WebSocket frames and must be consumed before reading from the connection),
// and the negotiated subprotocol and extensions. Framing is not this
// package's concern; hand the Result to the frame-level packages.
//
// The package uses the standard library only. The zero values of [Upgrader]
// and [Dialer] are ready to use.
//
// # Server
//
// [Upgrader.Upgrade] validates the client's opening handshake (RFC 6455,
// Section 4.2.1), applies the origin policy (RFC 6455, Section 10.2), selects
// a subprotocol, negotiates extensions through a hook, hijacks the connection
// and writes the 101 response itself (RFC 6455, Section 4.2.2). On failure it
// writes an HTTP error response and returns an [*Error].
//
// # Client
//
// [Dialer.Dial] connects to a ws:// or wss:// URL, optionally through an HTTP
// CONNECT proxy, sends the opening handshake (RFC 6455, Section 4.1) and
// validates the server's response. On a failed handshake the server's
// *http.Response is returned when one was read, with at most a small prefix
// of its body.
package handshake
