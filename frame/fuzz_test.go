package frame_test

// Fuzz targets for the frame codec. Run one with
//
//	go test -run '^$' -fuzz '^FuzzHeader$' -fuzztime 30s ./frame
//
// or all of them with fuzz/run.sh. The seeds below cover RFC 6455, Section
// 5.7, every header shape and the malformed inputs of the Autobahn
// categories; a few more live in testdata/fuzz/<FuzzName>.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hybi-go/hybi/frame"
)

// rfcFrames are the examples of RFC 6455, Section 5.7, plus a frame of
// every header shape: 7-, 16- and 64-bit lengths, masked and not, every
// opcode (reserved ones included), RSV bits and a cleared FIN.
func rfcFrames() [][]byte {
	fs := [][]byte{
		// A single-frame unmasked text message ("Hello").
		{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		// A single-frame masked text message ("Hello").
		{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		// A fragmented unmasked text message ("Hel", "lo").
		{0x01, 0x03, 0x48, 0x65, 0x6c},
		{0x80, 0x02, 0x6c, 0x6f},
		// Unmasked ping and masked pong, both "Hello".
		{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		// 256 bytes of binary data in a single unmasked message.
		append([]byte{0x82, 0x7E, 0x01, 0x00}, make([]byte, 256)...),
		// 64 KiB of binary data in a single unmasked message (header only).
		{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00},
	}
	for _, op := range []byte{0x0, 0x1, 0x2, 0x3, 0x7, 0x8, 0x9, 0xA, 0xB, 0xF} {
		fs = append(fs, []byte{0x80 | op, 0x00})
	}
	for _, b0 := range []byte{0xC1, 0xA1, 0x91, 0xF1, 0x09, 0x08} { // RSV1-3, all RSV, fragmented ping/close
		fs = append(fs, []byte{b0, 0x80, 1, 2, 3, 4})
	}
	for _, n := range []int64{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1<<63 - 1} {
		for _, masked := range []bool{false, true} {
			h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: masked, Mask: [4]byte{0xde, 0xad, 0xbe, 0xef}, Length: n}
			fs = append(fs, frame.AppendHeader(nil, h))
		}
	}
	// Non-minimal length encodings, a length with the top bit set, a
	// control frame with a 126-byte payload, truncated headers.
	fs = append(fs,
		[]byte{0x82, 0x7E, 0x00, 0x05},
		[]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x00, 0x05},
		[]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4},
		[]byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0x89, 0x7E, 0x00, 0x7E},
		[]byte{0x81},
		[]byte{0x81, 0xFE, 0x01},
		[]byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2},
	)
	return fs
}

// FuzzHeader checks the header codec both ways.
//
// From the fields (fin ... length): ParseHeader(AppendHeader(h)) gives h
// back, consumes Size() bytes, and every proper prefix of the encoding is
// io.ErrUnexpectedEOF; ReadHeader agrees.
//
// From the bytes (data): ParseHeader either rejects them (io.ErrUnexpectedEOF
// when the header is cut short, ErrLengthOverflow when the 64-bit length has
// its top bit set) or decodes a header whose re-encoding equals the bytes it
// consumed. ParseHeader accepts non-minimal length encodings (a 16-bit field
// holding 0-125, a 64-bit one holding 0-65535) on purpose; AppendHeader
// always writes the minimal form, so for those the bytes differ and the
// check compares the decoded fields of the re-encoding instead, and checks
// that the consumed size is the non-minimal one.
func FuzzHeader(f *testing.F) {
	for _, b := range rfcFrames() {
		f.Add(b, false, uint16(0), uint16(0), false, uint32(0), int64(0))
	}
	f.Add([]byte{}, true, uint16(0x70), uint16(0x1), true, uint32(0x37fa213d), int64(5))
	f.Add([]byte{}, true, uint16(0), uint16(0x2), false, uint32(0), int64(126))
	f.Add([]byte{}, false, uint16(0x40), uint16(0x0), true, uint32(1), int64(0xFFFF))
	f.Add([]byte{}, true, uint16(0), uint16(0x2), true, uint32(7), int64(0x10000))
	f.Add([]byte{}, true, uint16(0), uint16(0xB), false, uint32(0), int64(1<<63-1))
	f.Add([]byte{}, true, uint16(0), uint16(0x8), false, uint32(0), int64(-1))

	f.Fuzz(func(t *testing.T, data []byte, fin bool, rsv, op uint16, masked bool, key uint32, length int64) {
		// From fields.
		h := frame.Header{
			Fin:    fin,
			RSV:    frame.RSV(rsv) & (frame.RSV1 | frame.RSV2 | frame.RSV3),
			Opcode: frame.Opcode(op & 0xF),
			Masked: masked,
			Length: length,
		}
		if masked {
			binary.BigEndian.PutUint32(h.Mask[:], key)
		}
		enc := frame.AppendHeader([]byte("prefix"), h)
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatalf("AppendHeader changed the bytes before it: %x", enc)
		}
		enc = enc[len("prefix"):]
		if len(enc) != h.Size() || len(enc) > frame.MaxHeaderSize {
			t.Fatalf("AppendHeader(%+v) = %d bytes, Size() = %d", h, len(enc), h.Size())
		}
		want := h
		if want.Length < 0 {
			want.Length = 0 // documented: a negative Length is encoded as 0
		}
		got, n, err := frame.ParseHeader(enc)
		if err != nil || n != len(enc) || got != want {
			t.Fatalf("ParseHeader(AppendHeader(%+v)) = %+v, %d, %v; encoding %x", h, got, n, err, enc)
		}
		for i := range enc {
			if _, _, err := frame.ParseHeader(enc[:i]); err != io.ErrUnexpectedEOF {
				t.Fatalf("ParseHeader(%x), a prefix of %x: err = %v, want io.ErrUnexpectedEOF", enc[:i], enc, err)
			}
		}
		var buf [frame.MaxHeaderSize]byte
		if got, err := frame.ReadHeader(bytes.NewReader(enc), &buf); err != nil || got != want {
			t.Fatalf("ReadHeader(%x) = %+v, %v; want %+v", enc, got, err, want)
		}

		// From bytes.
		checkParsedBytes(t, data)
	})
}

func checkParsedBytes(t *testing.T, data []byte) {
	h, n, err := frame.ParseHeader(data)
	var buf [frame.MaxHeaderSize]byte
	rh, rerr := frame.ReadHeader(bytes.NewReader(data), &buf)
	if err != nil {
		switch {
		case err == io.ErrUnexpectedEOF:
			if len(data) >= 2 && len(data) >= headerSize(data) {
				t.Fatalf("ParseHeader(%x): io.ErrUnexpectedEOF with a whole %d-byte header", data, headerSize(data))
			}
			want := io.ErrUnexpectedEOF
			if len(data) == 0 {
				want = io.EOF
			}
			if rerr != want {
				t.Fatalf("ReadHeader(%x): err = %v, want %v", data, rerr, want)
			}
		case err == frame.ErrLengthOverflow:
			if data[1]&0x7F != 127 || data[2]&0x80 == 0 {
				t.Fatalf("ParseHeader(%x): ErrLengthOverflow for a length that does not overflow", data)
			}
			if len(data) >= headerSize(data) && rerr != frame.ErrLengthOverflow {
				t.Fatalf("ReadHeader(%x): err = %v, want ErrLengthOverflow", data, rerr)
			}
		default:
			t.Fatalf("ParseHeader(%x): unexpected error %v", data, err)
		}
		var pe *frame.ProtocolError
		if err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
			t.Fatalf("ParseHeader(%x): error %v is neither io.ErrUnexpectedEOF nor a *ProtocolError", data, err)
		}
		return
	}
	if n != headerSize(data) || n > len(data) || n > frame.MaxHeaderSize {
		t.Fatalf("ParseHeader(%x) consumed %d bytes, want %d", data, n, headerSize(data))
	}
	if h.Length < 0 {
		t.Fatalf("ParseHeader(%x): negative length %d", data, h.Length)
	}
	if rerr != nil || rh != h {
		t.Fatalf("ReadHeader(%x) = %+v, %v; ParseHeader gave %+v", data, rh, rerr, h)
	}
	re := frame.AppendHeader(nil, h)
	if minimal(data) {
		if !bytes.Equal(re, data[:n]) {
			t.Fatalf("AppendHeader(ParseHeader(%x)) = %x, want the consumed bytes", data[:n], re)
		}
	} else {
		// A non-minimal length: the bytes cannot match, the fields must.
		if len(re) >= n {
			t.Fatalf("non-minimal %x re-encoded to %x, which is not shorter", data[:n], re)
		}
		h2, n2, err := frame.ParseHeader(re)
		if err != nil || n2 != len(re) || h2 != h {
			t.Fatalf("ParseHeader(%x) = %+v, %d, %v; want %+v (from non-minimal %x)", re, h2, n2, err, h, data[:n])
		}
	}
	// Check must not panic and must give nil or a *ProtocolError with a
	// close code of 1002.
	for _, role := range []frame.Role{frame.RoleServer, frame.RoleClient} {
		for _, allowed := range []frame.RSV{0, frame.RSV1, frame.RSV1 | frame.RSV2 | frame.RSV3} {
			err := frame.Check(h, role, allowed)
			var pe *frame.ProtocolError
			if err != nil && (!errors.As(err, &pe) || pe.Code != frame.StatusProtocolError) {
				t.Fatalf("Check(%+v): %v is not a 1002 *ProtocolError", h, err)
			}
			if err == nil && (h.Opcode.IsReserved() || h.RSV&^allowed != 0 ||
				h.Opcode.IsControl() && (!h.Fin || h.Length > frame.MaxControlPayload) ||
				h.Masked != (role == frame.RoleServer)) {
				t.Fatalf("Check(%+v, role %d, allowed %#x) accepted an illegal header", h, role, allowed)
			}
		}
	}
}

// headerSize is the size of the header that starts data, computed from the
// first two bytes as RFC 6455, Section 5.2 draws it; data has at least 2
// bytes, or the result is 2.
func headerSize(data []byte) int {
	if len(data) < 2 {
		return 2
	}
	n := 2
	switch data[1] & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if data[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// minimal reports whether the length of the (whole, valid) header at the
// start of data is written in the fewest bytes.
func minimal(data []byte) bool {
	switch data[1] & 0x7F {
	case 126:
		return binary.BigEndian.Uint16(data[2:]) > 125
	case 127:
		return binary.BigEndian.Uint64(data[2:]) > 0xFFFF
	}
	return true
}

// invalidUTF8 are the sequences of the Autobahn 6.x cases and the Unicode
// standard's examples of ill-formed UTF-8.
var invalidUTF8 = []string{
	"\xed\xa0\x80",                 // a surrogate half (U+D800)
	"\xed\xbf\xbf",                 // U+DFFF
	"\xf4\x90\x80\x80",             // above U+10FFFF
	"\xc0\xaf",                     // an overlong '/'
	"\xe0\x80\xaf",                 // an overlong '/', 3 bytes
	"\xf0\x80\x80\xaf",             // an overlong '/', 4 bytes
	"\xc1\xbf",                     // an overlong U+007F
	"\xf8\x88\x80\x80\x80",         // a 5-byte sequence
	"\xfe", "\xff", "\x80", "\xbf", // bytes that never appear
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", // Autobahn 6.3.1
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80",                     // Autobahn 6.4.1
	"\xe2\x82", // cut short
}

var validUTF8 = []string{
	"", "Hello-µ@ßöäüàá-UTF-8!!", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
	"\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
	"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf3\xbf\xbf\xbf",
}

// validPrefix reports whether some continuation could make p valid UTF-8,
// by trying the few completions that matter: after the first byte of a
// sequence every range of the Unicode standard, Table 3-7, contains 0x80
// or 0xBF, and later bytes may always be 0x80. It is independent of
// frame.UTF8.
func validPrefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	q := make([]byte, len(p), len(p)+3)
	copy(q, p)
	for _, c := range []byte{0x80, 0xBF} {
		r := append(q, c)
		for k := 0; k < 3; k++ {
			if utf8.Valid(r) {
				return true
			}
			r = append(r, 0x80)
		}
	}
	return false
}

// FuzzUTF8 checks the incremental validator against unicode/utf8 with the
// input split at the points cuts chooses: after every piece Write must
// report true exactly when the text so far can still become valid (fail
// fast, and never fail early), Done exactly when it is valid, and a
// failure must stick until Reset.
func FuzzUTF8(f *testing.F) {
	for _, s := range invalidUTF8 {
		f.Add([]byte(s), []byte{})
		f.Add([]byte("ok"+s+"ok"), []byte{1, 1, 1})
		f.Add([]byte(s), []byte{1, 1, 1, 1})
	}
	for _, s := range validUTF8 {
		f.Add([]byte(s), []byte{})
		f.Add([]byte(s), []byte{1, 2, 1})
	}
	// Long enough for the ASCII skip and the automaton's two streams.
	long := strings.Repeat("κόσμε € 😀 é ", 12)
	f.Add([]byte(long), []byte{})
	f.Add([]byte(long[:97]+"\xed\xa0\x80"+long), []byte{70, 0, 90})
	f.Add([]byte(strings.Repeat("hello, world! ", 20)+"\xf4\x90"), []byte{255})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var v frame.UTF8
		if !v.Done() {
			t.Fatal("zero UTF8 is not Done")
		}
		end, failed := 0, false
		// done is a prefix of data known to be complete, valid UTF-8, so
		// that each check looks only at what came after it: validity splits
		// at character boundaries.
		done := 0
		for i := 0; end < len(data) || i == 0; i++ {
			step := len(data) - end
			if i < len(cuts) && i < 64 {
				step = min(step, int(cuts[i]))
			}
			piece := data[end : end+step]
			end += step
			ok := v.Write(piece)
			if failed {
				if ok {
					t.Fatalf("%q split by %v: Write(%q) = true after a failure", data, cuts, piece)
				}
				continue
			}
			want := validPrefix(data[done:end])
			if want {
				for j := end; j >= done && j >= end-3; j-- {
					if utf8.Valid(data[done:j]) {
						done = j
						break
					}
				}
			}
			if ok != want {
				t.Fatalf("%q split by %v: Write(%q) = %v after %q; want %v", data, cuts, piece, ok, data[:end-step], want)
			}
			if got, want := v.Done(), ok && done == end; got != want {
				t.Fatalf("%q split by %v: Done() = %v after %q; want %v", data, cuts, got, data[:end], want)
			}
			failed = !ok
		}
		if v.Done() != utf8.Valid(data) {
			t.Fatalf("%q split by %v: Done() = %v, utf8.Valid = %v", data, cuts, v.Done(), utf8.Valid(data))
		}
		v.Reset()
		if ok := v.Write(data); ok != validPrefix(data) || v.Done() != utf8.Valid(data) {
			t.Fatalf("%q after Reset: Write = %v, Done = %v", data, ok, v.Done())
		}
	})
}

// FuzzMask checks Mask against a byte-by-byte reference (RFC 6455, Section
// 5.3: octet i is XORed with key[i mod 4]) for any length, starting offset
// and key; that masking in pieces equals masking at once; that it touches
// nothing outside the slice; and that masking twice restores the data.
func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x37fa213d), 0, []byte{})
	f.Add(make([]byte, 200), uint32(0xdeadbeef), 3, []byte{1, 7, 8, 63, 64, 65})
	f.Add(make([]byte, 129), uint32(1), -1, []byte{64, 0, 8})
	// Long enough for the vector loops and the alignment of long payloads.
	f.Add(bytes.Repeat([]byte("masked payload "), 70), uint32(0x01020304), 5, []byte{3, 255, 7, 200})
	large := int64(1<<62 + 2) // a variable: truncated, not rejected, where int is 32 bits
	f.Add([]byte{}, uint32(0), int(large), []byte{})
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos int, cuts []byte) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], k)
		phase := int(uint(pos) % 4) // pos mod 4, also for a negative pos
		want := make([]byte, len(data))
		for i := range data {
			want[i] = data[i] ^ key[(phase+i%4)%4]
		}
		wantPos := (phase + len(data)%4) % 4

		// One shot, with guard bytes around the slice.
		buf := make([]byte, len(data)+16)
		for i := range buf {
			buf[i] = 0xA5
		}
		b := buf[8 : 8+len(data) : 8+len(data)]
		copy(b, data)
		if got := frame.Mask(key, pos, b); got != wantPos {
			t.Fatalf("Mask(%x, %d, %d bytes) returned %d, want %d", key, pos, len(data), got, wantPos)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("Mask(%x, %d, %x) = %x, want %x", key, pos, data, b, want)
		}
		for i, c := range buf {
			if (i < 8 || i >= 8+len(data)) && c != 0xA5 {
				t.Fatalf("Mask wrote outside its slice at %d", i-8)
			}
		}
		if frame.Mask(key, pos, b); !bytes.Equal(b, data) {
			t.Fatalf("masking twice did not restore %x: %x", data, b)
		}

		// In pieces.
		c := bytes.Clone(data)
		p, off := pos, 0
		for i := 0; off < len(c); i++ {
			step := len(c) - off
			if i < len(cuts) {
				step = min(step, int(cuts[i]))
			}
			p = frame.Mask(key, p, c[off:off+step])
			off += step
		}
		if !bytes.Equal(c, want) {
			t.Fatalf("Mask(%x, %d, %x) in pieces %v = %x, want %x", key, pos, data, cuts, c, want)
		}
		if len(data) > 0 && p != wantPos {
			t.Fatalf("Mask in pieces ended at offset %d, want %d", p, wantPos)
		}
	})
}

// FuzzClose checks the close payload codec: ParseClose never panics, it
// accepts exactly the payloads RFC 6455, Section 5.5.1 and 7.4 allow
// (empty, or a code valid on the wire and a UTF-8 reason), and what it
// accepts re-encodes with AppendClose to the same bytes. From the other
// side, AppendClose of any code and reason stays within a control frame
// and parses back whenever the code may be sent.
func FuzzClose(f *testing.F) {
	for _, code := range []uint16{0, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011,
		1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 65535} {
		f.Add(binary.BigEndian.AppendUint16(nil, code), code, "")
	}
	f.Add([]byte{}, uint16(1005), "")
	f.Add([]byte{0x03}, uint16(1000), "bye")
	f.Add([]byte("\x03\xe8Hello"), uint16(1000), "Hello")
	f.Add([]byte("\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), uint16(1000), "\xed\xa0\x80")
	f.Add(append([]byte{0x03, 0xe8}, bytes.Repeat([]byte("é"), 62)...), uint16(3000), string(bytes.Repeat([]byte("é"), 70)))
	f.Add(append([]byte{0x0f, 0xa0}, bytes.Repeat([]byte("x"), 200)...), uint16(4000), string(bytes.Repeat([]byte("x"), 200)))
	f.Fuzz(func(t *testing.T, p []byte, code uint16, reason string) {
		c, r, err := frame.ParseClose(p)
		if err != nil {
			var pe *frame.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseClose(%x): %v is not a *ProtocolError", p, err)
			}
			switch {
			case len(p) == 1:
				if err != frame.ErrCloseTooShort {
					t.Fatalf("ParseClose(%x) = %v, want ErrCloseTooShort", p, err)
				}
			case !frame.StatusCode(binary.BigEndian.Uint16(p)).ValidOnWire():
				if err != frame.ErrInvalidCloseCode || pe.Code != frame.StatusProtocolError {
					t.Fatalf("ParseClose(%x) = %v, want ErrInvalidCloseCode", p, err)
				}
			case !utf8.Valid(p[2:]):
				if err != frame.ErrInvalidCloseReason || pe.Code != frame.StatusInvalidFramePayloadData {
					t.Fatalf("ParseClose(%x) = %v, want ErrInvalidCloseReason", p, err)
				}
			default:
				t.Fatalf("ParseClose(%x) refused a valid payload: %v", p, err)
			}
		} else {
			if len(p) == 0 {
				if c != frame.StatusNoStatusRcvd || r != "" {
					t.Fatalf("ParseClose(empty) = %d, %q", c, r)
				}
			} else if !c.ValidOnWire() || !utf8.ValidString(r) || len(p) == 1 {
				t.Fatalf("ParseClose(%x) accepted code %d, reason %q", p, c, r)
			}
			enc := frame.AppendClose(nil, c, r)
			if len(p) <= frame.MaxControlPayload {
				if !bytes.Equal(enc, p) {
					t.Fatalf("AppendClose(ParseClose(%x)) = %x", p, enc)
				}
			} else if len(enc) > frame.MaxControlPayload || !bytes.HasPrefix(p, enc) {
				// A payload too long for a control frame is cut at a
				// UTF-8 boundary.
				t.Fatalf("AppendClose(ParseClose(%d-byte payload)) = %x, not a prefix of at most 125 bytes", len(p), enc)
			}
		}

		// The writing side.
		sc := frame.StatusCode(code)
		enc := frame.AppendClose([]byte{0xAA}, sc, reason)
		if enc[0] != 0xAA {
			t.Fatal("AppendClose changed the bytes before it")
		}
		enc = enc[1:]
		if len(enc) > frame.MaxControlPayload {
			t.Fatalf("AppendClose(%d, %d-byte reason) = %d bytes, more than a control frame holds", code, len(reason), len(enc))
		}
		if sc == frame.StatusNoStatusRcvd {
			if len(enc) != 0 {
				t.Fatalf("AppendClose(1005) = %x, want empty", enc)
			}
			return
		}
		// A valid reason goes out whole, or cut at a UTF-8 boundary to fit.
		// An invalid one may go out as it is or with its bad bytes replaced
		// by U+FFFD, cut to fit; either way what goes out is a prefix of one
		// of the two.
		if len(enc) < 2 || binary.BigEndian.Uint16(enc) != code {
			t.Fatalf("AppendClose(%d, %q) = %x", code, reason, enc)
		}
		out := string(enc[2:])
		if utf8.ValidString(reason) {
			switch {
			case !strings.HasPrefix(reason, out):
				t.Fatalf("AppendClose(%d, %q) = %x, not a prefix of the reason", code, reason, enc)
			case len(reason) <= frame.MaxControlPayload-2 && out != reason:
				t.Fatalf("AppendClose(%d, %q) cut a reason that fits: %x", code, reason, enc)
			case len(reason) > frame.MaxControlPayload-2 && len(out) < frame.MaxControlPayload-2-3:
				t.Fatalf("AppendClose(%d, %d-byte reason) cut it to %d bytes, more than a UTF-8 sequence", code, len(reason), len(out))
			}
		} else if !strings.HasPrefix(reason, out) && !strings.HasPrefix(strings.ToValidUTF8(reason, "\uFFFD"), out) {
			t.Fatalf("AppendClose(%d, %q) = %x, a prefix of neither the reason nor its repair", code, reason, enc)
		}
		if sc.ValidOnWire() && utf8.Valid(enc[2:]) {
			c, r, err := frame.ParseClose(enc)
			if err != nil || c != sc || r != string(enc[2:]) {
				t.Fatalf("ParseClose(AppendClose(%d, %q)) = %d, %q, %v", code, reason, c, r, err)
			}
		}
	})
}

// FuzzReader checks frame.Reader against a reference reading of the same
// bytes with ParseHeader: data is cut into reads of fuzzer-chosen sizes,
// payloads are read in pieces of another size or skipped, and the headers,
// unmasked payloads and final error must match what the reference finds in
// the whole buffer: io.EOF at a frame boundary, a *TruncatedError inside a
// frame (at the right offset), ErrLengthOverflow, or ErrFrameTooBig past the
// limit, before any of that payload is read.
func FuzzReader(f *testing.F) {
	for _, fr := range rfcFrames() {
		f.Add(fr, uint8(3), uint8(5), uint16(300), uint8(0b10))
	}
	f.Add(bytes.Join(rfcFrames(), nil), uint8(1), uint8(1), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk, piece uint8, limit uint16, skips uint8) {
		fr := frame.NewReader(&chunkReader{data: data, n: int(chunk%16) + 1})
		fr.MaxPayload = int64(limit) - 1 // -1 is no limit; 0 the default
		max := fr.MaxPayload
		if max == 0 {
			max = frame.DefaultMaxPayload
		}
		rest := data
		buf := make([]byte, int(piece%32)+1)
		for i := 0; ; i++ {
			want, n, werr := frame.ParseHeader(rest)
			if len(rest) >= 2 && len(rest) < hdrSize(rest) {
				werr = io.ErrUnexpectedEOF // a stream reads the whole header first
			}
			h, err := fr.Next()
			switch {
			case len(rest) == 0:
				if err != io.EOF {
					t.Fatalf("frame %d: %v at the end of the stream", i, err)
				}
				return
			case werr == io.ErrUnexpectedEOF:
				var te *frame.TruncatedError
				if !errors.As(err, &te) || !te.InHeader {
					t.Fatalf("frame %d: %v, want a truncated header", i, err)
				}
				return
			case werr != nil:
				if err != werr {
					t.Fatalf("frame %d: %v, want %v", i, err, werr)
				}
				return
			case max > 0 && want.Length > max:
				if err != frame.ErrFrameTooBig {
					t.Fatalf("frame %d: %v, want ErrFrameTooBig for %d > %d", i, err, want.Length, max)
				}
				return
			case err != nil || h != want:
				t.Fatalf("frame %d: %+v %v, want %+v", i, h, err, want)
			}
			rest = rest[n:]
			avail := int64(len(rest))
			if skips>>(i%8)&1 == 0 { // read it
				var got []byte
				for {
					k, err := fr.Read(buf)
					got = append(got, buf[:k]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						var te *frame.TruncatedError
						if avail >= h.Length || !errors.As(err, &te) || te.Read != avail || int64(len(got)) != avail {
							t.Fatalf("frame %d: %v after %d bytes of %d (%d there)", i, err, len(got), h.Length, avail)
						}
						return
					}
				}
				if int64(len(got)) != h.Length {
					t.Fatalf("frame %d: %d payload bytes, want %d", i, len(got), h.Length)
				}
				exp := bytes.Clone(rest[:h.Length])
				if h.Masked {
					frame.Mask(h.Mask, 0, exp)
				}
				if !bytes.Equal(got, exp) {
					t.Fatalf("frame %d: payload %x, want %x", i, got, exp)
				}
			} else if avail < h.Length {
				_, err := fr.Next()
				var te *frame.TruncatedError
				if !errors.As(err, &te) || te.Read != avail {
					t.Fatalf("frame %d: skipping %d of %d: %v", i, avail, h.Length, err)
				}
				return
			}
			if avail < h.Length {
				t.Fatalf("frame %d: read %d payload bytes, only %d there", i, h.Length, avail)
			}
			rest = rest[h.Length:]
		}
	})
}

// hdrSize is the size of the header that b starts with, from its first
// two bytes.
func hdrSize(b []byte) int {
	n := 2 + map[byte]int{126: 2, 127: 8}[b[1]&0x7F]
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}

// chunkReader returns data n bytes at a time.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}
