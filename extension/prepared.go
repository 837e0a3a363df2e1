package extension

import "github.com/hybi-go/hybi/frame"

// PreparedEncoder is an Encoder that can share its encoding of a whole
// message with other connections: a message broadcast to many
// connections (conn.PreparedMessage) is then encoded once for each
// distinct key instead of once per connection.
//
// A session uses it only for a message written whole, and only when this
// is the one encoder of the connection; otherwise the message goes
// through Encode as usual.
type PreparedEncoder interface {
	Encoder

	// PreparedKey names how this encoder would encode the whole message m
	// (m.Size is its length; m.RSV is 0): encoders of any connection that
	// return the same key for a message produce, with EncodePrepared, the
	// same payload and reserved bits. The key should begin with the
	// extension's name. PreparedKey returns "" when the message is to be
	// sent as it is (below a threshold, or m.NoCompression), and ok false
	// when this encoder cannot use a shared encoding and must encode the
	// message itself with Encode.
	PreparedKey(m Message) (key string, ok bool)

	// EncodePrepared encodes the whole message p, for connections whose
	// encoder returned the key that this one returns for m, and appends
	// the result to dst. It returns the reserved bits to set. It neither
	// uses nor changes the state of the encoder, and may be called from
	// any goroutine, concurrently with any other method.
	EncodePrepared(dst, p []byte, m Message) ([]byte, frame.RSV, error)

	// SentPrepared is called, one message at a time like Encode, once a
	// message encoded by EncodePrepared under this encoder's key has been
	// sent on this connection; p is its payload before encoding. An
	// encoder with state carried from one message to the next (the LZ77
	// window of context takeover) updates it as the peer's decoder will.
	// It is not called for a message sent as it is (key "").
	SentPrepared(p []byte, m Message)
}
