package conn

import (
	"fmt"
	"time"
)

// CloseWrite starts the closing handshake and leaves its end to the
// reader: it sends a close frame with code and reason (chosen as Close
// chooses them), after which writes fail with ErrClosed, while reads go
// on returning the messages the peer sent before its own close frame and
// then, once that frame arrives, its CloseError, as when the peer closes
// first; the connection is then closed as after Close.
//
// Use it where a reading goroutine must see every message: Close, called
// while that goroutine is between two reads, reads on its own and discards
// what arrives until the peer's close frame. A peer that does not answer
// within Options.CloseTimeout has the connection closed under it: reads
// then return StatusAbnormalClosure (1006). CloseWrite returns ErrClosed,
// sending nothing, when a close frame was sent already.
func (c *Conn) CloseWrite(code StatusCode, reason string) error {
	code, reason, codeErr := sendableClose(code, reason)
	if !c.writeClose(code, reason) {
		return ErrClosed
	}
	time.AfterFunc(c.closeTimeout(), func() {
		select {
		case <-c.peerClose.Done():
			return // answered, or ended some other way
		default:
		}
		c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, ErrClosed))
		c.shutdown()
	})
	return codeErr
}
