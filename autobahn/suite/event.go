package suite

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Verdicts, as the Autobahn testsuite names them. Behavior is one of OK,
// NON-STRICT, INFORMATIONAL, UNIMPLEMENTED and FAILED; the closing
// behavior may also be WRONG CODE, UNCLEAN or FAILED BY CLIENT.
const (
	OK             = "OK"
	NonStrict      = "NON-STRICT"
	Informational  = "INFORMATIONAL"
	Unimplemented  = "UNIMPLEMENTED"
	Failed         = "FAILED"
	WrongCode      = "WRONG CODE"
	Unclean        = "UNCLEAN"
	FailedByClient = "FAILED BY CLIENT"
)

// Event is one thing observed from the peer during a case, or expected
// from it: a whole message, a ping or pong, a timeout tag a case records
// itself, or a protocol violation the runner saw. Payloads are compared by
// length and SHA-1, so that a 16 MiB echo costs no more memory than a
// short one; Head keeps the first bytes for the report.
type Event struct {
	Kind   string // "message", "ping", "pong", "timeout", "violation"
	Binary bool   // messages only
	Len    int64
	Sum    [sha1.Size]byte
	Head   []byte // at most maxShown bytes of the payload, or the tag
}

// maxShown is how much of a payload reports show (the suite's
// MAX_WIRE_LOG_DATA).
const maxShown = 256

func payloadEvent(kind string, binary bool, p []byte) Event {
	e := Event{Kind: kind, Binary: binary, Len: int64(len(p)), Sum: sha1.Sum(p)}
	e.Head = append([]byte(nil), p[:min(len(p), maxShown)]...)
	return e
}

// Text and Binary are expected (or received) data messages.
func Text(p []byte) Event   { return payloadEvent("message", false, p) }
func Binary(p []byte) Event { return payloadEvent("message", true, p) }

// Pong and Ping are expected (or received) control frames.
func Pong(p []byte) Event { return payloadEvent("pong", false, p) }
func Ping(p []byte) Event { return payloadEvent("ping", false, p) }

// Timeout is the marker a case records when a wait ran out with the
// connection still open.
func Timeout(tag string) Event { return Event{Kind: "timeout", Head: []byte(tag)} }

func violation(reason string) Event { return Event{Kind: "violation", Head: []byte(reason)} }

func (e Event) equal(o Event) bool {
	if e.Kind != o.Kind {
		return false
	}
	switch e.Kind {
	case "message":
		return e.Binary == o.Binary && e.Len == o.Len && e.Sum == o.Sum
	case "ping", "pong":
		return e.Len == o.Len && e.Sum == o.Sum
	}
	return string(e.Head) == string(o.Head)
}

func eventsEqual(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// showPayload renders a payload for a report: as text when it is short
// valid UTF-8, else as hex, with its full length when only the head is
// kept.
func showPayload(head []byte, n int64) string {
	var s string
	if utf8.Valid(head) {
		s = string(head)
	} else {
		s = "0x" + hex.EncodeToString(head)
	}
	if n > int64(len(head)) {
		s += fmt.Sprintf(" ... (%d octets)", n)
	}
	return s
}

// MarshalJSON writes an event the way the suite's reports list them:
// ["message", payload, binary], ["pong", payload], ["timeout", tag].
func (e Event) MarshalJSON() ([]byte, error) {
	switch e.Kind {
	case "message":
		return json.Marshal([]any{e.Kind, showPayload(e.Head, e.Len), e.Binary})
	case "ping", "pong":
		return json.Marshal([]any{e.Kind, showPayload(e.Head, e.Len)})
	}
	return json.Marshal([]any{e.Kind, string(e.Head)})
}

func (e Event) String() string {
	b, _ := e.MarshalJSON()
	return string(b)
}
