package conn

import (
	"context"
	"sync"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// PreparedMessage is a data message framed once and written to many
// connections with WritePrepared: every server connection sends the same
// bytes, so a broadcast costs one encoding however many receive it (a
// client connection masks a copy per write, as RFC 6455, Section 5.3,
// requires a fresh key for every frame). It is immutable and safe for
// concurrent use.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	// plain is the uncompressed frame, for every connection without a
	// compressing extension.
	plain *raw.PreparedFrame

	// TODO(deflate): compressed frames, one per distinct set of negotiated
	// permessage-deflate parameters (RFC 7692, Section 7.1): connections
	// that agreed on the same window bits and no_context_takeover for
	// their sending side can share one compressed frame, built on first
	// use under mu and kept in encoded, keyed by a string of those
	// parameters (see Conn.preparedKey). A connection whose compressor
	// keeps context takeover cannot share: it must compress the message
	// itself (c.Write(ctx, pm.typ, pm.data)).
	mu      sync.Mutex
	encoded map[string]*raw.PreparedFrame
}

// NewPreparedMessage prepares data as one message of type typ. data is
// copied: the caller may reuse it.
func NewPreparedMessage(typ MessageType, data []byte) *PreparedMessage {
	f := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.Opcode(typ)}, data)
	return &PreparedMessage{typ: typ, data: f.Payload(), plain: f}
}

// Type returns the message's type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Data returns the message's payload. It must not be modified.
func (pm *PreparedMessage) Data() []byte { return pm.data }

// WritePrepared writes pm as one message, like Write(ctx, pm.Type(),
// pm.Data()) but without framing it again on a server connection.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	f, ok := pm.frameFor(c.preparedKey())
	if !ok {
		// A connection that cannot share an encoding writes its own.
		return c.Write(ctx, pm.typ, pm.data)
	}
	if err := c.lockMessage(ctx); err != nil {
		return err
	}
	defer func() { <-c.msgMu }()
	if err := c.rc.WritePrepared(ctx, f); err != nil {
		return c.failWrite(ctx, err)
	}
	return nil
}

// preparedKey names the encoding this connection's messages need: "" for
// none.
//
// TODO(deflate): when permessage-deflate is negotiated, return "" only if
// the connection does not compress this message, a key of the agreed
// parameters when its compressor is stateless (no context takeover), and
// "-" (no sharing) otherwise.
func (c *Conn) preparedKey() string { return "" }

// frameFor returns the frame for connections with encoding key, or false
// when such a connection must encode the message itself.
func (pm *PreparedMessage) frameFor(key string) (*raw.PreparedFrame, bool) {
	if key == "" {
		return pm.plain, true
	}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	f, ok := pm.encoded[key]
	return f, ok
}
