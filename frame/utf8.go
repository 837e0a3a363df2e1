package frame

import "encoding/binary"

// UTF8 validates UTF-8 text that arrives in pieces split at arbitrary
// points, as a fragmented text message does (RFC 6455, Section 8.1). It
// fails fast: Write reports false for the piece that holds the first byte
// after which no continuation could make the text valid, not at the end of
// the message. The zero value is ready to use.
type UTF8 struct {
	state uint8 // a state of utf8DFA: utf8Accept, utf8Reject or in a sequence
}

// Reset makes v ready for a new message.
func (v *UTF8) Reset() { *v = UTF8{} }

// Done reports whether everything written so far is complete, valid UTF-8.
func (v *UTF8) Done() bool { return v.state == utf8Accept }

// Write feeds p to the validator. It reports false once the text can no
// longer be valid; the state stays failed until Reset.
func (v *UTF8) Write(p []byte) bool {
	s := uint64(v.state)
	if s == utf8Reject {
		return false
	}
	// stretch is how much text the automaton takes before looking for
	// ASCII again: short after ASCII, so that a stray é in English costs
	// little, and doubling while the text stays multibyte, so that the
	// calls of a long run of Greek or Chinese cost little.
	stretch := utf8MinStretch
	for len(p) > 0 {
		// Between sequences, skip ASCII a word, or a vector, at a time.
		if s == utf8Accept && len(p) >= 8 && binary.LittleEndian.Uint64(p)&0x8080808080808080 == 0 {
			if len(p) >= 32 {
				p = p[asciiPrefix(p):]
			} else {
				p = p[asciiPrefixGeneric(p):]
			}
			stretch = utf8MinStretch
		}
		// Then run the automaton over the next stretch. The reject state
		// is a sink, so checking for it once a stretch is enough to fail
		// on the piece that holds the first impossible byte.
		n := min(len(p), stretch)
		if n >= utf8MinStretch {
			s = utf8Run2(s, p[:n])
		} else {
			for _, c := range p[:n] {
				s = utf8DFA[c] >> (s & 63)
			}
			s &= 63
		}
		p = p[n:]
		if s == utf8Reject {
			break
		}
		stretch = min(2*stretch, utf8MaxStretch)
	}
	v.state = uint8(s)
	return s != utf8Reject
}

// The bounds of the automaton's stretch between looks for ASCII.
const utf8MinStretch, utf8MaxStretch = 64, 1024

// utf8Run2 runs the automaton from state s over p as two interleaved
// streams, the halves of p, so that the two chains of shifts overlap. The
// second half starts where a character does: at most three continuation
// bytes past the middle, or else p holds four in a row and is invalid,
// which the second stream, starting between sequences, finds. The text is
// valid so far if the first half ends between sequences and the second
// is; its state is then the second's.
func utf8Run2(s uint64, p []byte) uint64 {
	mid := len(p) / 2
	for end := mid + 3; mid < end && p[mid]&0xC0 == 0x80; mid++ {
	}
	a, b := p[:mid], p[mid:]
	m := min(len(a), len(b))
	s, t := dfaRun2(s, utf8Accept, a[:m], b[:m])
	for _, c := range a[m:] {
		s = utf8DFA[c] >> (s & 63)
	}
	for _, c := range b[m:] {
		t = utf8DFA[c] >> (t & 63)
	}
	if s&63 != utf8Accept {
		return utf8Reject
	}
	return t & 63
}

// dfaRun2Generic runs the automaton from state sa over a and from sb over
// b[:len(a)], interleaved, and returns both states.
func dfaRun2Generic(sa, sb uint64, a, b []byte) (uint64, uint64) {
	b = b[:len(a)]
	for i := range a {
		sa = utf8DFA[a[i]] >> (sa & 63)
		sb = utf8DFA[b[i]] >> (sb & 63)
	}
	return sa & 63, sb & 63
}

// asciiPrefixGeneric returns how many bytes at the start of p are ASCII,
// rounded down to a multiple of 8 once it reaches a word that is not.
func asciiPrefixGeneric(p []byte) int {
	const hi = 0x8080808080808080
	i := 0
	for ; i+32 <= len(p); i += 32 {
		s := p[i : i+32 : i+32]
		if (binary.LittleEndian.Uint64(s)|binary.LittleEndian.Uint64(s[8:])|
			binary.LittleEndian.Uint64(s[16:])|binary.LittleEndian.Uint64(s[24:]))&hi != 0 {
			break
		}
	}
	for ; i+8 <= len(p); i += 8 {
		if binary.LittleEndian.Uint64(p[i:])&hi != 0 {
			break
		}
	}
	return i
}

// The validator is a shift-based DFA (after Per Vognsen): a state is a bit
// offset, a multiple of 6, and utf8DFA[c] holds, at each state's offset,
// the offset of the state that byte c leads to. One table load, which does
// not depend on the state, and one shift per byte, with no branch.
//
// The states are the ranges of the Unicode standard, Table 3-7: which
// continuation bytes may come next, and how many sequence bytes are left.
const (
	utf8Accept  = 0  // between sequences
	utf8Reject  = 6  // no continuation can make the text valid (a sink)
	utf8Need1   = 12 // one continuation byte, 80..BF, left
	utf8Need2   = 18 // two left, the next 80..BF
	utf8AfterE0 = 24 // two left, the next A0..BF (no overlong forms)
	utf8AfterED = 30 // two left, the next 80..9F (no surrogates)
	utf8AfterF0 = 36 // three left, the next 90..BF (no overlong forms)
	utf8Need3   = 42 // three left, the next 80..BF
	utf8AfterF4 = 48 // three left, the next 80..8F (nothing above U+10FFFF)
)

var utf8DFA = func() (t [256]uint64) {
	// Every byte leads every state to the sink, but for the edges below.
	for c := range t {
		for from := uint64(utf8Accept); from <= utf8AfterF4; from += 6 {
			t[c] |= utf8Reject << from
		}
	}
	set := func(from, to uint64, lo, hi int) {
		for c := lo; c <= hi; c++ {
			t[c] &^= 63 << from
			t[c] |= to << from
		}
	}
	set(utf8Accept, utf8Accept, 0x00, 0x7F)
	set(utf8Accept, utf8Need1, 0xC2, 0xDF)
	set(utf8Accept, utf8AfterE0, 0xE0, 0xE0)
	set(utf8Accept, utf8Need2, 0xE1, 0xEC)
	set(utf8Accept, utf8AfterED, 0xED, 0xED)
	set(utf8Accept, utf8Need2, 0xEE, 0xEF)
	set(utf8Accept, utf8AfterF0, 0xF0, 0xF0)
	set(utf8Accept, utf8Need3, 0xF1, 0xF3)
	set(utf8Accept, utf8AfterF4, 0xF4, 0xF4)
	set(utf8Need1, utf8Accept, 0x80, 0xBF)
	set(utf8Need2, utf8Need1, 0x80, 0xBF)
	set(utf8AfterE0, utf8Need1, 0xA0, 0xBF)
	set(utf8AfterED, utf8Need1, 0x80, 0x9F)
	set(utf8AfterF0, utf8Need2, 0x90, 0xBF)
	set(utf8Need3, utf8Need2, 0x80, 0xBF)
	set(utf8AfterF4, utf8Need2, 0x80, 0x8F)
	return t
}()
