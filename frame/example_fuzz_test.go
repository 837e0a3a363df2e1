package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hybi-go/hybi/frame"
)

// FuzzExampleParser is the fuzz target to copy when you fuzz your own code
// that consumes WebSocket frames: a message parser, an extension's decoder,
// a proxy's filter. frame.Reader turns the fuzzer's bytes into frames, so
// the target is only what your code needs: here, messages are reassembled
// up to a limit and handed to parseCommand, which stands for the code
// under test. Run it with
//
//	go test -run '^$' -fuzz '^FuzzExampleParser$' -fuzztime 30s ./frame
//
// Seed it with real traffic (frames written by frame.AppendHeader, or a
// capture), so that the fuzzer starts from frames that parse.
func FuzzExampleParser(f *testing.F) {
	f.Add(wire(frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Mask: key}, "get 12"))
	f.Add(append(wire(frame.Header{Opcode: frame.OpText, Masked: true, Mask: key}, "se"),
		wire(frame.Header{Fin: true, Opcode: frame.OpContinuation, Masked: true, Mask: key}, "t 7 x")...))
	const maxMessage = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := frame.NewReader(bytes.NewReader(data))
		fr.MaxPayload = maxMessage // bounds what one header may announce
		fr.Validate = true         // the rules a server applies: masking, control frames, fragments
		fr.Role = frame.RoleServer
		var msg []byte
		for {
			h, err := fr.Next()
			if err != nil {
				var pe *frame.ProtocolError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &pe) {
					t.Fatalf("Next: unexpected error %v", err)
				}
				return
			}
			if h.Opcode.IsControl() {
				continue // Next skips the payload left unread
			}
			if int64(len(msg))+h.Length > maxMessage {
				return // a session would close with 1009
			}
			msg, err = appendPayload(msg, fr)
			if err != nil {
				return
			}
			if h.Fin {
				parseCommand(msg) // must not panic, whatever the bytes
				msg = msg[:0]
			}
		}
	})
}

// appendPayload appends the rest of the current frame's payload, read in
// pieces as it arrives.
func appendPayload(b []byte, fr *frame.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := fr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// parseCommand stands for your code: "get N" or "set N VALUE".
func parseCommand(msg []byte) (op string, n int, value []byte) {
	f := bytes.SplitN(msg, []byte(" "), 3)
	op = string(f[0])
	if len(f) > 1 {
		for _, c := range f[1] {
			if c < '0' || c > '9' {
				return op, 0, nil
			}
			n = n*10 + int(c-'0')
		}
	}
	if len(f) > 2 {
		value = f[2]
	}
	return op, n, value
}
