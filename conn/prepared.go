package conn

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// PreparedMessage is a data message framed once and written to many
// connections with WritePrepared: every server connection sends the same
// bytes, so a broadcast costs one encoding however many receive it (a
// client connection masks a copy per write, as RFC 6455, Section 5.3,
// requires a fresh key for every frame).
//
// With permessage-deflate (package extension/deflate), the message is
// compressed once for each distinct set of parameters that shapes the
// compressed bytes (this end's window bits and compression level), on
// first use, and the compressed frame is shared in the same way. That
// holds with or without context takeover: the shared compression does not
// refer to earlier messages, which a sender is free not to do, and a
// connection with context takeover adds the message to its compression
// window as its peer does. Messages below the extension's threshold, and
// messages to a connection with SetCompression(false), are sent
// uncompressed. Any extension can take part by implementing
// extension.PreparedEncoder; a connection whose extensions do not (or
// that agreed more than one encoding extension) encodes the message
// itself, as Write would.
//
// A PreparedMessage is safe for concurrent use.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	// plain is the frame as it is, for every connection that does not
	// encode this message.
	plain *raw.PreparedFrame

	// encoded holds the encoded frames, one per key of
	// extension.PreparedEncoder. It is replaced, never modified, under
	// mu, so that the lookup on every write takes no lock: a broadcast
	// has only a handful of keys and thousands of writes.
	mu      sync.Mutex
	encoded atomic.Pointer[[]*preparedEncoding]
}

// preparedEncoding is the frame for one key, built once by the first
// connection that needs it.
type preparedEncoding struct {
	key  string
	once sync.Once
	f    *raw.PreparedFrame // nil if encoding failed
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
// pm.Data()), but without framing it again on a server connection, nor
// encoding it again when another connection with the same extension
// parameters already did (see PreparedMessage).
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if err := c.lockMessage(ctx); err != nil {
		return err
	}
	defer c.msgMu.Unlock()
	f := pm.plain
	var pe extension.PreparedEncoder
	var m extension.Message
	if encs := c.ext.encoders(); len(encs) > 0 {
		m = extension.Message{Opcode: frame.Opcode(pm.typ), Size: int64(len(pm.data)), NoCompression: c.flag(flagNoCompress)}
		var key string
		ok := len(encs) == 1
		if ok {
			pe, ok = encs[0].(extension.PreparedEncoder)
		}
		if ok {
			key, ok = pe.PreparedKey(m)
		}
		if ok && key != "" {
			f = pm.encoding(key, pe, m)
			ok = f != nil
		}
		if !ok {
			// This connection encodes the message itself.
			return c.writeEncoded(ctx, pm.typ, pm.data, false)
		}
		if key == "" {
			pe = nil // sent as it is: the encoder has nothing to record
		}
	}
	if err := c.rc.WritePrepared(ctx, f); err != nil {
		// Unless nothing was written (a context done before the write),
		// the connection has failed and the encoder's state no longer
		// matters; if nothing was, the message was not sent and must not
		// be recorded.
		return c.failWrite(ctx, err)
	}
	if pe != nil {
		pe.SentPrepared(pm.data, m)
	}
	c.observeOut(pm.typ, int64(len(pm.data)), int64(len(f.Payload())))
	return nil
}

// encoding returns the frame encoded by encoders with key, encoding it
// with pe on first use; nil if encoding failed.
func (pm *PreparedMessage) encoding(key string, pe extension.PreparedEncoder, m extension.Message) *raw.PreparedFrame {
	e := pm.lookup(key)
	if e == nil {
		pm.mu.Lock()
		if e = pm.lookup(key); e == nil {
			var list []*preparedEncoding
			if p := pm.encoded.Load(); p != nil {
				list = *p
			}
			e = &preparedEncoding{key: key}
			list = append(list[:len(list):len(list)], e)
			pm.encoded.Store(&list)
		}
		pm.mu.Unlock()
	}
	e.once.Do(func() {
		p, rsv, err := pe.EncodePrepared(nil, pm.data, m)
		if err != nil {
			return
		}
		h := frame.Header{Fin: true, RSV: rsv, Opcode: frame.Opcode(pm.typ)}
		e.f = raw.NewPreparedFrame(h, p)
	})
	return e.f
}

func (pm *PreparedMessage) lookup(key string) *preparedEncoding {
	p := pm.encoded.Load()
	if p == nil {
		return nil
	}
	for _, e := range *p {
		if e.key == key {
			return e
		}
	}
	return nil
}
