package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
	"github.com/klauspost/compress/flate"
)

func exts(o *deflate.Options) []extension.Extension {
	return []extension.Extension{deflate.New(o)}
}

func jsonish(n int, seed int) []byte {
	var b bytes.Buffer
	for i := seed; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"user%d","ok":%v,"tags":["a%d","b"]},`, i, i*7%1000, i%3 == 0, i%11)
	}
	return b.Bytes()[:n]
}

// TestDeflateModes round-trips messages over loopback in each
// permessage-deflate mode, whole and streamed (fragmented), both ways.
func TestDeflateModes(t *testing.T) {
	tests := []struct {
		name      string
		srv, cli  deflate.Options
		wantAgree string
	}{
		{"takeover", deflate.Options{}, deflate.Options{}, "permessage-deflate"},
		{"server no takeover", deflate.Options{ServerNoContextTakeover: true}, deflate.Options{}, "permessage-deflate; server_no_context_takeover"},
		{"client no takeover", deflate.Options{}, deflate.Options{ClientNoContextTakeover: true}, "permessage-deflate; client_no_context_takeover"},
		{"no takeover", deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, deflate.Options{},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"bits 9", deflate.Options{ClientMaxWindowBits: 9}, deflate.Options{ServerMaxWindowBits: 9},
			"permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
		{"bits 15", deflate.Options{}, deflate.Options{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, "permessage-deflate"},
		{"bits 8 level 9", deflate.Options{Level: 9, ServerMaxWindowBits: 8}, deflate.Options{Level: 9, ClientMaxWindowBits: 8},
			"permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := echoServer(t, &conn.AcceptOptions{Extensions: exts(&tt.srv), Options: conn.Options{WriteBufferSize: 512}})
			c := dial(t, url, &conn.DialOptions{Extensions: exts(&tt.cli), Options: conn.Options{WriteBufferSize: 512}})
			if got := c.Extensions(); got != tt.wantAgree {
				t.Fatalf("agreed %q, want %q", got, tt.wantAgree)
			}
			ctx := context.Background()
			for i, n := range []int{0, 10, 200, 5000, 70000, 300000} {
				msg := jsonish(n, i)
				if i%2 == 0 {
					if err := c.Write(ctx, conn.MessageText, msg); err != nil {
						t.Fatal(err)
					}
				} else {
					w, err := c.Writer(ctx, conn.MessageText)
					if err != nil {
						t.Fatal(err)
					}
					for q := msg; len(q) > 0; {
						k := min(len(q), 777)
						w.Write(q[:k])
						q = q[k:]
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
				}
				typ, got, err := c.Read(ctx)
				if err != nil || typ != conn.MessageText || !bytes.Equal(got, msg) {
					t.Fatalf("size %d: %v %v, got %d bytes", n, typ, err, len(got))
				}
			}
			if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDeflateDeclined checks that a server without the extension, or a
// client that does not offer it, ends up with no extension.
func TestDeflateDeclined(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, &conn.DialOptions{Extensions: exts(nil)})
	if c.Extensions() != "" {
		t.Fatalf("agreed %q with a server that has no extension", c.Extensions())
	}
	url, _ = echoServer(t, &conn.AcceptOptions{Extensions: exts(nil)})
	c = dial(t, url, nil)
	if c.Extensions() != "" {
		t.Fatalf("agreed %q with no offer", c.Extensions())
	}
	ctx := context.Background()
	if err := c.Write(ctx, conn.MessageText, jsonish(1000, 0)); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.Read(ctx); err != nil || len(p) != 1000 {
		t.Fatal(err)
	}
}

// deflatePeer dials url offering permessage-deflate (offer) and returns a
// Raw client that sees the frames as they are.
func deflatePeer(t *testing.T, url, offer string) *raw.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := handshake.Dialer{Extensions: []string{offer}, CheckExtensions: func(string) error { return nil }}
	res, _, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if res.Extensions == "" {
		t.Fatal("permessage-deflate not agreed")
	}
	rc := raw.New(res.Conn, res.Buffered, raw.Client, &raw.Options{AllowedRSV: frame.RSV1, AllowIllegalWrites: true})
	t.Cleanup(func() { rc.Close() })
	return rc
}

func readFrame(t *testing.T, rc *raw.Conn) (frame.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := rc.NextFrame(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func inflate(t *testing.T, dict, p []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff})), dict)
	out, err := io.ReadAll(r)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	return out
}

// TestDeflateWire looks at the frames a server sends: small messages and
// messages with compression switched off go plain (RSV1 clear), others
// compressed; a streamed message carries RSV1 on its first frame only.
func TestDeflateWire(t *testing.T) {
	big := jsonish(3000, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{
			Extensions: exts(&deflate.Options{Threshold: 100}),
			Options:    conn.Options{WriteBufferSize: 256},
		})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, conn.MessageText, []byte("tiny"))
		c.Write(ctx, conn.MessageText, big)
		c.SetCompression(false)
		c.Write(ctx, conn.MessageText, big)
		c.SetCompression(true)
		w2, _ := c.Writer(ctx, conn.MessageBinary)
		w2.Write(big)
		w2.Close()
		c.Read(ctx) // wait for the client to finish
	}))
	defer srv.Close()
	rc := deflatePeer(t, "ws"+strings.TrimPrefix(srv.URL, "http"), "permessage-deflate; server_no_context_takeover")

	h, p := readFrame(t, rc)
	if h.RSV != 0 || string(p) != "tiny" {
		t.Fatalf("small message: %+v %q", h, p)
	}
	h, p = readFrame(t, rc)
	if h.RSV != frame.RSV1 || !h.Fin || len(p) >= len(big) || !bytes.Equal(inflate(t, nil, p), big) {
		t.Fatalf("big message: %+v, %d bytes", h, len(p))
	}
	h, p = readFrame(t, rc)
	if h.RSV != 0 || !bytes.Equal(p, big) {
		t.Fatalf("message with compression off: %+v, %d bytes", h, len(p))
	}
	var all []byte
	for i := 0; ; i++ {
		h, p = readFrame(t, rc)
		want := frame.RSV(0)
		if i == 0 {
			want = frame.RSV1
		}
		if h.RSV != want {
			t.Fatalf("streamed frame %d: RSV %v, want %v", i, h.RSV, want)
		}
		all = append(all, p...)
		if h.Fin {
			if i == 0 {
				t.Fatal("streamed message in one frame")
			}
			break
		}
	}
	if !bytes.Equal(inflate(t, nil, all), big) {
		t.Fatal("streamed message does not inflate")
	}
}

// TestDeflateGoldenFrames sends the examples of RFC 7692, Section 7.2.3 as
// frames to an echo server.
func TestDeflateGoldenFrames(t *testing.T) {
	hello := []byte("Hello")
	url, _ := echoServer(t, &conn.AcceptOptions{Extensions: exts(nil)})
	rc := deflatePeer(t, url, "permessage-deflate")
	text := func(fin bool, rsv frame.RSV, op frame.Opcode, hexs string) rawFrame {
		var p []byte
		fmt.Sscanf(strings.ReplaceAll(hexs, " ", ""), "%x", &p)
		return rawFrame{frame.Header{Fin: fin, RSV: rsv, Opcode: op}, p}
	}
	cases := [][]rawFrame{
		{text(true, frame.RSV1, frame.OpText, "f2 48 cd c9 c9 07 00")},                                          // 7.2.3.1
		{text(false, frame.RSV1, frame.OpText, "f2 48 cd"), text(true, 0, frame.OpContinuation, "c9 c9 07 00")}, // 7.2.3.1 fragmented
		{text(true, frame.RSV1, frame.OpText, "f2 00 11 00 00")},                                                // 7.2.3.2, the window shared
		{text(true, frame.RSV1, frame.OpText, "00 05 00 fa ff 48 65 6c 6c 6f 00")},                              // 7.2.3.3
		{text(true, frame.RSV1, frame.OpText, "f3 48 cd c9 c9 07 00 00")},                                       // 7.2.3.4
		{text(true, frame.RSV1, frame.OpText, "f2 48 05 00 00 00 ff ff ca c9 c9 07 00")},                        // 7.2.3.5
		{text(false, frame.RSV1, frame.OpText, "f2 48 05 00 00 00 ff ff"), text(false, 0, frame.OpContinuation, ""),
			text(true, 0, frame.OpContinuation, "ca c9 c9 07 00")}, // the same in fragments, one empty
		{text(true, 0, frame.OpText, "48 65 6c 6c 6f")}, // uncompressed
	}
	for i, frames := range cases {
		send(t, rc, frames...)
		h, p := readFrame(t, rc)
		if !h.Fin || h.Opcode != frame.OpText || h.RSV != 0 || !bytes.Equal(p, hello) {
			t.Fatalf("case %d: echoed %+v %q", i, h, p)
		}
	}
}

// TestDeflateProtocolErrors checks the close codes for compressed frames
// that break RFC 7692.
func TestDeflateProtocolErrors(t *testing.T) {
	tests := []struct {
		name   string
		frames []rawFrame
		code   frame.StatusCode
	}{
		{"RSV1 on a continuation", []rawFrame{
			{frame.Header{RSV: frame.RSV1, Opcode: frame.OpText}, []byte{0xf2, 0x48}},
			{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpContinuation}, []byte{0xcd, 0xc9, 0xc9, 0x07, 0x00}},
		}, frame.StatusProtocolError},
		{"RSV1 on an uncompressed message's continuation", []rawFrame{
			{frame.Header{Opcode: frame.OpText}, []byte("He")},
			{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpContinuation}, []byte("llo")},
		}, frame.StatusProtocolError},
		{"RSV1 on a ping", []rawFrame{{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpPing}, nil}}, frame.StatusProtocolError},
		{"RSV1 on a close", []rawFrame{{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpClose}, []byte{3, 232}}}, frame.StatusProtocolError},
		{"RSV2", []rawFrame{{frame.Header{Fin: true, RSV: frame.RSV2, Opcode: frame.OpText}, []byte("x")}}, frame.StatusProtocolError},
		{"corrupt data", []rawFrame{{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpBinary}, []byte{0xff, 0xff, 0xff}}}, frame.StatusInvalidFramePayloadData},
		{"not UTF-8 once inflated", []rawFrame{{frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpText},
			[]byte{0x00, 0x02, 0x00, 0xfd, 0xff, 0xc3, 0x28, 0x00}}}, frame.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, done := echoServer(t, &conn.AcceptOptions{Extensions: exts(nil)})
			rc := deflatePeer(t, url, "permessage-deflate")
			send(t, rc, tt.frames...)
			if _, code := recv(t, rc); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			if err := <-done; conn.CloseStatus(err) != tt.code {
				t.Fatalf("server error %v", err)
			}
		})
	}
}

// TestDeflateBomb sends 64 MiB of zeros compressed to about 64 KiB to a
// server with a 1 MiB read limit: it fails with 1009 after inflating
// little more than the limit, whether it reads whole messages or streams.
func TestDeflateBomb(t *testing.T) {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		fw.Write(zeros)
	}
	fw.Flush()
	bomb := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	t.Logf("64 MiB of zeros compressed to %d bytes", len(bomb))
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprint("streamed=", streamed), func(t *testing.T) {
			type result struct {
				err   error
				n     int64
				alloc uint64
			}
			res := make(chan result, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: exts(nil), Options: conn.Options{ReadLimit: 1 << 20}})
				if err != nil {
					return
				}
				defer c.CloseNow()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				var n int64
				if streamed {
					var rd io.Reader
					if _, rd, err = c.Reader(r.Context()); err == nil {
						n, err = io.Copy(io.Discard, rd)
					}
				} else {
					var p []byte
					_, p, err = c.Read(r.Context())
					n = int64(len(p))
				}
				runtime.ReadMemStats(&after)
				res <- result{err, n, after.TotalAlloc - before.TotalAlloc}
			}))
			defer srv.Close()
			rc := deflatePeer(t, "ws"+strings.TrimPrefix(srv.URL, "http"), "permessage-deflate")
			// The server stops reading at the limit and closes, so the
			// end of the frame may meet a reset: write it aside.
			go rc.WriteFrame(context.Background(), frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpBinary, Masked: true}, bomb)
			// A reset may also eat the close frame before it is read.
			if _, code := recv(t, rc); code != frame.StatusMessageTooBig && code != frame.StatusAbnormalClosure {
				t.Fatalf("client saw close %d, want 1009", code)
			}
			r := <-res
			if conn.CloseStatus(r.err) != conn.StatusMessageTooBig {
				t.Fatalf("server read: %v", r.err)
			}
			t.Logf("server read %d bytes, allocated %d KiB in all", r.n, r.alloc>>10)
			if r.n > 1<<20 {
				t.Errorf("read %d bytes past a 1 MiB limit", r.n)
			}
			// The whole-message read grows its buffer to the limit; the
			// flate engines are about 100 KiB; nothing near 64 MiB.
			if r.alloc > 8<<20 {
				t.Errorf("allocated %d MiB to refuse the bomb", r.alloc>>20)
			}
		})
	}
}

// TestDeflateCancelRead checks that cancelling a read in the middle of a
// compressed message, which a decompressor cannot resume, ends the
// connection rather than corrupting the next message.
func TestDeflateCancelRead(t *testing.T) {
	// A server sends the first frames of a compressed message and stalls.
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: exts(nil), Options: conn.Options{WriteBufferSize: 256}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		wr, _ := c.Writer(r.Context(), conn.MessageBinary)
		wr.Write(jsonish(300000, 3)) // flate emits a block per 64 KiB of input
		<-stall
	}))
	defer srv.Close()
	defer close(stall)
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{Extensions: exts(nil)})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, r)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	if _, _, err := c.Read(context.Background()); conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Fatalf("after the interrupted message: %v", err)
	}
}
