package frame

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// rfcKey is the masking key of the masked examples in RFC 6455, Section 5.7.
var rfcKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rfcExamples are the frames of RFC 6455, Section 5.7. For the two binary
// examples wire holds only the header; the payload is not spelled out.
var rfcExamples = []struct {
	name    string
	wire    []byte
	h       Header
	payload string // after unmasking; "" for the header-only cases
	role    Role   // the side that may receive it
}{
	{
		name:    "unmasked text",
		wire:    []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		h:       Header{Fin: true, Opcode: OpText, Length: 5},
		payload: "Hello",
		role:    RoleClient,
	},
	{
		name:    "masked text",
		wire:    []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		h:       Header{Fin: true, Opcode: OpText, Masked: true, Mask: rfcKey, Length: 5},
		payload: "Hello",
		role:    RoleServer,
	},
	{
		name:    "fragment 1",
		wire:    []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
		h:       Header{Fin: false, Opcode: OpText, Length: 3},
		payload: "Hel",
		role:    RoleClient,
	},
	{
		name:    "fragment 2",
		wire:    []byte{0x80, 0x02, 0x6c, 0x6f},
		h:       Header{Fin: true, Opcode: OpContinuation, Length: 2},
		payload: "lo",
		role:    RoleClient,
	},
	{
		name:    "unmasked ping",
		wire:    []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		h:       Header{Fin: true, Opcode: OpPing, Length: 5},
		payload: "Hello",
		role:    RoleClient,
	},
	{
		name:    "masked pong",
		wire:    []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		h:       Header{Fin: true, Opcode: OpPong, Masked: true, Mask: rfcKey, Length: 5},
		payload: "Hello",
		role:    RoleServer,
	},
	{
		name: "256 bytes binary",
		wire: []byte{0x82, 0x7E, 0x01, 0x00},
		h:    Header{Fin: true, Opcode: OpBinary, Length: 256},
		role: RoleClient,
	},
	{
		name: "64KiB binary",
		wire: []byte{0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00},
		h:    Header{Fin: true, Opcode: OpBinary, Length: 65536},
		role: RoleClient,
	},
}

func TestRFCExamples(t *testing.T) {
	t.Parallel()
	for _, tt := range rfcExamples {
		t.Run(tt.name, func(t *testing.T) {
			hsize := tt.h.Size()
			if tt.payload != "" && hsize+len(tt.payload) != len(tt.wire) {
				t.Fatalf("Size() = %d, want %d", hsize, len(tt.wire)-len(tt.payload))
			}
			if tt.payload == "" && hsize != len(tt.wire) {
				t.Fatalf("Size() = %d, want %d", hsize, len(tt.wire))
			}

			// Encode.
			if got := AppendHeader(nil, tt.h); !bytes.Equal(got, tt.wire[:hsize]) {
				t.Errorf("AppendHeader = % x, want % x", got, tt.wire[:hsize])
			}

			// Decode from a slice.
			h, n, err := ParseHeader(tt.wire)
			if err != nil || h != tt.h || n != hsize {
				t.Fatalf("ParseHeader = %+v, %d, %v; want %+v, %d, nil", h, n, err, tt.h, hsize)
			}

			// Decode from a stream; the payload must be left unread.
			var buf [MaxHeaderSize]byte
			r := bytes.NewReader(tt.wire)
			h, err = ReadHeader(r, &buf)
			if err != nil || h != tt.h {
				t.Fatalf("ReadHeader = %+v, %v; want %+v, nil", h, err, tt.h)
			}
			if r.Len() != len(tt.wire)-hsize {
				t.Errorf("ReadHeader left %d bytes, want %d", r.Len(), len(tt.wire)-hsize)
			}

			if err := Check(h, tt.role, 0); err != nil {
				t.Errorf("Check(%v) = %v", tt.role, err)
			}

			if tt.payload == "" {
				return
			}
			payload := append([]byte(nil), tt.wire[n:]...)
			if int64(len(payload)) != h.Length {
				t.Fatalf("payload is %d bytes, header says %d", len(payload), h.Length)
			}
			if h.Masked {
				if pos := Mask(h.Mask, 0, payload); pos != len(payload)%4 {
					t.Errorf("Mask returned %d, want %d", pos, len(payload)%4)
				}
			}
			if string(payload) != tt.payload {
				t.Errorf("payload = %q, want %q", payload, tt.payload)
			}
		})
	}
}

// TestRFCMaskedHello masks "Hello" with the RFC's key and expects the
// RFC's bytes.
func TestRFCMaskedHello(t *testing.T) {
	t.Parallel()
	p := []byte("Hello")
	Mask(rfcKey, 0, p)
	want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if !bytes.Equal(p, want) {
		t.Fatalf("masked = % x, want % x", p, want)
	}
}

// TestRFCFragmented reads the fragmented example of RFC 6455, Section 5.7,
// as a receiver would: headers from one stream, per-frame and sequence
// checks, payload reassembly.
func TestRFCFragmented(t *testing.T) {
	t.Parallel()
	wire := []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}
	r := bytes.NewReader(wire)
	var buf [MaxHeaderSize]byte
	var msg []byte
	inMessage := false
	frames := 0
	for {
		h, err := ReadHeader(r, &buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadHeader: %v", err)
		}
		frames++
		if err := Check(h, RoleClient, 0); err != nil {
			t.Fatalf("Check: %v", err)
		}
		if err := CheckSequence(h.Opcode, inMessage); err != nil {
			t.Fatalf("CheckSequence(%v, %v): %v", h.Opcode, inMessage, err)
		}
		inMessage = !h.Fin
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		msg = append(msg, p...)
	}
	if frames != 2 || inMessage || string(msg) != "Hello" {
		t.Fatalf("frames=%d inMessage=%v msg=%q; want 2 false \"Hello\"", frames, inMessage, msg)
	}
	// The same two frames out of order break the sequence rules.
	if err := CheckSequence(OpContinuation, false); err != ErrUnexpectedContinuation {
		t.Errorf("continuation first: %v", err)
	}
	if err := CheckSequence(OpText, true); err != ErrExpectedContinuation {
		t.Errorf("text twice: %v", err)
	}
}

// Payload lengths at and around the 7-, 16- and 64-bit encodings.
var shapeLengths = []int64{0, 1, 125, 126, 127, 65535, 65536, 1 << 32, 1<<63 - 1}

// wantSize is the header size computed independently of Size.
func wantSize(h Header) int {
	n := 2
	if h.Length > 65535 {
		n = 10
	} else if h.Length > 125 {
		n = 4
	}
	if h.Masked {
		n += 4
	}
	return n
}

// allShapes returns a header for every combination of length, mask, RSV
// bits, opcode (reserved ones included) and FIN.
func allShapes() []Header {
	var hs []Header
	for _, l := range shapeLengths {
		for _, masked := range []bool{false, true} {
			for _, rsv := range []RSV{0, RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3} {
				for op := Opcode(0); op <= 0xF; op++ {
					for _, fin := range []bool{false, true} {
						h := Header{Fin: fin, RSV: rsv, Opcode: op, Masked: masked, Length: l}
						if masked {
							h.Mask = [4]byte{0xA1, byte(op), 0x00, 0xFF}
						}
						hs = append(hs, h)
					}
				}
			}
		}
	}
	return hs
}

var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"bytes.Reader", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
}

func TestHeaderShapes(t *testing.T) {
	t.Parallel()
	trailer := []byte("payload")
	for _, h := range allShapes() {
		name := fmt.Sprintf("fin=%v/rsv=%#x/op=%#x/masked=%v/len=%d", h.Fin, byte(h.RSV), byte(h.Opcode), h.Masked, h.Length)
		enc := AppendHeader(nil, h)
		if len(enc) != wantSize(h) || h.Size() != len(enc) {
			t.Fatalf("%s: encoded %d bytes, Size() = %d, want %d", name, len(enc), h.Size(), wantSize(h))
		}

		// Round trip, alone and followed by payload bytes.
		got, n, err := ParseHeader(enc)
		if err != nil || got != h || n != len(enc) {
			t.Fatalf("%s: ParseHeader(% x) = %+v, %d, %v", name, enc, got, n, err)
		}
		withPayload := append(append([]byte(nil), enc...), trailer...)
		got, n, err = ParseHeader(withPayload)
		if err != nil || got != h || n != len(enc) {
			t.Fatalf("%s: ParseHeader with payload = %+v, %d, %v", name, got, n, err)
		}

		for _, rd := range readers {
			// Header alone: DataErrReader hands the last bytes over with io.EOF.
			var buf [MaxHeaderSize]byte
			got, err := ReadHeader(rd.wrap(bytes.NewReader(enc)), &buf)
			if err != nil || got != h {
				t.Fatalf("%s: ReadHeader(%s) = %+v, %v", name, rd.name, got, err)
			}
			// Header then payload: exactly the header is consumed.
			r := rd.wrap(bytes.NewReader(withPayload))
			got, err = ReadHeader(r, &buf)
			if err != nil || got != h {
				t.Fatalf("%s: ReadHeader(%s) with payload = %+v, %v", name, rd.name, got, err)
			}
			rest, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(rest, trailer) {
				t.Fatalf("%s: after ReadHeader(%s) the stream holds %q, %v; want %q", name, rd.name, rest, err, trailer)
			}
		}

		// Every strict prefix is incomplete.
		for i := 0; i < len(enc); i++ {
			if got, n, err := ParseHeader(enc[:i]); err != io.ErrUnexpectedEOF || n != 0 {
				t.Fatalf("%s: ParseHeader(prefix %d) = %+v, %d, %v; want io.ErrUnexpectedEOF", name, i, got, n, err)
			}
			want := io.ErrUnexpectedEOF
			if i == 0 {
				want = io.EOF
			}
			for _, rd := range readers {
				var buf [MaxHeaderSize]byte
				if got, err := ReadHeader(rd.wrap(bytes.NewReader(enc[:i])), &buf); err != want {
					t.Fatalf("%s: ReadHeader(%s, prefix %d) = %+v, %v; want %v", name, rd.name, i, got, err, want)
				}
			}
		}
	}
}

// TestHeaderStream reads many headers back to back from one stream.
func TestHeaderStream(t *testing.T) {
	t.Parallel()
	hs := allShapes()
	var wire []byte
	for _, h := range hs {
		wire = AppendHeader(wire, h)
	}
	for _, rd := range readers {
		r := rd.wrap(bytes.NewReader(wire))
		var buf [MaxHeaderSize]byte
		for i, want := range hs {
			got, err := ReadHeader(r, &buf)
			if err != nil || got != want {
				t.Fatalf("%s: header %d = %+v, %v; want %+v", rd.name, i, got, err, want)
			}
		}
		if got, err := ReadHeader(r, &buf); err != io.EOF {
			t.Fatalf("%s: after the last header: %+v, %v; want io.EOF", rd.name, got, err)
		}
	}
}

func TestHeaderLengthOverflow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		wire []byte
	}{
		{"top bit", []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"all ones", []byte{0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
		{"masked", []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}},
	} {
		if _, _, err := ParseHeader(tt.wire); err != ErrLengthOverflow {
			t.Errorf("%s: ParseHeader = %v, want ErrLengthOverflow", tt.name, err)
		}
		var buf [MaxHeaderSize]byte
		for _, rd := range readers {
			_, err := ReadHeader(rd.wrap(bytes.NewReader(tt.wire)), &buf)
			if err != ErrLengthOverflow {
				t.Errorf("%s: ReadHeader(%s) = %v, want ErrLengthOverflow", tt.name, rd.name, err)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
				t.Errorf("%s: errors.As(%v) code = %v, want 1002", tt.name, err, pe)
			}
		}
	}
	// The largest legal length still parses.
	wire := []byte{0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	if h, _, err := ParseHeader(wire); err != nil || h.Length != 1<<63-1 {
		t.Errorf("ParseHeader(max) = %+v, %v", h, err)
	}
}

// TestParseHeaderNonMinimal pins the documented leniency: a length in a
// longer encoding than needed is accepted as is.
func TestParseHeaderNonMinimal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		wire   []byte
		length int64
	}{
		{[]byte{0x82, 0x7E, 0x00, 0x05}, 5},
		{[]byte{0x82, 0x7E, 0x00, 0x00}, 0},
		{[]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x00, 0x7D}, 125},
		{[]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 65535},
	} {
		h, n, err := ParseHeader(tt.wire)
		if err != nil || n != len(tt.wire) || h.Length != tt.length {
			t.Errorf("ParseHeader(% x) = %+v, %d, %v; want length %d", tt.wire, h, n, err, tt.length)
		}
		if err := Check(h, RoleClient, 0); err != nil {
			t.Errorf("Check(% x) = %v", tt.wire, err)
		}
	}
}

func TestAppendHeaderAppends(t *testing.T) {
	t.Parallel()
	prefix := []byte("abc")
	b := make([]byte, 0, 64)
	b = append(b, prefix...)
	h := Header{Fin: true, Opcode: OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 300}
	b = AppendHeader(b, h)
	want := []byte{'a', 'b', 'c', 0x82, 0xFE, 0x01, 0x2C, 1, 2, 3, 4}
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendHeader = % x, want % x", b, want)
	}
}

// TestAppendHeaderIgnoresExtraBits checks that bits outside the fields do
// not leak into the encoding.
func TestAppendHeaderIgnoresExtraBits(t *testing.T) {
	t.Parallel()
	h := Header{Fin: true, RSV: 0xFF, Opcode: 0xF1, Length: 5}
	got := AppendHeader(nil, h)
	want := []byte{0x80 | 0x70 | 0x01, 0x05}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendHeader = % x, want % x", got, want)
	}
}

func TestAppendHeaderNegativeLength(t *testing.T) {
	t.Parallel()
	h := Header{Fin: true, Opcode: OpBinary, Length: -1}
	got := AppendHeader(nil, h)
	if want := []byte{0x82, 0x00}; !bytes.Equal(got, want) {
		t.Fatalf("AppendHeader = % x, want % x", got, want)
	}
	if h.Size() != len(got) {
		t.Fatalf("Size() = %d, encoded %d", h.Size(), len(got))
	}
}

// errAfterReader returns data and then err.
type errAfterReader struct {
	data []byte
	err  error
}

func (r *errAfterReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadHeaderPassesErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	full := AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Masked: true, Length: 70000})
	for i := 0; i < len(full); i++ {
		var buf [MaxHeaderSize]byte
		_, err := ReadHeader(&errAfterReader{data: full[:i], err: boom}, &buf)
		if err != boom {
			t.Errorf("prefix %d then error: ReadHeader = %v, want %v", i, err, boom)
		}
	}
}

func TestOpcode(t *testing.T) {
	t.Parallel()
	names := map[Opcode]string{
		OpContinuation: "continuation",
		OpText:         "text",
		OpBinary:       "binary",
		OpClose:        "close",
		OpPing:         "ping",
		OpPong:         "pong",
	}
	for op := Opcode(0); op <= 0xF; op++ {
		name, defined := names[op]
		if op.IsReserved() == defined {
			t.Errorf("%#x.IsReserved() = %v", byte(op), op.IsReserved())
		}
		control := op >= 0x8
		if op.IsControl() != control || op.IsData() == control {
			t.Errorf("%#x: IsControl %v IsData %v", byte(op), op.IsControl(), op.IsData())
		}
		if !defined {
			name = fmt.Sprintf("reserved(0x%x)", byte(op))
		}
		if op.String() != name {
			t.Errorf("%#x.String() = %q, want %q", byte(op), op.String(), name)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	key := [4]byte{1, 2, 3, 4}
	// Valid frames as a server and as a client receive them.
	srv := func(op Opcode, fin bool, n int64) Header {
		return Header{Fin: fin, Opcode: op, Masked: true, Mask: key, Length: n}
	}
	cli := func(op Opcode, fin bool, n int64) Header {
		return Header{Fin: fin, Opcode: op, Length: n}
	}
	withRSV := func(h Header, r RSV) Header { h.RSV = r; return h }

	tests := []struct {
		name    string
		h       Header
		role    Role
		allowed RSV
		want    error
	}{
		{"text to server", srv(OpText, true, 10), RoleServer, 0, nil},
		{"text to client", cli(OpText, true, 10), RoleClient, 0, nil},
		{"first fragment", cli(OpBinary, false, 1<<40), RoleClient, 0, nil},
		{"continuation", srv(OpContinuation, false, 0), RoleServer, 0, nil},
		{"close", cli(OpClose, true, 2), RoleClient, 0, nil},
		{"ping 125", srv(OpPing, true, 125), RoleServer, 0, nil},
		{"pong 0", cli(OpPong, true, 0), RoleClient, 0, nil},

		{"rsv1 not allowed", withRSV(cli(OpText, true, 1), RSV1), RoleClient, 0, ErrReservedBits},
		{"rsv2 not allowed", withRSV(cli(OpText, true, 1), RSV2), RoleClient, 0, ErrReservedBits},
		{"rsv3 not allowed", withRSV(cli(OpText, true, 1), RSV3), RoleClient, 0, ErrReservedBits},
		{"rsv1 allowed", withRSV(cli(OpText, true, 1), RSV1), RoleClient, RSV1, nil},
		{"rsv1 with rsv2 allowed", withRSV(cli(OpText, true, 1), RSV1), RoleClient, RSV2, ErrReservedBits},
		{"rsv1+2 with rsv1 allowed", withRSV(cli(OpText, true, 1), RSV1|RSV2), RoleClient, RSV1, ErrReservedBits},
		{"all allowed", withRSV(srv(OpBinary, true, 1), RSV1|RSV2|RSV3), RoleServer, RSV1 | RSV2 | RSV3, nil},

		{"unmasked to server", cli(OpText, true, 1), RoleServer, 0, ErrUnmasked},
		{"unmasked ping to server", cli(OpPing, true, 0), RoleServer, 0, ErrUnmasked},
		{"masked to client", srv(OpText, true, 1), RoleClient, 0, ErrMasked},
		{"masked close to client", srv(OpClose, true, 0), RoleClient, 0, ErrMasked},

		{"fragmented close", cli(OpClose, false, 0), RoleClient, 0, ErrFragmentedControl},
		{"fragmented ping", srv(OpPing, false, 0), RoleServer, 0, ErrFragmentedControl},
		{"fragmented pong", cli(OpPong, false, 0), RoleClient, 0, ErrFragmentedControl},
		{"ping 126", srv(OpPing, true, 126), RoleServer, 0, ErrControlTooLong},
		{"close 126", cli(OpClose, true, 126), RoleClient, 0, ErrControlTooLong},
		{"pong 65536", cli(OpPong, true, 65536), RoleClient, 0, ErrControlTooLong},
		{"ping huge", cli(OpPing, true, 1<<63-1), RoleClient, 0, ErrControlTooLong},
	}
	for op := Opcode(0x3); op <= 0xF; op++ {
		if !op.IsReserved() {
			continue
		}
		tests = append(tests,
			struct {
				name    string
				h       Header
				role    Role
				allowed RSV
				want    error
			}{fmt.Sprintf("reserved opcode %#x", byte(op)), cli(op, true, 0), RoleClient, 0, ErrReservedOpcode},
			struct {
				name    string
				h       Header
				role    Role
				allowed RSV
				want    error
			}{fmt.Sprintf("reserved opcode %#x to server", byte(op)), srv(op, true, 0), RoleServer, 0, ErrReservedOpcode})
	}
	for _, tt := range tests {
		err := Check(tt.h, tt.role, tt.allowed)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Check(%+v) = %v, want %v", tt.name, tt.h, err, tt.want)
			continue
		}
		if tt.want == nil {
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
			t.Errorf("%s: errors.As code = %v, want 1002", tt.name, pe)
		}
		// Wrapped, the sentinel is still found.
		wrapped := fmt.Errorf("reading frame: %w", err)
		if !errors.Is(wrapped, tt.want) || !errors.As(wrapped, &pe) || pe.Code != StatusProtocolError {
			t.Errorf("%s: wrapped error lost its identity", tt.name)
		}
	}
}

func TestCheckSequence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op        Opcode
		inMessage bool
		want      error
	}{
		{OpContinuation, false, ErrUnexpectedContinuation},
		{OpContinuation, true, nil},
		{OpText, false, nil},
		{OpText, true, ErrExpectedContinuation},
		{OpBinary, false, nil},
		{OpBinary, true, ErrExpectedContinuation},
		// Control frames may come between fragments (RFC 6455, Section 5.4).
		{OpClose, false, nil},
		{OpClose, true, nil},
		{OpPing, false, nil},
		{OpPing, true, nil},
		{OpPong, false, nil},
		{OpPong, true, nil},
	}
	for _, tt := range tests {
		err := CheckSequence(tt.op, tt.inMessage)
		if err != tt.want {
			t.Errorf("CheckSequence(%v, %v) = %v, want %v", tt.op, tt.inMessage, err, tt.want)
		}
		if tt.want == nil {
			continue
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
			t.Errorf("CheckSequence(%v, %v): code %v, want 1002", tt.op, tt.inMessage, pe)
		}
	}
}

// TestSentinels checks every sentinel's code against the table in doc.go,
// and that the sentinels are told apart by errors.Is.
func TestSentinels(t *testing.T) {
	t.Parallel()
	sentinels := []struct {
		err  *ProtocolError
		code StatusCode
	}{
		{ErrReservedBits, 1002},
		{ErrReservedOpcode, 1002},
		{ErrUnmasked, 1002},
		{ErrMasked, 1002},
		{ErrFragmentedControl, 1002},
		{ErrControlTooLong, 1002},
		{ErrLengthOverflow, 1002},
		{ErrUnexpectedContinuation, 1002},
		{ErrExpectedContinuation, 1002},
		{ErrCloseTooShort, 1002},
		{ErrInvalidCloseCode, 1002},
		{ErrInvalidCloseReason, 1007},
		{ErrInvalidUTF8, 1007},
		{ErrFrameTooBig, 1009},
		{ErrMessageTooBig, 1009},
	}
	for i, s := range sentinels {
		var err error = s.err
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != s.code {
			t.Errorf("%v: code %v, want %d", err, pe, s.code)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "websocket: protocol error (") || !strings.Contains(msg, fmt.Sprint(int(s.code))) || !strings.HasSuffix(msg, s.err.Reason) {
			t.Errorf("Error() = %q", msg)
		}
		for j, o := range sentinels {
			if i != j && errors.Is(err, o.err) {
				t.Errorf("errors.Is(%v, %v) = true", err, o.err)
			}
		}
	}
}

// benchHeaders are the headers the benchmarks cycle through: one of each
// length encoding.
var benchHeaders = []Header{
	{Fin: true, Opcode: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 100},
	{Fin: true, Opcode: OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 4096},
	{Fin: false, Opcode: OpBinary, Length: 1 << 20},
}

func BenchmarkParseHeader(b *testing.B) {
	var wires [][]byte
	for _, h := range benchHeaders {
		wires = append(wires, AppendHeader(nil, h))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, _, err := ParseHeader(wires[i%len(wires)])
		if err != nil || h.Length == 0 {
			b.Fatal(h, err)
		}
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	buf := make([]byte, 0, MaxHeaderSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendHeader(buf[:0], benchHeaders[i%len(benchHeaders)])
	}
	if len(buf) == 0 {
		b.Fatal("empty")
	}
}

func BenchmarkReadHeader(b *testing.B) {
	var wires [][]byte
	for _, h := range benchHeaders {
		wires = append(wires, AppendHeader(nil, h))
	}
	r := bytes.NewReader(nil)
	var buf [MaxHeaderSize]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Reset(wires[i%len(wires)])
		h, err := ReadHeader(r, &buf)
		if err != nil || h.Length == 0 {
			b.Fatal(h, err)
		}
	}
}

// TestHeaderNoAllocs pins the zero-allocation promise of doc.go for the
// header codec.
func TestHeaderNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	wire := AppendHeader(nil, benchHeaders[1])
	buf := make([]byte, 0, MaxHeaderSize)
	r := bytes.NewReader(nil)
	var scratch [MaxHeaderSize]byte
	for name, f := range map[string]func(){
		"AppendHeader": func() { buf = AppendHeader(buf[:0], benchHeaders[1]) },
		"ParseHeader":  func() { _, _, _ = ParseHeader(wire) },
		"ReadHeader":   func() { r.Reset(wire); _, _ = ReadHeader(r, &scratch) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations, want 0", name, a)
		}
	}
}
