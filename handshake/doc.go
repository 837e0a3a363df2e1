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
//
// # HTTP/2
//
// RFC 8441 opens a WebSocket on an HTTP/2 stream with an extended CONNECT
// (:protocol "websocket"); there is no Sec-WebSocket-Key or -Accept, and
// the server answers 200. Both ends use net/http's HTTP/2.
//
// [Upgrader.Upgrade] takes such a request on the same handler as the
// HTTP/1.1 one, with the same checks and negotiation. For net/http to
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL, without which clients do not
// send it, the process must start with GODEBUG=http2xconnect=1 in its
// environment (Go 1.24 to 1.27; net/http reads it once, at start), or, from
// Go 1.28, set http.HTTP2Config.EnableConnectProtocol; and the server must
// serve HTTP/2: over TLS (ALPN "h2"), or cleartext with
// http.Server.Protocols. With it off, clients use HTTP/1.1 as before. The
// WebSocket is the request's stream and ends when the handler returns, so
// the handler must not return before it is done with the connection.
//
// [Dialer.HTTP2] selects HTTP/2 for wss:// URLs: always, or when the
// server offers it, falling back to HTTP/1.1. An [HTTP2Pool] lets
// WebSockets to the same server share one connection.
//
// On HTTP/2, [Result].Conn is the stream. Its read deadlines interrupt a
// read without ending the stream, as on TCP; a write deadline that passes
// resets the stream, because net/http cannot take back a write it has
// begun.
package handshake
