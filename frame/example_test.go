package frame_test

import (
	"bytes"
	"fmt"

	"github.com/hybi-go/hybi/frame"
)

// The masked "Hello" of RFC 6455, Section 5.7: encode the header, then
// decode it and unmask the payload that follows.
func ExampleAppendHeader() {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")
	h := frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Mask: key, Length: int64(len(payload))}

	wire := frame.AppendHeader(nil, h)
	frame.Mask(key, 0, payload) // in place
	wire = append(wire, payload...)
	fmt.Printf("% x\n", wire)
	// Output:
	// 81 85 37 fa 21 3d 7f 9f 4d 51 58
}

func ExampleParseHeader() {
	wire := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := frame.Check(h, frame.RoleServer, 0); err != nil {
		fmt.Println(err)
		return
	}
	payload := wire[n : n+int(h.Length)]
	frame.Mask(h.Mask, 0, payload)
	fmt.Printf("%v fin=%v masked=%v length=%d header=%d bytes\n", h.Opcode, h.Fin, h.Masked, h.Length, n)
	fmt.Printf("%s\n", payload)
	// Output:
	// text fin=true masked=true length=5 header=6 bytes
	// Hello
}

func ExampleReadHeader() {
	r := bytes.NewReader([]byte{0x82, 0x7E, 0x01, 0x00})
	var buf [frame.MaxHeaderSize]byte
	h, err := frame.ReadHeader(r, &buf)
	fmt.Println(h.Opcode, h.Length, err)
	_, err = frame.ReadHeader(r, &buf)
	fmt.Println(err)
	// Output:
	// binary 256 <nil>
	// EOF
}

// Mask returns the position to continue from, so a payload can be masked
// in chunks of any size.
func ExampleMask() {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	p := []byte("Hello")
	pos := frame.Mask(key, 0, p[:2])
	pos = frame.Mask(key, pos, p[2:])
	fmt.Printf("% x, next pos %d\n", p, pos)
	frame.Mask(key, 0, p) // masking twice restores the text
	fmt.Printf("%s\n", p)
	// Output:
	// 7f 9f 4d 51 58, next pos 1
	// Hello
}

func ExampleParseClose() {
	for _, p := range [][]byte{
		frame.AppendClose(nil, frame.StatusGoingAway, "bye"),
		nil,
		{0x03, 0xEE}, // 1006 is never sent
		{0x03, 0xE8, 0xff},
	} {
		code, reason, err := frame.ParseClose(p)
		fmt.Printf("%v %q %v\n", code, reason, err)
	}
	// Output:
	// 1001 (going away) "bye" <nil>
	// 1005 (no status received) "" <nil>
	// 1006 (abnormal closure) "" websocket: protocol error (1002): invalid close status code
	// 1000 (normal closure) "" websocket: protocol error (1007): close reason is not valid UTF-8
}

// A text message arrives in fragments; the validator fails on the fragment
// with the first byte that no continuation could make valid.
func ExampleUTF8() {
	var v frame.UTF8
	for _, fragment := range []string{"κό", "σ\xce", "\xbcε"} {
		fmt.Println(v.Write([]byte(fragment)))
	}
	fmt.Println("done:", v.Done())

	v.Reset()
	for _, fragment := range []string{"κόσμε\xf4", "\x90", "\x80\x80"} {
		fmt.Println(v.Write([]byte(fragment)))
	}
	fmt.Println("done:", v.Done())
	// Output:
	// true
	// true
	// true
	// done: true
	// true
	// false
	// false
	// done: false
}

// A Reader turns a byte stream into frames: here the fragmented "Hello" of
// RFC 6455, Section 5.7, with a ping between its fragments, read as a
// server does, its payloads unmasked in 2-byte pieces.
func ExampleReader() {
	stream := []byte{
		0x01, 0x83, 1, 2, 3, 4, 'H' ^ 1, 'e' ^ 2, 'l' ^ 3, // text, FIN clear: "Hel"
		0x89, 0x80, 1, 2, 3, 4, // ping, empty
		0x80, 0x82, 5, 6, 7, 8, 'l' ^ 5, 'o' ^ 6, // continuation, FIN: "lo"
	}
	fr := frame.NewReader(bytes.NewReader(stream))
	fr.MaxPayload = 1 << 20
	fr.Validate, fr.Role = true, frame.RoleServer
	for {
		h, err := fr.Next()
		if err != nil {
			fmt.Println(err) // io.EOF: the stream ended between two frames
			return
		}
		var pieces []string
		piece := make([]byte, 2)
		for {
			n, err := fr.Read(piece)
			if n > 0 {
				pieces = append(pieces, string(piece[:n]))
			}
			if err != nil {
				break // io.EOF at the end of the payload
			}
		}
		fmt.Printf("%v fin=%v %q\n", h.Opcode, h.Fin, pieces)
	}
	// Output:
	// text fin=false ["He" "l"]
	// ping fin=true []
	// continuation fin=true ["lo"]
	// EOF
}
