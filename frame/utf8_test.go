package frame

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// Building blocks for generated text.
var (
	validPieces = []string{
		"a", "\x00", "\x7f", "hello",
		"\u0080", "é", "\u07ff", // 2 bytes: C2 80, C3 A9, DF BF
		"\u0800", "€", "\ud7ff", "\ue000", "\ufffd", "\uffff", // 3 bytes: E0 A0 80 ... EF BF BF
		"\U00010000", "😀", "\U000fffff", "\U00100000", "\U0010ffff", // 4 bytes: F0 90 80 80 ... F4 8F BF BF
		"κόσμε",
	}
	invalidPieces = []string{
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0", // surrogates
		"\xc0\x80", "\xc1\xbf", "\xc0", "\xc1", // overlong 2-byte
		"\xe0\x80\x80", "\xe0\x9f\xbf", "\xe0\x80", // overlong 3-byte
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf0\x8f", // overlong 4-byte
		"\xf4\x90\x80\x80", "\xf4\x90", "\xf4\xbf\xbf\xbf", // above U+10FFFF
		"\xf5\x80\x80\x80", "\xf5", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc", "\xfe", "\xff", // never in UTF-8
		"\x80", "\xbf", "\x80\x80", "\xc3\xa9\xa9", // stray continuation bytes
		"\xc3a", "\xe2\x82a", "\xf0\x9f\x98a", // sequence cut short by ASCII
		"\xc3\xc3\xa9", "\xe2\xe2\x82\xac", // sequence cut short by a lead byte
	}
	truncatedPieces = []string{
		"\xc3", "\xe2", "\xe2\x82", "\xf0", "\xf0\x9f", "\xf0\x9f\x98", "\xf4\x8f\xbf", "\xed\x9f", "\xe0\xa0",
	}
)

// genString returns text built from pieces, sometimes with an invalid or a
// truncated one, or random bytes.
func genString(rng *rand.Rand, maxPieces int) string {
	switch rng.IntN(8) {
	case 0: // random bytes
		b := make([]byte, rng.IntN(4*maxPieces))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	case 1: // random bytes from the interesting high half
		b := make([]byte, rng.IntN(4*maxPieces))
		for i := range b {
			b[i] = 0x80 + byte(rng.IntN(0x80))
		}
		return string(b)
	}
	var sb strings.Builder
	n := 1 + rng.IntN(maxPieces)
	for i := 0; i < n; i++ {
		switch r := rng.IntN(10); {
		case r < 7:
			sb.WriteString(validPieces[rng.IntN(len(validPieces))])
		case r < 9:
			sb.WriteString(invalidPieces[rng.IntN(len(invalidPieces))])
		default:
			sb.WriteString(truncatedPieces[rng.IntN(len(truncatedPieces))])
		}
	}
	return sb.String()
}

// feed writes the pieces in order. It returns the index of the first piece
// for which Write returned false (-1 if none) and Done. It fails t if Write
// returns true again after a false.
func feed(t *testing.T, pieces []string) (failedAt int, done bool) {
	t.Helper()
	var v UTF8
	failedAt = -1
	for i, p := range pieces {
		ok := v.Write([]byte(p))
		if failedAt >= 0 && ok {
			t.Fatalf("%q: Write(piece %d) = true after piece %d failed", pieces, i, failedAt)
		}
		if !ok && failedAt < 0 {
			failedAt = i
		}
	}
	done = v.Done()
	if failedAt >= 0 && done {
		t.Fatalf("%q: Done() = true after a failed Write", pieces)
	}
	return failedAt, done
}

// split cuts s at the given increasing offsets.
func split(s string, at ...int) []string {
	pieces := make([]string, 0, len(at)+1)
	prev := 0
	for _, a := range at {
		pieces = append(pieces, s[prev:a])
		prev = a
	}
	return append(pieces, s[prev:])
}

func bytesOf(s string) []string {
	pieces := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		pieces[i] = s[i : i+1]
	}
	return pieces
}

func randomSplit(rng *rand.Rand, s string) []string {
	var pieces []string
	for len(s) > 0 {
		n := rng.IntN(min(len(s), 9) + 1) // empty pieces included
		pieces = append(pieces, s[:n])
		s = s[n:]
	}
	return append(pieces, "")
}

// checkDiff feeds s in many splits and compares Done with utf8.Valid.
func checkDiff(t *testing.T, rng *rand.Rand, s string) {
	t.Helper()
	want := utf8.ValidString(s)
	check := func(how string, pieces []string) {
		t.Helper()
		if _, done := feed(t, pieces); done != want {
			t.Fatalf("%q fed %s: Done() = %v, utf8.Valid = %v", s, how, done, want)
		}
	}
	check("whole", []string{s})
	check("byte by byte", bytesOf(s))
	if len(s) <= 64 {
		for i := 0; i <= len(s); i++ {
			check(fmt.Sprintf("split at %d", i), split(s, i))
		}
	}
	if len(s) <= 16 {
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				check(fmt.Sprintf("split at %d, %d", i, j), split(s, i, j))
			}
		}
	}
	for trial := 0; trial < 10; trial++ {
		check("randomly", randomSplit(rng, s))
	}
}

func TestUTF8Differential(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	var corpus []string
	corpus = append(corpus, "")
	corpus = append(corpus, validPieces...)
	corpus = append(corpus, invalidPieces...)
	corpus = append(corpus, truncatedPieces...)
	for i := 0; i < 3000; i++ {
		corpus = append(corpus, genString(rng, 6))
	}
	// Long text, valid and with a flaw somewhere, for the bulk path.
	for i := 0; i < 60; i++ {
		corpus = append(corpus, genString(rng, 400))
		var sb strings.Builder
		for sb.Len() < 2000 {
			sb.WriteString(validPieces[rng.IntN(len(validPieces))])
		}
		s := sb.String()
		corpus = append(corpus, s)
		at := rng.IntN(len(s))
		corpus = append(corpus, s[:at]+invalidPieces[rng.IntN(len(invalidPieces))]+s[at:])
		corpus = append(corpus, s[:at]) // may end inside a rune
	}
	for _, s := range corpus {
		checkDiff(t, rng, s)
	}
}

// TestUTF8Exhaustive compares with utf8.Valid, and checks fail-fast, on
// every string of up to two bytes and every three-byte string over the
// boundary values of Table 3-7 of the Unicode standard.
func TestUTF8Exhaustive(t *testing.T) {
	t.Parallel()
	boundary := []byte{0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
		0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	check := func(s string) {
		want := utf8.ValidString(s)
		k := firstDeadByteFast(s)
		if _, done := feed(t, []string{s}); done != want {
			t.Fatalf("% x: Done() = %v, want %v", s, done, want)
		}
		failedAt, done := feed(t, bytesOf(s))
		if done != want || failedAt != k {
			t.Fatalf("% x byte by byte: Write false at %d, Done %v; want false at %d, Done %v", s, failedAt, done, k, want)
		}
	}
	for a := 0; a < 256; a++ {
		check(string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	for _, a := range boundary {
		for _, b := range boundary {
			for _, c := range boundary {
				check(string([]byte{a, b, c}))
			}
		}
	}
}

// TestUTF8LongPieces aims at the bulk path, which runs the automaton over
// each 64-byte stretch as two halves at once: texts of up to a few
// stretches, valid or with one flaw (invalid, truncated or a stray
// continuation byte) at every position, so that flaws fall on and around
// every split point, written in two pieces split at a random point. Write
// must fail on the piece that holds the first dead byte (the decoder's
// oracle) and Done must agree with utf8.Valid.
func TestUTF8LongPieces(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	flaws := append(append([]string{"\x80", "\xbf\xbf\xbf\xbf"}, invalidPieces...), truncatedPieces...)
	for trial := 0; trial < 12; trial++ {
		var sb strings.Builder
		for sb.Len() < 64+rng.IntN(200) {
			sb.WriteString(validPieces[rng.IntN(len(validPieces))])
		}
		base := sb.String()
		texts := []string{base}
		for at := 0; at <= len(base); at++ {
			if !utf8.RuneStart(base[min(at, len(base)-1)]) && at < len(base) {
				continue
			}
			texts = append(texts, base[:at]+flaws[rng.IntN(len(flaws))]+base[at:])
		}
		for _, s := range texts {
			k := firstDeadByteFast(s)
			cut := rng.IntN(len(s) + 1)
			pieces := split(s, cut)
			want := -1
			if k >= 0 {
				want = pieceOf(pieces, k)
			}
			failedAt, done := feed(t, pieces)
			if failedAt != want || done != utf8.ValidString(s) {
				t.Fatalf("%q split at %d: Write false at piece %d, Done %v; want %d, %v", s, cut, failedAt, done, want, utf8.ValidString(s))
			}
		}
	}
	// The interleaved automaton agrees with the plain one on any bytes.
	for trial := 0; trial < 2000; trial++ {
		n := rng.IntN(80)
		a, b := make([]byte, n), make([]byte, n)
		for i := range a {
			a[i], b[i] = byte(rng.Uint32()), 0x80+byte(rng.IntN(0x80))
			if rng.IntN(2) == 0 {
				a[i] &= 0x7F
			}
		}
		for _, sa := range []uint64{utf8Accept, utf8Need1, utf8Need3, utf8AfterED} {
			for _, sb := range []uint64{utf8Accept, utf8AfterF0, utf8Reject} {
				wa, wb := sa, sb
				for i := range a {
					wa = utf8DFA[a[i]] >> (wa & 63)
					wb = utf8DFA[b[i]] >> (wb & 63)
				}
				ga, gb := dfaRun2(sa, sb, a, b)
				if ga != wa&63 || gb != wb&63 {
					t.Fatalf("dfaRun2(%d, %d, % x, % x) = %d, %d; want %d, %d", sa, sb, a, b, ga, gb, wa&63, wb&63)
				}
			}
		}
	}
}

// TestASCIIPrefix checks every way of skipping ASCII (the word loop, and
// SSE2 and AVX2 on amd64) with one non-ASCII byte at every position of
// texts up to past the vector loops' sizes, at every alignment: the result
// must be a multiple of 8 or the whole text, at most the position of that
// byte and less than 8 before it.
func TestASCIIPrefix(t *testing.T) {
	t.Parallel()
	impls := asciiPrefixImpls()
	if len(impls) < 3 && runtime.GOARCH == "amd64" && !purego {
		t.Fatalf("only %d ASCII loops on amd64", len(impls))
	}
	backing := make([]byte, 32+400)
	for name, impl := range impls {
		for off := 0; off < 32; off += 3 {
			for n := 0; n <= 400-off; n += 1 + n/50 {
				p := backing[off : off+n]
				for i := range p {
					p[i] = byte('a' + i%26)
				}
				if got := impl(p); got != n && (got%8 != 0 || got > n || n-got >= 8) {
					t.Fatalf("%s: all-ASCII %d bytes at offset %d: %d", name, n, off, got)
				}
				for bad := 0; bad < n; bad++ {
					p[bad] = 0x80 | byte(bad)
					if got := impl(p); got > bad || bad-got >= 8 || got%8 != 0 {
						t.Fatalf("%s: %d bytes at offset %d, byte %d not ASCII: %d", name, n, off, bad, got)
					}
					p[bad] = 'x'
				}
			}
		}
	}
}

// Continuation bytes in the order the oracle tries them: 0x80 and 0xA0
// first, as between them they satisfy every lead byte's first range, so a
// prefix that can be completed is found to be so quickly.
var contOrder = func() []byte {
	o := []byte{0x80, 0xA0}
	for c := 0x81; c <= 0xBF; c++ {
		if c != 0xA0 {
			o = append(o, byte(c))
		}
	}
	return o
}()

// completable is the brute-force oracle: p is a prefix of some valid UTF-8
// text iff it is valid, or some completion of one to three continuation
// bytes (every one of 0x80..0xBF tried) makes it valid.
func completable(p string) bool {
	if utf8.ValidString(p) {
		return true
	}
	buf := make([]byte, len(p)+3)
	copy(buf, p)
	var try func(i, end int) bool
	try = func(i, end int) bool {
		if i == end {
			return utf8.Valid(buf[:end])
		}
		for _, c := range contOrder {
			buf[i] = c
			if try(i+1, end) {
				return true
			}
		}
		return false
	}
	for l := 1; l <= 3; l++ {
		if try(len(p), len(p)+l) {
			return true
		}
	}
	return false
}

// firstDeadByte returns the first k such that s[:k+1] cannot be completed
// to valid UTF-8, or -1.
func firstDeadByte(s string) int {
	for k := 0; k < len(s); k++ {
		if !completable(s[:k+1]) {
			return k
		}
	}
	return -1
}

// firstDeadByteFast is firstDeadByte derived from the decoder instead of
// by search: a prefix is alive while every error the decoder reports is
// the incomplete rune at its very end (utf8.FullRune false).
func firstDeadByteFast(s string) int {
	alive := func(p string) bool {
		for i := 0; i < len(p); {
			r, size := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && size == 1 {
				return !utf8.FullRuneInString(p[i:])
			}
			i += size
		}
		return true
	}
	for k := 0; k < len(s); k++ {
		if !alive(s[:k+1]) {
			return k
		}
	}
	return -1
}

func pieceOf(pieces []string, k int) int {
	off := 0
	for i, p := range pieces {
		if k >= off && k < off+len(p) {
			return i
		}
		off += len(p)
	}
	return -1
}

// TestUTF8FailFast feeds text a byte at a time, and in random pieces, and
// expects Write to report false exactly for the byte (the piece) after
// which the text can no longer be valid, as the brute-force oracle finds it.
func TestUTF8FailFast(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	var corpus []string
	for _, p := range invalidPieces {
		corpus = append(corpus, p, "é"+p+"€")
	}
	for _, p := range truncatedPieces {
		corpus = append(corpus, p, "a"+p+"b")
	}
	// The brute-force oracle takes a few milliseconds per invalid string
	// (ten times that under -race), so the random part stays small; the
	// decoder oracle below and TestUTF8Exhaustive cover more ground.
	n := len(corpus) + 30
	if testing.Short() {
		n = len(corpus)
	}
	for len(corpus) < n {
		if s := genString(rng, 4); len(s) <= 14 {
			corpus = append(corpus, s)
		}
	}
	for _, s := range corpus {
		k := firstDeadByte(s)
		if fast := firstDeadByteFast(s); fast != k {
			t.Fatalf("% x: oracles disagree: brute force %d, decoder %d", s, k, fast)
		}
		if (k < 0) != completable(s) {
			t.Fatalf("% x: oracle inconsistent", s)
		}
		failedAt, _ := feed(t, bytesOf(s))
		if failedAt != k {
			t.Fatalf("% x byte by byte: Write false at byte %d, want %d", s, failedAt, k)
		}
		for trial := 0; trial < 10; trial++ {
			pieces := randomSplit(rng, s)
			want := -1
			if k >= 0 {
				want = pieceOf(pieces, k)
			}
			if failedAt, _ := feed(t, pieces); failedAt != want {
				t.Fatalf("% x in pieces %q: Write false at piece %d, want %d", s, pieces, failedAt, want)
			}
		}
	}
	// Longer text, with the decoder oracle.
	for i := 0; i < 300; i++ {
		s := genString(rng, 60)
		k := firstDeadByteFast(s)
		if failedAt, _ := feed(t, bytesOf(s)); failedAt != k {
			t.Fatalf("% x byte by byte: Write false at byte %d, want %d", s, failedAt, k)
		}
		for trial := 0; trial < 5; trial++ {
			pieces := randomSplit(rng, s)
			want := -1
			if k >= 0 {
				want = pieceOf(pieces, k)
			}
			if failedAt, _ := feed(t, pieces); failedAt != want {
				t.Fatalf("% x in pieces %q: Write false at piece %d, want %d", s, pieces, failedAt, want)
			}
		}
	}
}

// TestUTF8Autobahn follows the fragmented cases of the Autobahn test suite,
// sections 6.2-6.4: the message fails on the fragment that holds the first
// impossible byte.
func TestUTF8Autobahn(t *testing.T) {
	t.Parallel()
	const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" // κόσμε
	tests := []struct {
		name     string
		pieces   []string
		failedAt int // -1: valid
		done     bool
	}{
		{"6.2.1 whole", []string{kosme}, -1, true},
		{"6.2.2 split per rune", []string{"\xce\xba", "\xe1\xbd\xb9", "\xcf\x83", "\xce\xbc", "\xce\xb5"}, -1, true},
		{"6.2.3 split inside runes", []string{"\xce", "\xba\xe1", "\xbd", "\xb9\xcf\x83\xce", "\xbc\xce\xb5"}, -1, true},
		{"6.2.4 byte by byte", bytesOf(kosme), -1, true},
		{"6.3.1 surrogate, whole", []string{kosme + "\xed\xa0\x80edited"}, 0, false},
		{"6.3.2 surrogate, lead in first fragment", []string{kosme + "\xed", "\xa0\x80edited"}, 1, false},
		{"6.3.2 surrogate, own fragment", []string{kosme, "\xed\xa0\x80", "edited"}, 1, false},
		{"6.3.2 surrogate, byte by byte", bytesOf(kosme + "\xed\xa0\x80edited"), len(kosme) + 1, false},
		{"6.4.1 F4 90 80 80 in its own fragment", []string{kosme, "\xf4\x90\x80\x80", "edited"}, 1, false},
		{"6.4.2 F4 ends the first fragment", []string{kosme + "\xf4", "\x90", "\x80\x80edited"}, 1, false},
		{"6.4.3 F4 90 ends the first fragment", []string{kosme + "\xf4\x90", "\x80\x80", "edited"}, 0, false},
		{"6.4.4 byte by byte", bytesOf(kosme + "\xf4\x90\x80\x80edited"), len(kosme) + 1, false},
		{"truncated at the end", []string{kosme, "\xf0\x9f\x98"}, -1, false},
		{"completed in the next message fragment", []string{kosme, "\xf0\x9f", "\x98\x80"}, -1, true},
	}
	for _, tt := range tests {
		failedAt, done := feed(t, tt.pieces)
		if failedAt != tt.failedAt || done != tt.done {
			t.Errorf("%s: Write false at fragment %d, Done %v; want %d, %v", tt.name, failedAt, done, tt.failedAt, tt.done)
		}
	}
}

func TestUTF8ZeroAndReset(t *testing.T) {
	t.Parallel()
	var v UTF8
	if !v.Done() {
		t.Fatal("zero value: Done() = false")
	}
	if !v.Write(nil) || !v.Done() {
		t.Fatal("Write(nil) on the zero value")
	}
	// Open sequence: not done, and an empty write keeps it open.
	if !v.Write([]byte("\xe2\x82")) || v.Done() {
		t.Fatal("open sequence reported done")
	}
	if !v.Write(nil) || v.Done() {
		t.Fatal("Write(nil) changed an open sequence")
	}
	v.Reset()
	if !v.Done() {
		t.Fatal("Reset did not clear an open sequence")
	}
	// Failure is sticky until Reset.
	if v.Write([]byte("\xff")) {
		t.Fatal("Write(ff) = true")
	}
	for _, p := range []string{"", "a", "\xac"} {
		if v.Write([]byte(p)) || v.Done() {
			t.Fatalf("Write(%q) after failure = true or Done", p)
		}
	}
	v.Reset()
	if !v.Write([]byte("€")) || !v.Done() {
		t.Fatal("Reset did not clear a failure")
	}
	// A rune split over an open sequence and a Reset does not complete.
	v.Reset()
	v.Write([]byte("\xe2"))
	v.Reset()
	if v.Write([]byte("\x82\xac")) {
		t.Fatal("continuation bytes after Reset were accepted")
	}
}

// utf8BenchInputs are ASCII text and text of mixed 1-, 2-, 3- and 4-byte
// runes, of each of benchSizes (the multibyte text cut back to a whole
// rune).
func utf8BenchInputs() []struct {
	name string
	data []byte
} {
	var in []struct {
		name string
		data []byte
	}
	for _, s := range benchSizes {
		multi := strings.Repeat("κόσμε € 😀 é ", s.n/20+1)[:s.n]
		for !utf8.ValidString(multi) {
			multi = multi[:len(multi)-1]
		}
		in = append(in,
			struct {
				name string
				data []byte
			}{"ascii/" + s.name, []byte(strings.Repeat("hello, world! ", s.n/14+1)[:s.n])},
			struct {
				name string
				data []byte
			}{"multibyte/" + s.name, []byte(multi)})
	}
	return in
}

func BenchmarkUTF8(b *testing.B) {
	for _, in := range utf8BenchInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			var v UTF8
			for b.Loop() {
				v.Reset()
				if !v.Write(in.data) || !v.Done() {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkUTF8Std is the baseline for BenchmarkUTF8: utf8.Valid on the
// same inputs.
func BenchmarkUTF8Std(b *testing.B) {
	for _, in := range utf8BenchInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if !utf8.Valid(in.data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
