package frame

import "unicode/utf8"

// UTF8 validates UTF-8 text that arrives in pieces split at arbitrary
// points, as a fragmented text message does (RFC 6455, Section 8.1). It
// fails fast: Write reports false for the piece that holds the first byte
// after which no continuation could make the text valid, not at the end of
// the message. The zero value is ready to use.
type UTF8 struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // the range the next continuation byte must fall in
	failed bool
}

// Reset makes v ready for a new message.
func (v *UTF8) Reset() { *v = UTF8{} }

// Done reports whether everything written so far is complete, valid UTF-8.
func (v *UTF8) Done() bool { return !v.failed && v.need == 0 }

// Write feeds p to the validator. It reports false once the text can no
// longer be valid; the state stays failed until Reset.
func (v *UTF8) Write(p []byte) bool {
	if v.failed {
		return false
	}
	i := 0
	// Finish a sequence left open by the previous piece.
	for v.need > 0 && i < len(p) {
		if !v.step(p[i]) {
			return false
		}
		i++
	}
	p = p[i:]
	if len(p) == 0 {
		return true
	}
	// Bulk-check everything up to the last, possibly incomplete, sequence
	// with the standard library, then walk the tail byte by byte so that a
	// tail that is already impossible (0xF4 0x90, 0xED 0xA0, ...) fails now.
	cut := incompleteTail(p)
	if !utf8.Valid(p[:cut]) {
		v.failed = true
		return false
	}
	for _, c := range p[cut:] {
		if !v.step(c) {
			return false
		}
	}
	return true
}

// incompleteTail returns the index where a trailing incomplete sequence
// starts, or len(p) if p ends on a sequence boundary.
func incompleteTail(p []byte) int {
	for j := len(p) - 1; j >= 0 && j >= len(p)-3; j-- {
		c := p[j]
		if c < 0x80 {
			return len(p)
		}
		if c >= 0xC0 {
			if j+seqLen(c) > len(p) {
				return j
			}
			return len(p)
		}
	}
	return len(p)
}

func seqLen(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	case c >= 0xC0:
		return 2
	}
	return 1
}

// step advances the byte-at-a-time automaton (the ranges of the Unicode
// standard, Table 3-7) by one byte.
func (v *UTF8) step(c byte) bool {
	if v.need > 0 {
		if c < v.lo || c > v.hi {
			v.failed = true
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xBF
		return true
	}
	v.lo, v.hi = 0x80, 0xBF
	switch {
	case c < 0x80:
		return true
	case c >= 0xC2 && c <= 0xDF:
		v.need = 1
	case c == 0xE0:
		v.need, v.lo = 2, 0xA0
	case c == 0xED:
		v.need, v.hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		v.need = 2
	case c == 0xF0:
		v.need, v.lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		v.need = 3
	case c == 0xF4:
		v.need, v.hi = 3, 0x8F
	default:
		v.failed = true
		return false
	}
	return true
}
