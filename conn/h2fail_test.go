package conn_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// TestHTTP2ServerFailEndsStream: a server that fails a WebSocket over
// HTTP/2 ends the stream after its close frame, as over TCP it shuts down
// its sending side: the client does not have to end the stream first.
// Over TCP the server half-closes and then waits for the client; net/http's
// HTTP/2 handler cannot end its half alone, so it ends the stream, which
// destroys nothing sent before it (the Autobahn runner over HTTP/2 judged
// the wait FAILED BY CLIENT in 2.5 and every case where the server fails).
func TestHTTP2ServerFailEndsStream(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	// A close timeout far above the test's wait: a server that waits for
	// the client fails the test rather than end the stream late.
	o := &conn.AcceptOptions{Options: conn.Options{CloseTimeout: time.Minute}}
	s := newH2Server(t, o, echo)
	d := handshake.Dialer{TLSConfig: s.ClientTLS(), HTTP2: handshake.HTTP2Always}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, _, err := d.Dial(ctx, s.WSURL("/"))
	if err != nil {
		t.Fatal(err)
	}
	nc := res.Conn
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))

	// A ping with 126 octets of payload: a protocol error (1002).
	bad := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpPing, Masked: true, Length: 126})
	bad = append(bad, make([]byte, 126)...)
	if _, err := nc.Write(bad); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	var hb [frame.MaxHeaderSize]byte
	h, err := frame.ReadHeader(br, &hb)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := frame.ParseClose(p); h.Opcode != frame.OpClose || code != conn.StatusProtocolError {
		t.Fatalf("got opcode %d payload %q; want a close frame with 1002", h.Opcode, p)
	}
	// The client answers the close frame and keeps its half open, as a
	// client that waits for the server to end the connection does. The
	// stream may have ended already (the server's RST_STREAM(NO_ERROR)
	// fails the write), as a TCP write after the peer closed may fail.
	reply := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpClose, Masked: true, Length: 2})
	reply = append(reply, 0x03, 0xea)
	if _, err := nc.Write(reply); err != nil {
		t.Logf("writing the close reply: %v", err)
	}
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the close frame: %d octets, %v; want the end of the stream (io.EOF)", n, err)
	}
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusProtocolError {
		t.Errorf("server ended with %v, want 1002", code)
	}
}
