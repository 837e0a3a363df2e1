package frame

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"
)

// StatusCode is a close status code (RFC 6455, Section 7.4).
type StatusCode uint16

// Status codes registered with IANA (RFC 6455, Section 11.7).
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005 // never on the wire
	StatusAbnormalClosure         StatusCode = 1006 // never on the wire
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	StatusTLSHandshake            StatusCode = 1015 // never on the wire
)

var statusNames = map[StatusCode]string{
	StatusNormalClosure:           "normal closure",
	StatusGoingAway:               "going away",
	StatusProtocolError:           "protocol error",
	StatusUnsupportedData:         "unsupported data",
	StatusNoStatusRcvd:            "no status received",
	StatusAbnormalClosure:         "abnormal closure",
	StatusInvalidFramePayloadData: "invalid frame payload data",
	StatusPolicyViolation:         "policy violation",
	StatusMessageTooBig:           "message too big",
	StatusMandatoryExtension:      "mandatory extension",
	StatusInternalError:           "internal error",
	StatusServiceRestart:          "service restart",
	StatusTryAgainLater:           "try again later",
	StatusBadGateway:              "bad gateway",
	StatusTLSHandshake:            "TLS handshake",
}

func (c StatusCode) String() string {
	if s, ok := statusNames[c]; ok {
		return strconv.Itoa(int(c)) + " (" + s + ")"
	}
	return strconv.Itoa(int(c))
}

// ValidOnWire reports whether c may appear in a close frame. RFC 6455,
// Section 7.4, allows the defined codes except 1004 (reserved), 1005, 1006
// and 1015 (for reporting only), and 3000-4999 for libraries, frameworks and
// applications. 1012-1014 were registered with IANA after the RFC and are
// accepted, as browsers send them; everything else below 3000 is reserved.
func (c StatusCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// ParseClose decodes the payload of a close frame (RFC 6455, Section 5.5.1).
// An empty payload means no status: it returns StatusNoStatusRcvd. A
// one-byte payload, a code that is not valid on the wire, or a reason that
// is not UTF-8 is a *ProtocolError.
func ParseClose(p []byte) (StatusCode, string, error) {
	switch len(p) {
	case 0:
		return StatusNoStatusRcvd, "", nil
	case 1:
		return 0, "", ErrCloseTooShort
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.ValidOnWire() {
		return code, "", ErrInvalidCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return code, "", ErrInvalidCloseReason
	}
	return code, string(p[2:]), nil
}

// AppendClose appends a close frame payload to b. StatusNoStatusRcvd gives
// an empty payload. A reason that is not UTF-8 has its bad bytes replaced
// with U+FFFD, and a long one is cut to fit the 125-byte control frame
// limit at a rune boundary, so the peer never gets a reason it must reject.
func AppendClose(b []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusRcvd {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	if !utf8.ValidString(reason) {
		reason = strings.ToValidUTF8(reason, "\uFFFD")
	}
	if max := MaxControlPayload - 2; len(reason) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append(b, reason...)
}
