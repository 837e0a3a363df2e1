package conn

import (
	"context"
	"errors"
	"iter"
)

// Message is one whole data message, as Read returns it. Data is the
// caller's to keep.
type Message struct {
	Type MessageType
	Data []byte
}

// Messages returns an iterator over the data messages of c, for a read
// loop written as
//
//	for msg, err := range c.Messages(ctx) {
//		if err != nil {
//			return err // the connection failed, or ctx is done
//		}
//		// use msg.Type and msg.Data
//	}
//	// The peer closed the connection: c.CloseReason() has its code and reason.
//
// Each step is a Read. The iterator ends quietly when the peer's close
// frame arrives (RFC 6455, Section 7.1.5), whether the peer closed first
// or answered a Close of ours; CloseReason then reports the code and reason.
// Any other ending is yielded once as the error Read returned, with a zero
// Message, and ends the iteration: a *CloseError with StatusAbnormalClosure
// (1006) when the connection dropped, a *ProtocolError when the peer broke
// the protocol, ctx.Err() when ctx is done (the connection stays open then,
// and a new iteration can carry on reading).
//
// Messages is a reader: only one goroutine may iterate, or read, at a time.
// Breaking out of the loop leaves the connection open.
func (c *Conn) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				if isPeerClose(err) {
					return
				}
				yield(Message{}, err)
				return
			}
			if !yield(Message{Type: typ, Data: p}, nil) {
				return
			}
		}
	}
}

// isPeerClose reports whether err is the peer's close frame rather than a
// dropped connection.
func isPeerClose(err error) bool {
	var ce *CloseError
	return errors.As(err, &ce) && ce.Code != StatusAbnormalClosure
}

// CloseReason reports how the connection ended once it has: the code and
// reason of the peer's close frame (StatusNoStatusRcvd when that frame had
// no code), or StatusAbnormalClosure (1006) when the connection ended
// without one: dropped, closed with CloseNow, or a closing handshake that
// timed out. It returns nil while the connection is open, and when this end
// failed the connection for a protocol error; the error the read returned
// carries that code (see CloseStatus).
//
// CloseReason is how a loop over Messages, which ends quietly on a close
// frame, learns the peer's code and reason.
func (c *Conn) CloseReason() *CloseError {
	var ce *CloseError
	if errors.As(c.terminal(), &ce) {
		return &CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	return nil
}
