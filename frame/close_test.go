package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseCloseEmpty(t *testing.T) {
	t.Parallel()
	for _, p := range [][]byte{nil, {}} {
		code, reason, err := ParseClose(p)
		if code != StatusNoStatusRcvd || reason != "" || err != nil {
			t.Errorf("ParseClose(%#v) = %v, %q, %v; want 1005, \"\", nil", p, code, reason, err)
		}
	}
}

func TestParseCloseTooShort(t *testing.T) {
	t.Parallel()
	for _, c := range []byte{0x00, 0x03, 0xE8, 0xFF} {
		_, _, err := ParseClose([]byte{c})
		if !errors.Is(err, ErrCloseTooShort) {
			t.Errorf("ParseClose(%#x) = %v, want ErrCloseTooShort", c, err)
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
			t.Errorf("ParseClose(%#x): code %v, want 1002", c, pe)
		}
	}
}

// wantValidOnWire is RFC 6455, Section 7.4, with 1012-1014 added by IANA.
func wantValidOnWire(c int) bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

func TestParseCloseCodes(t *testing.T) {
	t.Parallel()
	codes := make([]int, 0, 5010)
	for c := 0; c <= 5000; c++ {
		codes = append(codes, c)
	}
	codes = append(codes, 5001, 9999, 0x7FFF, 0x8000, 0xFFFF)
	for _, c := range codes {
		valid := wantValidOnWire(c)
		if StatusCode(c).ValidOnWire() != valid {
			t.Errorf("StatusCode(%d).ValidOnWire() = %v, want %v", c, !valid, valid)
		}
		for _, reason := range []string{"", "bye"} {
			p := append([]byte{byte(c >> 8), byte(c)}, reason...)
			code, got, err := ParseClose(p)
			if code != StatusCode(c) {
				t.Errorf("ParseClose(% x) code = %d, want %d", p, code, c)
			}
			if valid {
				if err != nil || got != reason {
					t.Errorf("ParseClose(% x) = %q, %v; want %q, nil", p, got, err, reason)
				}
				continue
			}
			if !errors.Is(err, ErrInvalidCloseCode) {
				t.Errorf("ParseClose(% x) = %v, want ErrInvalidCloseCode", p, err)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
				t.Errorf("ParseClose(% x): code %v, want 1002", p, pe)
			}
		}
	}
}

func TestParseCloseReason(t *testing.T) {
	t.Parallel()
	valid := []string{"", "bye", "κόσμε", "€", "😀", "\u0000", "\U0010FFFF", strings.Repeat("é", 61) + "a"}
	for _, r := range valid {
		p := append([]byte{0x03, 0xE8}, r...)
		code, reason, err := ParseClose(p)
		if code != StatusNormalClosure || reason != r || err != nil {
			t.Errorf("ParseClose(% x) = %v, %q, %v; want 1000, %q, nil", p, code, reason, err, r)
		}
	}
	invalid := []string{"\xff", "\x80", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "bye\xe2\x82", "κόσμε\xed\xa0\x80edited"}
	for _, r := range invalid {
		p := append([]byte{0x03, 0xE9}, r...)
		code, _, err := ParseClose(p)
		if code != StatusGoingAway || !errors.Is(err, ErrInvalidCloseReason) {
			t.Errorf("ParseClose(% x) = %v, %v; want 1001, ErrInvalidCloseReason", p, code, err)
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != StatusInvalidFramePayloadData {
			t.Errorf("ParseClose(% x): code %v, want 1007", p, pe)
		}
	}
	// An invalid code is reported before an invalid reason.
	if _, _, err := ParseClose([]byte{0x03, 0xED, 0xff}); !errors.Is(err, ErrInvalidCloseCode) {
		t.Errorf("1005 with a bad reason: %v, want ErrInvalidCloseCode", err)
	}
}

// TestParseCloseDoesNotAlias checks that the reason is a copy: the caller
// may reuse its buffer.
func TestParseCloseDoesNotAlias(t *testing.T) {
	t.Parallel()
	p := []byte{0x03, 0xE8, 'a', 'b'}
	_, reason, _ := ParseClose(p)
	p[2] = 'z'
	if reason != "ab" {
		t.Fatalf("reason changed to %q with the buffer", reason)
	}
}

func TestAppendCloseRoundTrip(t *testing.T) {
	t.Parallel()
	reasons := []string{"", "bye", "κόσμε", strings.Repeat("x", MaxControlPayload-2)}
	for c := 0; c <= 5000; c++ {
		code := StatusCode(c)
		if !code.ValidOnWire() {
			continue
		}
		for _, r := range reasons {
			p := AppendClose(nil, code, r)
			if len(p) != 2+len(r) {
				t.Fatalf("AppendClose(%d, %q) = % x", c, r, p)
			}
			gotCode, gotReason, err := ParseClose(p)
			if err != nil || gotCode != code || gotReason != r {
				t.Fatalf("ParseClose(AppendClose(%d, %q)) = %v, %q, %v", c, r, gotCode, gotReason, err)
			}
		}
	}
	// Appending keeps what is there.
	p := AppendClose([]byte("xy"), StatusGoingAway, "ok")
	if want := []byte{'x', 'y', 0x03, 0xE9, 'o', 'k'}; !bytes.Equal(p, want) {
		t.Errorf("AppendClose = % x, want % x", p, want)
	}
}

func TestAppendCloseNoStatus(t *testing.T) {
	t.Parallel()
	for _, r := range []string{"", "dropped"} {
		if p := AppendClose(nil, StatusNoStatusRcvd, r); len(p) != 0 {
			t.Errorf("AppendClose(1005, %q) = % x, want empty", r, p)
		}
		if p := AppendClose([]byte("keep"), StatusNoStatusRcvd, r); string(p) != "keep" {
			t.Errorf("AppendClose(keep, 1005, %q) = %q", r, p)
		}
	}
	if code, _, err := ParseClose(AppendClose(nil, StatusNoStatusRcvd, "")); code != StatusNoStatusRcvd || err != nil {
		t.Errorf("round trip of 1005 = %v, %v", code, err)
	}
}

// longestValidPrefix is the oracle for truncation: the longest prefix of s
// of at most n bytes that is valid UTF-8.
func longestValidPrefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for j := n; j >= 0; j-- {
		if utf8.ValidString(s[:j]) {
			return s[:j]
		}
	}
	return ""
}

func TestAppendCloseTruncate(t *testing.T) {
	t.Parallel()
	const max = MaxControlPayload - 2 // 123
	var reasons []string
	for _, r := range []string{"a", "é", "€", "😀"} {
		// Shift the rune boundaries against the cut by 0-3 ASCII bytes, so
		// that the cut falls at every offset within a rune.
		for shift := 0; shift < 4; shift++ {
			for extra := 0; extra < 8; extra++ {
				s := strings.Repeat("-", shift) + strings.Repeat(r, (max+extra)/len(r)+1)
				reasons = append(reasons, s)
			}
		}
	}
	reasons = append(reasons,
		strings.Repeat("a", max),
		strings.Repeat("a", max+1),
		strings.Repeat("a", 1000),
		strings.Repeat("a", max-1)+"é", // 124 bytes: é cut in half
		strings.Repeat("a", max-2)+"€", // cut after 2 of 3 bytes
		strings.Repeat("a", max-3)+"😀", // cut after 3 of 4 bytes
		strings.Repeat("a", max-4)+"😀", // exactly 123 bytes
	)
	for _, r := range reasons {
		p := AppendClose(nil, StatusNormalClosure, r)
		if len(p) > MaxControlPayload {
			t.Fatalf("AppendClose(%q): %d bytes, over the control frame limit", r, len(p))
		}
		want := longestValidPrefix(r, max)
		if got := string(p[2:]); got != want {
			t.Fatalf("AppendClose(%d bytes %q...): reason %q (%d bytes), want %q (%d bytes)", len(r), r[:8], got, len(got), want, len(want))
		}
		if len(r) >= max && len(want) < max-3 {
			t.Fatalf("oracle cut %d bytes off a valid reason", max-len(want))
		}
		code, reason, err := ParseClose(p)
		if code != StatusNormalClosure || reason != want || err != nil {
			t.Fatalf("ParseClose(AppendClose) = %v, %q, %v", code, reason, err)
		}
	}
}

func TestStatusCodeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code StatusCode
		want string
	}{
		{StatusNormalClosure, "1000 (normal closure)"},
		{StatusGoingAway, "1001 (going away)"},
		{StatusProtocolError, "1002 (protocol error)"},
		{StatusUnsupportedData, "1003 (unsupported data)"},
		{StatusNoStatusRcvd, "1005 (no status received)"},
		{StatusAbnormalClosure, "1006 (abnormal closure)"},
		{StatusInvalidFramePayloadData, "1007 (invalid frame payload data)"},
		{StatusPolicyViolation, "1008 (policy violation)"},
		{StatusMessageTooBig, "1009 (message too big)"},
		{StatusMandatoryExtension, "1010 (mandatory extension)"},
		{StatusInternalError, "1011 (internal error)"},
		{StatusServiceRestart, "1012 (service restart)"},
		{StatusTryAgainLater, "1013 (try again later)"},
		{StatusBadGateway, "1014 (bad gateway)"},
		{StatusTLSHandshake, "1015 (TLS handshake)"},
		{0, "0"},
		{1004, "1004"},
		{3000, "3000"},
		{4999, "4999"},
		{65535, "65535"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.want {
			t.Errorf("StatusCode(%d).String() = %q, want %q", uint16(tt.code), got, tt.want)
		}
	}
}

func TestCloseErrorError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *CloseError
		want string
	}{
		{&CloseError{Code: StatusNormalClosure}, "websocket: closed: 1000 (normal closure)"},
		{&CloseError{Code: StatusGoingAway, Reason: "bye"}, `websocket: closed: 1001 (going away) "bye"`},
		{&CloseError{Code: 4000, Reason: "a\"b\n"}, `websocket: closed: 4000 "a\"b\n"`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		var ce *CloseError
		if !errors.As(error(tt.err), &ce) || ce.Code != tt.err.Code {
			t.Errorf("errors.As(%v) failed", tt.err)
		}
	}
}

func TestAppendCloseInvalidReason(t *testing.T) {
	for _, reason := range []string{"\xff", "ok\xed\xa0\x80", "\xff" + strings.Repeat("a", 200)} {
		p := AppendClose(nil, StatusNormalClosure, reason)
		if _, _, err := ParseClose(p); err != nil || len(p) > MaxControlPayload {
			t.Fatalf("AppendClose(%q) = % x: %v", reason, p, err)
		}
		if len(reason) > 3 && len(p) == 2 {
			t.Fatalf("AppendClose(%q) dropped the whole reason", reason)
		}
	}
}
