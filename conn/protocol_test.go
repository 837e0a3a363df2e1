package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// rawPeer dials url and returns a Raw client that may write illegal frames.
func rawPeer(t *testing.T, url string) *raw.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d handshake.Dialer
	res, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	rc := raw.New(res.Conn, res.Buffered, raw.Client, &raw.Options{AllowIllegalWrites: true})
	t.Cleanup(func() { rc.Close() })
	return rc
}

type rawFrame struct {
	h frame.Header
	p []byte
}

func send(t *testing.T, rc *raw.Conn, frames ...rawFrame) {
	t.Helper()
	for _, f := range frames {
		f.h.Masked = true
		f.h.Mask = [4]byte{1, 2, 3, 4}
		if err := rc.WriteFrame(context.Background(), f.h, f.p); err != nil {
			t.Fatal(err)
		}
	}
}

// recv reads frames until a close frame and returns the data messages'
// payloads and the close code, or 1006 when TCP ended without one.
func recv(t *testing.T, rc *raw.Conn) (msgs []string, code frame.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var cur []byte
	for {
		h, err := rc.NextFrame(ctx)
		if err != nil {
			return msgs, frame.StatusAbnormalClosure
		}
		p, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Opcode {
		case frame.OpClose:
			c, _, err := frame.ParseClose(p)
			if err != nil {
				t.Fatalf("bad close from server: %v", err)
			}
			// As a client would, drop TCP once the close handshake is
			// over; the server waits for that before closing its end.
			rc.Close()
			return msgs, c
		case frame.OpText, frame.OpBinary, frame.OpContinuation:
			cur = append(cur, p...)
			if h.Fin {
				msgs = append(msgs, string(cur))
				cur = nil
			}
		case frame.OpPong:
			msgs = append(msgs, "pong:"+string(p))
		}
	}
}

func closeFrame(code frame.StatusCode, reason string) rawFrame {
	return rawFrame{frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, code, reason)}
}

func TestBadInputCloseCodes(t *testing.T) {
	text := func(fin bool, p string) rawFrame {
		return rawFrame{frame.Header{Fin: fin, Opcode: frame.OpText}, []byte(p)}
	}
	cont := func(fin bool, p string) rawFrame {
		return rawFrame{frame.Header{Fin: fin, Opcode: frame.OpContinuation}, []byte(p)}
	}
	tests := []struct {
		name   string
		frames []rawFrame
		want   frame.StatusCode
		msgs   int
	}{
		{"rsv1", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1}, []byte("x")}}, 1002, 0},
		{"reserved opcode 3", []rawFrame{{frame.Header{Fin: true, Opcode: 3}, nil}}, 1002, 0},
		{"reserved opcode 11", []rawFrame{{frame.Header{Fin: true, Opcode: 11}, nil}}, 1002, 0},
		{"fragmented ping", []rawFrame{{frame.Header{Opcode: frame.OpPing}, []byte("x")}}, 1002, 0},
		{"long ping", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpPing}, make([]byte, 126)}}, 1002, 0},
		{"continuation first", []rawFrame{cont(true, "x")}, 1002, 0},
		{"text inside message", []rawFrame{text(false, "a"), text(true, "b")}, 1002, 0},
		{"invalid utf8", []rawFrame{text(true, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")}, 1007, 0},
		{"invalid utf8 fragmented", []rawFrame{text(false, "ok"), cont(false, "\xf4\x90"), cont(true, "\x80\x80")}, 1007, 0},
		{"truncated utf8 at end", []rawFrame{text(false, "ok"), cont(true, "\xe2\x82")}, 1007, 0},
		{"close 1 byte", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpClose}, []byte{3}}}, 1002, 0},
		{"close code 1005", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpClose}, []byte{0x03, 0xed}}}, 1002, 0},
		{"close code 999", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpClose}, []byte{0x03, 0xe7}}}, 1002, 0},
		{"close bad reason", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpClose}, []byte{0x03, 0xe8, 0xff}}}, 1007, 0},
		{"close empty", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpClose}, nil}}, 1005, 0},
		{"close 3000", []rawFrame{closeFrame(3000, "x")}, 3000, 0},
		{"echo then close", []rawFrame{text(true, "hi"), closeFrame(1000, "")}, 1000, 1},
		{"fragments with ping between", []rawFrame{text(false, "Hel"), {frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("p")}, cont(true, "lo"), closeFrame(1000, "")}, 1000, 2},
		{"too big", []rawFrame{{frame.Header{Fin: true, Opcode: frame.OpBinary}, make([]byte, 2000)}}, 1009, 0},
		{"too big fragmented", []rawFrame{{frame.Header{Opcode: frame.OpBinary}, make([]byte, 600)}, cont(true, string(make([]byte, 600)))}, 1009, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, done := echoServer(t, &conn.AcceptOptions{Options: conn.Options{ReadLimit: 1024}})
			rc := rawPeer(t, url)
			send(t, rc, tt.frames...)
			msgs, code := recv(t, rc)
			if code != tt.want {
				t.Fatalf("close code %d, want %d", code, tt.want)
			}
			if len(msgs) != tt.msgs {
				t.Fatalf("got %d messages %q, want %d", len(msgs), msgs, tt.msgs)
			}
			select {
			case err := <-done:
				got := conn.CloseStatus(err)
				if tt.want == 1005 || tt.want == 1000 || tt.want == 3000 {
					if got != tt.want {
						t.Fatalf("server read error %v, status %d", err, got)
					}
				} else if got != tt.want {
					t.Fatalf("server read error %v, status %d", err, got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server did not end")
			}
		})
	}
}

func TestInvalidUTF8FailsFast(t *testing.T) {
	// The server must fail on the first impossible byte, without waiting
	// for the rest of the message.
	url, done := echoServer(t, nil)
	rc := rawPeer(t, url)
	send(t, rc, rawFrame{frame.Header{Opcode: frame.OpText}, []byte("abc\xed\xa0")})
	_, code := recv(t, rc)
	if code != 1007 {
		t.Fatalf("got %d", code)
	}
	if err := <-done; conn.CloseStatus(err) != 1007 {
		t.Fatalf("server: %v", err)
	}
}

func TestPeerDropIs1006(t *testing.T) {
	url, done := echoServer(t, nil)
	rc := rawPeer(t, url)
	send(t, rc, rawFrame{frame.Header{Opcode: frame.OpText}, []byte("abc")})
	rc.Close()
	err := <-done
	if conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Fatalf("got %v", err)
	}
}

func TestPingAnswered(t *testing.T) {
	url, _ := echoServer(t, nil)
	rc := rawPeer(t, url)
	send(t, rc,
		rawFrame{frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("hello")},
		rawFrame{frame.Header{Fin: true, Opcode: frame.OpPing}, bytes.Repeat([]byte("x"), 125)},
		closeFrame(1000, ""))
	msgs, code := recv(t, rc)
	if code != 1000 || len(msgs) != 2 || msgs[0] != "pong:hello" || len(msgs[1]) != 5+125 {
		t.Fatalf("got %q %d", msgs, code)
	}
}

func TestKeepalivePongTimeout(t *testing.T) {
	// A raw server that never answers pings: the client's keepalive must
	// give up and its reader must learn why.
	srvURL, stop := silentServer(t)
	defer stop()
	c := dial(t, srvURL, &conn.DialOptions{Options: conn.Options{PingInterval: 50 * time.Millisecond, PongTimeout: 50 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if !errors.Is(err, conn.ErrPongTimeout) || conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Fatalf("got %v", err)
	}
}

// TestFailKeepsLastEcho is Autobahn's case 3.4: an echo, a frame with a
// reserved bit, then a ping sent one byte at a time while the server fails
// the connection. The server must not answer the late bytes with a TCP
// reset, which can destroy the echo and the close frame before the peer
// reads them: it shuts down its side and drains until the peer closes.
func TestFailKeepsLastEcho(t *testing.T) {
	url, done := echoServer(t, nil)
	rc := rawPeer(t, url)
	send(t, rc,
		rawFrame{frame.Header{Fin: true, Opcode: frame.OpText}, []byte("Hello, world!")},
		rawFrame{frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV3}, []byte("Hello, world!")})
	ping := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpPing, Masked: true})
	writeErr := make(chan error, 1)
	go func() {
		var err error
		for _, b := range ping {
			time.Sleep(50 * time.Millisecond)
			if _, err = rc.NetConn().Write([]byte{b}); err != nil {
				break
			}
		}
		writeErr <- err
	}()
	if err := <-writeErr; err != nil {
		t.Fatalf("the server reset the connection while failing it: %v", err)
	}
	msgs, code := recv(t, rc)
	if len(msgs) != 1 || msgs[0] != "Hello, world!" || code != 1002 {
		t.Fatalf("got %q and close %d, want the echo and 1002", msgs, code)
	}
	if err := <-done; conn.CloseStatus(err) != 1002 {
		t.Fatalf("server: %v", err)
	}
}
