package conn

import (
	"errors"

	"github.com/hybi-go/hybi/frame"
)

// StatusCode is a close status code (RFC 6455, Section 7.4).
type StatusCode = frame.StatusCode

// Status codes, re-exported from package frame so that most programs
// import only this package.
const (
	StatusNormalClosure           = frame.StatusNormalClosure
	StatusGoingAway               = frame.StatusGoingAway
	StatusProtocolError           = frame.StatusProtocolError
	StatusUnsupportedData         = frame.StatusUnsupportedData
	StatusNoStatusRcvd            = frame.StatusNoStatusRcvd
	StatusAbnormalClosure         = frame.StatusAbnormalClosure
	StatusInvalidFramePayloadData = frame.StatusInvalidFramePayloadData
	StatusPolicyViolation         = frame.StatusPolicyViolation
	StatusMessageTooBig           = frame.StatusMessageTooBig
	StatusMandatoryExtension      = frame.StatusMandatoryExtension
	StatusInternalError           = frame.StatusInternalError
	StatusTryAgainLater           = frame.StatusTryAgainLater
)

// CloseError is the status and reason of a close frame. A read returns one
// (wrapped or not; use errors.As or CloseStatus) once the peer has closed
// the connection: with the peer's code and reason, StatusNoStatusRcvd when
// its close frame had no code, and StatusAbnormalClosure when the
// connection dropped with no close frame at all.
type CloseError = frame.CloseError

// ProtocolError reports that the peer broke the protocol; Code is the
// status this end closed the connection with.
type ProtocolError = frame.ProtocolError

// Errors returned by Conn methods.
var (
	// ErrClosed is returned by writes after Close started the closing
	// handshake, and by any call after CloseNow.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrPongTimeout is the cause when a keepalive ping got no pong in
	// time; reads then fail with a CloseError of StatusAbnormalClosure
	// that wraps it.
	ErrPongTimeout = errors.New("websocket: keepalive pong timeout")
)

// CloseStatus returns the close status that err carries: the peer's code
// for a *CloseError, the code this end closed with for a *ProtocolError,
// and 0 for an error that carries none (for example a cancelled context,
// which leaves the connection open).
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}
