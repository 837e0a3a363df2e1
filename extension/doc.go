// Package extension is the interface between WebSocket extensions (RFC
// 6455, Section 9) and the sessions that use them, with a complete parser
// and formatter for the Sec-WebSocket-Extensions header.
//
// An Extension is configuration: its Offer, Accept and Confirm methods
// take part in the opening handshake. The client offers its extensions in
// order of preference; the server accepts or declines each offer and
// answers; the client checks the answer. Negotiate (server) and Confirm
// (client) drive that over a list of extensions and return the Agreed
// ones in the order of the server's response, which is the order they
// apply to the data: for a response "foo, bar" a message is sent as
// bar(foo(data)) and received through bar's decoder, then foo's.
//
// An Agreed extension owns reserved bits (RSV1-3) and transforms whole
// messages as streams: an Encoder wraps the writer of a message's payload,
// a Decoder wraps its reader. Decoders never need a whole message in
// memory, so that a read limit can stop a decompression bomb.
//
// # Negotiation
//
// NegotiateRequest reports the whole outcome on the server: the response,
// what was agreed (each a Negotiated: the name and parameters answered,
// and the Agreed value), and what the client offered that was declined,
// with the reason (not supported, declined by the extension, or a reserved
// bit already held by an extension agreed before it). An extension that
// needs the request to answer (a per-user parameter, a setting from a
// header or from the request's context) implements RequestAccepter.
// Describe pairs a response with its Agreed values, which is what
// conn.Conn and raw.Conn report as their AgreedExtensions.
//
// # Per-message only
//
// Extensions here transform data messages, not frames. An Encoder sees a
// message's payload as one stream and its reserved bits are set on the
// message's first frame; a Decoder sees the payload of all the message's
// frames as one stream. Control frames and frame boundaries never reach
// an extension, and a session refuses a reserved bit on a control or a
// continuation frame (RFC 7692, Section 6.1). So a per-frame extension
// (one that transforms each frame, control frames included, or sets its
// bit on continuation frames, as the old deflate-frame draft did) cannot
// be written with this package; it needs the Raw session (package raw),
// whose caller sees and writes every frame and decides for itself which
// reserved bits a control or continuation frame may carry.
//
// Package conn wires this in: set AcceptOptions.Extensions or
// DialOptions.Extensions. Package extension/deflate is permessage-deflate
// (RFC 7692).
package extension
