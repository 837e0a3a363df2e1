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
// Package conn wires this in: set AcceptOptions.Extensions or
// DialOptions.Extensions. Package extension/deflate is permessage-deflate
// (RFC 7692).
package extension
