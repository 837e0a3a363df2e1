package frame_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/hybi-go/hybi/frame"
)

// wire encodes one frame: h with its Length set from payload, then the
// payload, masked when h is.
func wire(h frame.Header, payload string) []byte {
	h.Length = int64(len(payload))
	b := frame.AppendHeader(nil, h)
	p := []byte(payload)
	if h.Masked {
		frame.Mask(h.Mask, 0, p)
	}
	return append(b, p...)
}

var key = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func TestReaderFramesInPieces(t *testing.T) {
	frames := []struct {
		h       frame.Header
		payload string
	}{
		{frame.Header{Opcode: frame.OpText, Masked: true, Mask: key}, "Hel"},
		{frame.Header{Fin: true, Opcode: frame.OpPing, Masked: true, Mask: key}, "p"},
		{frame.Header{Fin: true, Opcode: frame.OpContinuation, Masked: true, Mask: key}, "lo"},
		{frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, strings.Repeat("x", 300)},
		{frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key}, strings.Repeat("abcdefg", 10000)},
		{frame.Header{Fin: true, Opcode: frame.OpClose, Masked: true, Mask: key}, ""},
	}
	var stream []byte
	for _, f := range frames {
		stream = append(stream, wire(f.h, f.payload)...)
	}
	for _, name := range []string{"whole", "one byte at a time", "half"} {
		var r io.Reader = bytes.NewReader(stream)
		switch name {
		case "one byte at a time":
			r = iotest.OneByteReader(r)
		case "half":
			r = iotest.HalfReader(r)
		}
		fr := frame.NewReader(r)
		fr.Validate = true
		for i, f := range frames {
			h, err := fr.Next()
			if err != nil {
				t.Fatalf("%s: frame %d: %v", name, i, err)
			}
			if h.Opcode != f.h.Opcode || h.Fin != f.h.Fin || h.Length != int64(len(f.payload)) || fr.Header() != h {
				t.Fatalf("%s: frame %d: header %+v", name, i, h)
			}
			// Read in 7-byte pieces, so that unmasking resumes mid-key.
			var got []byte
			buf := make([]byte, 7)
			for {
				n, err := fr.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: frame %d: Read: %v", name, i, err)
				}
			}
			if string(got) != f.payload {
				t.Fatalf("%s: frame %d: payload %.40q, want %.40q", name, i, got, f.payload)
			}
		}
		if _, err := fr.Next(); err != io.EOF {
			t.Fatalf("%s: at the end: %v, want io.EOF", name, err)
		}
	}
}

func TestReaderSkipsUnreadPayload(t *testing.T) {
	stream := append(wire(frame.Header{Fin: true, Opcode: frame.OpBinary}, strings.Repeat("z", 70000)),
		wire(frame.Header{Fin: true, Opcode: frame.OpText}, "next")...)
	fr := frame.NewReader(bytes.NewReader(stream))
	fr.Next()
	buf := make([]byte, 10)
	fr.Read(buf)
	if fr.Remaining() != 70000-10 {
		t.Fatalf("Remaining = %d", fr.Remaining())
	}
	h, err := fr.Next()
	if err != nil || h.Opcode != frame.OpText {
		t.Fatalf("after a skipped payload: %+v %v", h, err)
	}
	if got, err := io.ReadAll(fr); string(got) != "next" || err != nil {
		t.Fatalf("ReadAll = %q %v", got, err)
	}
}

func TestReaderLimits(t *testing.T) {
	big := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: frame.DefaultMaxPayload + 1})
	// Only the header is there: the limit must refuse it before any
	// payload is read or buffered.
	fr := frame.NewReader(bytes.NewReader(big))
	if h, err := fr.Next(); err != frame.ErrFrameTooBig || h.Length != frame.DefaultMaxPayload+1 {
		t.Fatalf("default limit: %+v %v", h, err)
	}
	if _, err := fr.Next(); err != frame.ErrFrameTooBig {
		t.Fatalf("the error does not stick: %v", err)
	}
	fr = frame.NewReader(bytes.NewReader(wire(frame.Header{Fin: true, Opcode: frame.OpText}, "12345")))
	fr.MaxPayload = 4
	if _, err := fr.Next(); err != frame.ErrFrameTooBig {
		t.Fatalf("MaxPayload 4, 5 bytes: %v", err)
	}
	huge := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: 1<<63 - 1})
	fr = frame.NewReader(bytes.NewReader(huge))
	fr.MaxPayload = -1
	if h, err := fr.Next(); err != nil || h.Length != 1<<63-1 {
		t.Fatalf("no limit: %+v %v", h, err)
	}
	overflow := []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}
	fr = frame.NewReader(bytes.NewReader(overflow))
	fr.MaxPayload = -1
	if _, err := fr.Next(); err != frame.ErrLengthOverflow {
		t.Fatalf("top bit: %v", err)
	}
}

func TestReaderTruncated(t *testing.T) {
	full := wire(frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key}, "0123456789")
	tests := []struct {
		name     string
		n        int  // bytes of full given
		read     bool // read the payload rather than skip it
		inHeader bool
		got      int64
	}{
		{"in the header", 3, false, true, 0},
		{"reading the payload", 6 + 4, true, false, 4},
		{"skipping the payload", 6 + 4, false, false, 4},
	}
	for _, tt := range tests {
		fr := frame.NewReader(bytes.NewReader(full[:tt.n]))
		var err error
		if _, err = fr.Next(); err == nil {
			if tt.read {
				_, err = io.ReadAll(fr)
			} else {
				_, err = fr.Next()
			}
		}
		var te *frame.TruncatedError
		if !errors.As(err, &te) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: %v, want a *TruncatedError", tt.name, err)
		}
		if te.InHeader != tt.inHeader || te.Read != tt.got || (!te.InHeader && te.Header.Length != 10) {
			t.Fatalf("%s: %+v", tt.name, te)
		}
		t.Logf("%s: %v", tt.name, err)
		if _, err2 := fr.Next(); err2 != err {
			t.Fatalf("%s: the error does not stick: %v", tt.name, err2)
		}
	}
	// The stream's own error comes through, and sticks.
	boom := errors.New("boom")
	fr := frame.NewReader(io.MultiReader(bytes.NewReader(full[:8]), iotest.ErrReader(boom)))
	fr.Next()
	if _, err := io.ReadAll(fr); err != boom {
		t.Fatalf("stream error: %v", err)
	}
}

func TestReaderValidate(t *testing.T) {
	masked := frame.Header{Masked: true, Mask: key}
	h := func(fin bool, op frame.Opcode, rsv frame.RSV) frame.Header {
		x := masked
		x.Fin, x.Opcode, x.RSV = fin, op, rsv
		return x
	}
	tests := []struct {
		name    string
		frames  [][]byte
		role    frame.Role
		allowed frame.RSV
		want    error
	}{
		{"unmasked to a server", [][]byte{wire(frame.Header{Fin: true, Opcode: frame.OpText}, "a")}, frame.RoleServer, 0, frame.ErrUnmasked},
		{"masked to a client", [][]byte{wire(h(true, frame.OpText, 0), "a")}, frame.RoleClient, 0, frame.ErrMasked},
		{"continuation first", [][]byte{wire(h(true, frame.OpContinuation, 0), "a")}, frame.RoleServer, 0, frame.ErrUnexpectedContinuation},
		{"text inside a message", [][]byte{wire(h(false, frame.OpText, 0), "a"), wire(h(true, frame.OpText, 0), "b")}, frame.RoleServer, 0, frame.ErrExpectedContinuation},
		{"RSV1 not owned", [][]byte{wire(h(true, frame.OpText, frame.RSV1), "a")}, frame.RoleServer, 0, frame.ErrReservedBits},
		{"long ping", [][]byte{wire(h(true, frame.OpPing, 0), strings.Repeat("p", 126))}, frame.RoleServer, 0, frame.ErrControlTooLong},
		// An owned bit on a control or continuation frame is the
		// caller's rule, not the Reader's.
		{"owned RSV1 on ping and continuation", [][]byte{wire(h(false, frame.OpText, frame.RSV1), "a"),
			wire(h(true, frame.OpPing, frame.RSV1), ""), wire(h(true, frame.OpContinuation, frame.RSV1), "b")}, frame.RoleServer, frame.RSV1, io.EOF},
	}
	for _, tt := range tests {
		fr := frame.NewReader(bytes.NewReader(bytes.Join(tt.frames, nil)))
		fr.Validate, fr.Role, fr.AllowedRSV = true, tt.role, tt.allowed
		var err error
		for err == nil {
			_, err = fr.Next()
		}
		if err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		// Without Validate every frame decodes.
		fr = frame.NewReader(bytes.NewReader(bytes.Join(tt.frames, nil)))
		n := 0
		for err = nil; err == nil; n++ {
			_, err = fr.Next()
		}
		if err != io.EOF || n != len(tt.frames)+1 {
			t.Errorf("%s, not validated: %v after %d frames", tt.name, err, n-1)
		}
	}
}

func TestReaderAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector (Next skips through io.Discard's pool)")
	}
	var stream []byte
	for i := 0; i < 4; i++ {
		stream = append(stream, wire(frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key}, strings.Repeat("q", 1000))...)
	}
	br := bytes.NewReader(stream)
	fr := frame.NewReader(br)
	buf := make([]byte, 256)
	allocs := testing.AllocsPerRun(100, func() {
		br.Reset(stream)
		fr.Reset(br)
		for i := 0; ; i++ {
			if _, err := fr.Next(); err != nil {
				break
			}
			if i%2 == 0 { // read one payload, skip the next
				for {
					if _, err := fr.Read(buf); err != nil {
						break
					}
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per stream of frames", allocs)
	}
}
