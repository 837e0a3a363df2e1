package frame

import "strconv"

// ProtocolError reports input from the peer that breaks the protocol. Code
// is the status the connection should be closed with: 1002 for framing
// violations, 1007 for payloads that are not what their type says, 1009
// for messages past a limit (RFC 6455, Section 7.4.1).
type ProtocolError struct {
	Code   StatusCode
	Reason string
}

func (e *ProtocolError) Error() string {
	return "websocket: protocol error (" + strconv.Itoa(int(e.Code)) + "): " + e.Reason
}

// Sentinel protocol errors. Compare with errors.Is; they are never modified.
var (
	ErrReservedBits           = &ProtocolError{StatusProtocolError, "reserved bits set without an extension that owns them"}
	ErrReservedOpcode         = &ProtocolError{StatusProtocolError, "reserved opcode"}
	ErrUnmasked               = &ProtocolError{StatusProtocolError, "client frame not masked"}
	ErrMasked                 = &ProtocolError{StatusProtocolError, "server frame masked"}
	ErrFragmentedControl      = &ProtocolError{StatusProtocolError, "fragmented control frame"}
	ErrControlTooLong         = &ProtocolError{StatusProtocolError, "control frame payload longer than 125 bytes"}
	ErrLengthOverflow         = &ProtocolError{StatusProtocolError, "64-bit payload length with the most significant bit set"}
	ErrUnexpectedContinuation = &ProtocolError{StatusProtocolError, "continuation frame without a message in progress"}
	ErrExpectedContinuation   = &ProtocolError{StatusProtocolError, "new data frame while a fragmented message is in progress"}
	ErrCloseTooShort          = &ProtocolError{StatusProtocolError, "close frame payload of one byte"}
	ErrInvalidCloseCode       = &ProtocolError{StatusProtocolError, "invalid close status code"}
	ErrInvalidCloseReason     = &ProtocolError{StatusInvalidFramePayloadData, "close reason is not valid UTF-8"}
	ErrInvalidUTF8            = &ProtocolError{StatusInvalidFramePayloadData, "text message is not valid UTF-8"}
	ErrFrameTooBig            = &ProtocolError{StatusMessageTooBig, "frame larger than the limit"}
	ErrMessageTooBig          = &ProtocolError{StatusMessageTooBig, "message larger than the limit"}
)

// CloseError is the status code and reason of a close frame: the one the
// peer sent, when it is returned by a read after the peer closed.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	s := "websocket: closed: " + e.Code.String()
	if e.Reason != "" {
		s += " " + strconv.Quote(e.Reason)
	}
	return s
}
