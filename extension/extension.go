package extension

import (
	"io"

	"github.com/hybi-go/hybi/frame"
)

// Extension is the configuration of one extension: immutable, shared by
// every connection that uses it, and safe for concurrent use. It takes
// part in the opening handshake (RFC 6455, Section 9.1): a client offers
// it, a server accepts or declines each offer, and the client checks the
// server's answer. What both ends agreed on is an Agreed, one per
// connection.
type Extension interface {
	// Name is the extension token, as registered (RFC 6455, Section 11.4),
	// for example "permessage-deflate".
	Name() string

	// Offer returns the client's offers for this extension, in order of
	// preference. Each must be named Name().
	Offer() []Element

	// Accept is the server's side: offers are every offer of the client
	// for this extension, in the client's order of preference. Accept
	// returns the response element for the first it accepts and what was
	// agreed, or a nil Agreed to decline them all. An error fails the
	// opening handshake; an offer that is merely unacceptable (an unknown
	// parameter, a bad value) should be declined instead. The response's
	// Name may be left empty; naming another extension is an error
	// (ErrWrongName). An extension that needs the client's request to
	// answer implements RequestAccepter too.
	Accept(offers []Element) (response Element, agreed Agreed, err error)

	// Confirm is the client's side: it checks the server's response for
	// this extension against what the client offered, and returns what was
	// agreed. An error, or a nil Agreed, fails the opening handshake.
	Confirm(response Element) (Agreed, error)
}

// Agreed is an extension in use on one connection, with the parameters
// both ends agreed on.
type Agreed interface {
	// RSV returns the reserved bits the extension uses (RFC 6455, Section
	// 5.2). Two extensions that use the same bit are refused on one
	// connection: the server declines the later one (NegotiateRequest
	// reports it in Negotiation.Declined), a client fails the handshake
	// (ErrRSVConflict). A frame with a bit no agreed extension uses fails the
	// connection with 1002.
	RSV() frame.RSV

	// NewEncoder returns the encoder for the messages this end sends, or
	// nil when the extension leaves them unchanged. It is called once per
	// connection.
	NewEncoder() Encoder

	// NewDecoder returns the decoder for the messages this end receives,
	// or nil when the extension leaves them unchanged. It is called once
	// per connection.
	NewDecoder() Decoder
}

// Message describes a data message as it passes through the encoders or
// the decoders of a connection.
//
// The extensions of this package are per-message extensions in the sense
// of RFC 7692: their reserved bits are set on the first frame of a data
// message only. A reserved bit on a continuation frame or a control frame
// fails the connection with 1002 (RFC 7692, Section 6.1).
type Message struct {
	// Opcode is frame.OpText or frame.OpBinary.
	Opcode frame.Opcode
	// RSV holds the reserved bits of the message's first frame. An
	// encoder that transforms the message sets its bits here; a decoder
	// finds here the bits the sender set.
	RSV frame.RSV
	// Size is the payload size when it is known before the message is
	// written (a whole message), and -1 when the message is streamed. It
	// is always -1 for a received message.
	Size int64
	// NoCompression is set when the writer asked that this message not be
	// compressed; a compressing extension should leave it unchanged.
	NoCompression bool
}

// Encoder transforms the messages one connection sends. Its methods are
// called by one goroutine at a time, one message at a time.
type Encoder interface {
	// Encode begins the message m. It returns the writer the message's
	// payload is written to; the writer writes the encoded payload to w
	// (the encoder of the extension listed after this one, or the frames)
	// and sets the extension's reserved bits in m.RSV. Its Close ends the
	// message: it writes whatever remains to w, without closing w.
	//
	// Encode returns a nil writer to leave the message as it is, for
	// example one shorter than a threshold.
	//
	// If anything fails while a message is being encoded, the connection
	// is closed: the encoder need not be able to recover.
	Encode(w io.Writer, m *Message) (io.WriteCloser, error)
}

// Decoder transforms the messages one connection receives. Its methods
// are called by one goroutine at a time, one message at a time.
type Decoder interface {
	// Decode begins the message m received with the reserved bits m.RSV.
	// r reads the message's payload as received (or as decoded by the
	// extension listed after this one) and returns io.EOF at its end.
	// Decode returns the reader of the decoded payload, or nil to leave
	// the message as it is (when the extension's bits are not set).
	//
	// The returned reader must bound the memory it uses however large the
	// decoded message: the caller counts what it returns against its
	// read limit as it goes. It returns io.EOF at the end of the message;
	// an error of type *frame.ProtocolError closes the connection with its
	// code and sends its Reason to the peer; any other error closes it with
	// 1007 (invalid payload data) and a generic reason, its text kept for
	// the local error only (1011 likewise for an error of Decode itself).
	// Close is called once the message is read to its end, discarded, or
	// the connection failed; it releases what the message held and must
	// not close r.
	Decode(r io.Reader, m *Message) (io.ReadCloser, error)
}

// MessageSkipper is implemented by a Decoder that can leave a message
// unfinished. A read cut short by its context may stop a decoder in the
// middle of its input, where most decoders (a decompressor among them)
// cannot resume. The connection then asks every decoder whether it may
// skip the rest of that message: if all of them may, the rest is discarded
// undecoded, their Close is called, and the next message is decoded as if
// this one had ended; otherwise the connection is closed (1006).
type MessageSkipper interface {
	// CanSkip reports whether the message being decoded may be left
	// unfinished: true when no later message depends on it (for
	// permessage-deflate, when the sender resets its compressor for
	// every message, so that the decoder keeps no window).
	CanSkip() bool
}
