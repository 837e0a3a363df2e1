package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/bench/servers"
	"github.com/hybi-go/hybi/internal/testnet"
	"golang.org/x/net/http2"
)

// h2EchoServer runs bench-server's hybi adapter with TLS (HTTP/2 and
// HTTP/1.1), as bench-server -tls does.
func h2EchoServer(t *testing.T) string {
	t.Helper()
	lib, err := servers.Get("hybi")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := servers.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { lib.Serve(ln, servers.Options{TLS: cfg}); close(done) }()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// checkGoroutines fails t if goroutines started during the test are still
// running a moment after it.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		for range 100 {
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
	})
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// TestH2Echo drives echoes on many WebSockets of two HTTP/2 connections:
// messages larger than a DATA frame and than the server's windows (64 KiB
// for the connection until it grows it to 1 MiB), so that the writer
// waits on flow control, and checks every echo byte for byte.
func TestH2Echo(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	addr := h2EchoServer(t)
	checkGoroutines(t)
	ctx := context.Background()
	var conns []*H2Conn
	for range 2 {
		c, err := DialH2(ctx, addr, 8, DialOptions{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for _, n := range []int{0, 16, 1 << 10, 16 << 10, 100 << 10, 3 << 19} {
		m := NewMessage(OpBinary, payloadOf(n), false)
		if err := CheckH2(conns, m, 10*time.Second); err != nil {
			t.Fatalf("%d B: %v", n, err)
		}
	}
	m := NewMessage(OpBinary, payloadOf(1<<10), false)
	r := EchoH2(conns, m, 50*time.Millisecond, 200*time.Millisecond)
	if r.Err != nil || r.Count == 0 || r.P99 == 0 {
		t.Fatalf("EchoH2: %d echoes, p99 %v, err %v", r.Count, r.P99, r.Err)
	}
	// The connections are fit for another check after a run.
	if err := CheckH2(conns, NewMessage(OpText, []byte("after"), false), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestH2DialRefused checks the precise errors of a server that does not
// offer extended CONNECT and of one that refuses the WebSocket.
func TestH2DialRefused(t *testing.T) {
	checkGoroutines(t)
	t.Run("no extended CONNECT", func(t *testing.T) {
		addr := fakeH2(t, nil, nil)
		_, err := DialH2(context.Background(), addr, 1, DialOptions{Timeout: 5 * time.Second})
		if !errors.Is(err, ErrNoExtendedConnect) {
			t.Fatalf("DialH2: %v, want ErrNoExtendedConnect", err)
		}
	})
	t.Run("too many streams", func(t *testing.T) {
		addr := fakeH2(t, []http2.Setting{{ID: http2.SettingEnableConnectProtocol, Val: 1}, {ID: http2.SettingMaxConcurrentStreams, Val: 2}}, nil)
		_, err := DialH2(context.Background(), addr, 3, DialOptions{Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "3 WebSockets on one connection, but the server allows 2 streams") {
			t.Fatalf("DialH2: %v", err)
		}
	})
	t.Run("status 403", func(t *testing.T) {
		addr := fakeH2(t, []http2.Setting{{ID: http2.SettingEnableConnectProtocol, Val: 1}}, func(fr *http2.Framer, id uint32) {
			// HPACK static table index 13 is ":status: 404"; a literal
			// ":status: 403" keeps the test independent of the table.
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0x08, 3, '4', '0', '3'}, EndHeaders: true, EndStream: true})
		})
		_, err := DialH2(context.Background(), addr, 1, DialOptions{Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), `answered with status "403"`) {
			t.Fatalf("DialH2: %v", err)
		}
	})
}

// fakeH2 serves one TLS connection with ALPN h2: it sends settings, and
// answers each HEADERS frame with answer if not nil.
func fakeH2(t *testing.T, settings []http2.Setting, answer func(fr *http2.Framer, id uint32)) string {
	cfg, err := servers.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = []string{"h2"}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		preface := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(nc, preface); err != nil {
			return
		}
		fr := http2.NewFramer(nc, nc)
		fr.WriteSettings(settings...)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if h, ok := f.(*http2.HeadersFrame); ok && answer != nil {
				answer(fr, h.StreamID)
			}
		}
	}()
	return ln.Addr().String()
}

// TestWSParser feeds frames to the parser cut at every place, one message
// fragmented over three frames among them.
func TestWSParser(t *testing.T) {
	srv := func(op byte, fin bool, p []byte) []byte {
		b0 := op
		if fin {
			b0 |= 0x80
		}
		var h []byte
		switch {
		case len(p) < 126:
			h = []byte{b0, byte(len(p))}
		case len(p) < 1<<16:
			h = []byte{b0, 126, byte(len(p) >> 8), byte(len(p))}
		default:
			h = []byte{b0, 127, 0, 0, 0, 0, byte(len(p) >> 24), byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))}
		}
		return append(h, p...)
	}
	big := payloadOf(70000)
	var stream []byte
	stream = append(stream, srv(OpBinary, true, nil)...)
	stream = append(stream, srv(OpText, true, []byte("hello"))...)
	stream = append(stream, srv(OpBinary, false, big[:100])...)
	stream = append(stream, srv(0, false, big[100:300])...)
	stream = append(stream, srv(0, true, big[300:])...)
	stream = append(stream, srv(OpBinary, true, big[:1000])...)
	want := []struct {
		op byte
		p  []byte
	}{{OpBinary, nil}, {OpText, []byte("hello")}, {OpBinary, big}, {OpBinary, big[:1000]}}
	for _, chunk := range []int{1, 2, 3, 7, 125, 4096, len(stream)} {
		var w wsParser
		var got int
		for p := stream; len(p) > 0; {
			k := min(chunk, len(p))
			err := w.feed(p[:k], func(op byte, payload []byte) error {
				if got >= len(want) || op != want[got].op || !bytes.Equal(payload, want[got].p) {
					t.Fatalf("chunk %d: message %d: op %d, %d bytes", chunk, got, op, len(payload))
				}
				got++
				return nil
			})
			if err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
			p = p[k:]
		}
		if got != len(want) {
			t.Fatalf("chunk %d: %d messages, want %d", chunk, got, len(want))
		}
	}
	for _, bad := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0x82, 0x81, 1, 2, 3, 4, 0}, "masked frame from server"},
		{[]byte{0xC2, 0}, "reserved bits set"},
		{[]byte{0x89, 0}, "control frame 9"},
		{[]byte{0x80, 0}, "continuation frame outside a message"},
		{[]byte{0x02, 0, 0x82, 0}, "new message inside a fragmented one"},
		{[]byte{0x82, 127, 0xFF, 0, 0, 0, 0, 0, 0, 0}, "frame too long"},
	} {
		var w wsParser
		err := w.feed(bad.in, func(byte, []byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("% x: %v, want %q", bad.in, err, bad.want)
		}
	}
}

// TestDialTLS checks the HTTP/1.1 client over TLS against the same
// server, which must pick HTTP/1.1 by ALPN.
func TestDialTLS(t *testing.T) {
	addr := h2EchoServer(t)
	checkGoroutines(t)
	c, err := Dial(context.Background(), addr, DialOptions{TLS: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := Check(c, NewMessage(OpBinary, payloadOf(1000), false)); err != nil {
		t.Fatal(err)
	}
	if p := c.nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("ALPN %q", p)
	}
}
