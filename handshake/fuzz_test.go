package handshake_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/handshake"
)

// recordConn is the net.Conn a hijackWriter hands out: reads end at once,
// writes are recorded.
type recordConn struct {
	mu     sync.Mutex
	out    bytes.Buffer
	closed bool
}

func (c *recordConn) Read([]byte) (int, error) { return 0, io.EOF }
func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}
func (c *recordConn) Close() error        { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }
func (c *recordConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *recordConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}
}
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// hijackWriter is a ResponseWriter that implements http.Hijacker the way
// net/http's does: the connection, and the reader that holds whatever
// the server had read past the request.
type hijackWriter struct {
	*httptest.ResponseRecorder
	conn     *recordConn
	br       *bufio.Reader
	hijacked bool
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(w.br, bufio.NewWriter(w.conn)), nil
}

const rfcRequest = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"

// upgraders are the server configurations FuzzServerHandshake picks from.
var upgraders = []*handshake.Upgrader{
	{},
	{
		Subprotocols: []string{"chat", "superchat"},
		CheckOrigin:  func(*http.Request) bool { return true },
		NegotiateExtensions: func(offers []string) (string, error) {
			if strings.Contains(offers[0], "refuse") {
				return "", errors.New("refused")
			}
			return strings.Join(offers, ", "), nil
		},
		Header: http.Header{"X-Fuzz": {"1"}},
	},
	{AllowedOrigins: []string{"*.example.com", "localhost:*"}},
}

// validUpgrade reports whether r is a valid opening handshake (RFC 6455,
// Section 4.2.1), as far as the request alone says, and returns its key.
func validUpgrade(r *http.Request) (key string, ok bool) {
	if r.Method != http.MethodGet || !r.ProtoAtLeast(1, 1) {
		return "", false
	}
	if !hasTokenFold(r.Header, "Upgrade", "websocket") || !hasTokenFold(r.Header, "Connection", "upgrade") {
		return "", false
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		return "", false
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", false
	}
	key = strings.Trim(keys[0], " \t")
	b, err := base64.StdEncoding.DecodeString(key)
	return key, err == nil && len(b) == 16
}

func hasTokenFold(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.Trim(t, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// FuzzServerHandshake parses arbitrary request bytes with http.ReadRequest
// and hands them to Upgrader.Upgrade with a hijackable ResponseWriter. It
// never panics; it accepts only a valid upgrade (GET, HTTP/1.1, the
// Upgrade and Connection tokens, version 13, one 16-byte key), answering
// with a well-formed 101 carrying the right Sec-WebSocket-Accept and
// handing back the bytes read past the request; it refuses anything else
// with an HTTP error and without hijacking; and the zero Upgrader accepts
// every valid upgrade that has no Origin.
func FuzzServerHandshake(f *testing.F) {
	seeds := []string{
		rfcRequest,
		strings.Replace(rfcRequest, "Origin: http://example.com\r\n", "", 1),
		strings.Replace(rfcRequest, "GET", "POST", 1),
		strings.Replace(rfcRequest, "HTTP/1.1", "HTTP/1.0", 1),
		strings.Replace(rfcRequest, "Version: 13", "Version: 8", 1),
		strings.Replace(rfcRequest, "Version: 13", "Version: 13\r\nSec-WebSocket-Version: 13", 1),
		strings.Replace(rfcRequest, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ", 1),
		strings.Replace(rfcRequest, "dGhlIHNhbXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAAAA", 1),
		strings.Replace(rfcRequest, "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1),
		strings.Replace(rfcRequest, "Upgrade: websocket", "Upgrade: h2c", 1),
		strings.Replace(rfcRequest, "Origin: http://example.com", "Origin: null", 1),
		strings.Replace(rfcRequest, "Origin: http://example.com", "Origin: http://server.example.com", 1),
		strings.Replace(rfcRequest, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n", 1),
		strings.Replace(rfcRequest, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: refuse\r\n\r\n", 1),
		rfcRequest + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(i%len(upgraders)))
	}
	f.Fuzz(func(t *testing.T, data []byte, cfg uint16) {
		br := bufio.NewReader(bytes.NewReader(data))
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		u := upgraders[int(cfg)%len(upgraders)]
		var pending []byte
		if n := br.Buffered(); n > 0 {
			p, _ := br.Peek(n)
			pending = bytes.Clone(p)
		}
		w := &hijackWriter{ResponseRecorder: httptest.NewRecorder(), conn: &recordConn{}, br: br}
		res, err := u.Upgrade(w, r)
		key, valid := validUpgrade(r)
		if err != nil {
			if res != nil {
				t.Fatal("Upgrade returned both a Result and an error")
			}
			if w.hijacked {
				t.Fatalf("Upgrade hijacked the connection and failed: %v", err)
			}
			var he *handshake.Error
			if !errors.As(err, &he) {
				t.Fatalf("Upgrade error %v is not a *handshake.Error", err)
			}
			switch he.StatusCode {
			case 400, 403, 405, 426, 500:
			default:
				t.Fatalf("Upgrade refused with HTTP status %d: %v", he.StatusCode, err)
			}
			if w.Code != he.StatusCode {
				t.Fatalf("Upgrade wrote status %d, reported %d", w.Code, he.StatusCode)
			}
			if valid && u == upgraders[0] && len(r.Header.Values("Origin")) == 0 {
				t.Fatalf("the zero Upgrader refused a valid upgrade without Origin: %v\n%q", err, data)
			}
			return
		}
		if !valid {
			t.Fatalf("Upgrade accepted an invalid request:\n%q", data)
		}
		if !w.hijacked || res.Conn != w.conn || w.Body.Len() != 0 {
			t.Fatalf("Upgrade succeeded without hijacking, or wrote to the ResponseWriter")
		}
		if !bytes.Equal(res.Buffered, pending) {
			t.Fatalf("Result.Buffered = %q, want the %q read past the request", res.Buffered, pending)
		}
		out := w.conn.out.Bytes()
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), r)
		if err != nil {
			t.Fatalf("the 101 response does not parse: %v\n%q", err, out)
		}
		if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("Connection") != "Upgrade" {
			t.Fatalf("bad 101 response:\n%q", out)
		}
		if a := resp.Header.Values("Sec-WebSocket-Accept"); len(a) != 1 || a[0] != handshake.ComputeAccept(key) {
			t.Fatalf("Sec-WebSocket-Accept %q for key %q, want %q", a, key, handshake.ComputeAccept(key))
		}
		if p := resp.Header.Values("Sec-WebSocket-Protocol"); len(p) > 0 {
			if len(p) != 1 || p[0] != res.Subprotocol || !contains(u.Subprotocols, p[0]) || !hasToken(r.Header, "Sec-WebSocket-Protocol", p[0]) {
				t.Fatalf("selected subprotocol %q; server has %q, client offered %q", p, u.Subprotocols, r.Header.Values("Sec-WebSocket-Protocol"))
			}
		} else if res.Subprotocol != "" {
			t.Fatalf("Result.Subprotocol %q not sent", res.Subprotocol)
		}
		if e := resp.Header.Values("Sec-WebSocket-Extensions"); len(e) > 0 && (u.NegotiateExtensions == nil || len(e) != 1 || e[0] != res.Extensions) {
			t.Fatalf("Sec-WebSocket-Extensions %q, Result.Extensions %q", e, res.Extensions)
		}
		for k := range resp.Header {
			switch k {
			case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "X-Fuzz":
			default:
				t.Fatalf("unexpected header field %q in the 101 response:\n%q", k, out)
			}
		}
		res.Conn.Close()
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.Trim(t, " \t") == token {
				return true
			}
		}
	}
	return false
}

// The placeholders FuzzClientResponse replaces in the fuzzed response with
// the values of the handshake under way: the right Sec-WebSocket-Accept
// and the client's key.
const (
	acceptMark = "{A}"
	keyMark    = "{K}"
)

const rfcResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: {A}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"

// dialers are the client configurations FuzzClientResponse picks from.
var dialers = []handshake.Dialer{
	{},
	{
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []string{"permessage-deflate"},
		CheckExtensions: func(resp string) error {
			if resp != "permessage-deflate" {
				return errors.New("not offered")
			}
			return nil
		},
	},
	{MaxResponseBytes: 256},
}

// FuzzClientResponse serves arbitrary response bytes to Dialer.Dial over
// net.Pipe, with {A} and {K} in them replaced by the right
// Sec-WebSocket-Accept and the client's key. Dial never panics and never
// hangs (it must return well before the handshake timeout, since the
// server closes the pipe once it has written); it succeeds only for a 101
// with the Upgrade and Connection tokens, exactly one right
// Sec-WebSocket-Accept, a subprotocol it offered and extensions it
// allowed, and then hands back the bytes read past the response.
func FuzzClientResponse(f *testing.F) {
	seeds := []string{
		rfcResponse,
		strings.Replace(rfcResponse, "Sec-WebSocket-Protocol: chat\r\n", "", 1),
		strings.Replace(rfcResponse, "chat", "other", 1),
		strings.Replace(rfcResponse, "{A}", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 1),
		strings.Replace(rfcResponse, "{A}", "{A}\r\nSec-WebSocket-Accept: {A}", 1),
		strings.Replace(rfcResponse, "{A}", " {A} ", 1),
		strings.Replace(rfcResponse, "101 Switching Protocols", "200 OK", 1),
		strings.Replace(rfcResponse, "Upgrade: websocket", "Upgrade: h2c", 1),
		strings.Replace(rfcResponse, "Connection: Upgrade", "Connection: close", 1),
		strings.Replace(rfcResponse, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1),
		strings.Replace(rfcResponse, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: x-unknown\r\n\r\n", 1),
		rfcResponse + "\x81\x05Hello",
		"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!",
		"HTTP/1.1 400 Bad Request\r\n\r\n" + strings.Repeat("x", 2000),
		"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nX-Big: " + strings.Repeat("y", 300) + "\r\n\r\n",
		"HTTP/1.1 101",
		"{K}",
		"",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(i%len(dialers)))
	}
	f.Fuzz(func(t *testing.T, data []byte, cfg uint16) {
		d := dialers[int(cfg)%len(dialers)]
		d.HandshakeTimeout = 5 * time.Second
		d.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
		cli, srv := net.Pipe()
		d.NetDialContext = func(context.Context, string, string) (net.Conn, error) { return cli, nil }

		var wg sync.WaitGroup
		var sent []byte // the response after substitution; read after wg.Wait
		var key string
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer srv.Close()
			req, err := http.ReadRequest(bufio.NewReader(srv))
			if err != nil {
				return
			}
			key = req.Header.Get("Sec-WebSocket-Key")
			sent = bytes.ReplaceAll(data, []byte(acceptMark), []byte(handshake.ComputeAccept(key)))
			sent = bytes.ReplaceAll(sent, []byte(keyMark), []byte(key))
			srv.Write(sent)
		}()

		start := time.Now()
		res, resp, err := d.Dial(context.Background(), "ws://127.0.0.1:1/chat")
		elapsed := time.Since(start)
		if res != nil {
			res.Conn.Close()
		}
		cli.Close()
		wg.Wait()
		if elapsed > 3*time.Second || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial took %v (err %v) on a response that was written whole:\n%q", elapsed, err, sent)
		}
		if err != nil {
			if res != nil {
				t.Fatal("Dial returned both a Result and an error")
			}
			if resp != nil {
				if _, rerr := io.ReadAll(resp.Body); rerr != nil {
					t.Fatalf("reading the body of a refused response: %v", rerr)
				}
			}
			return
		}
		// Accepted: check the response against RFC 6455, Section 4.1 by
		// parsing it again here.
		sr := bytes.NewReader(sent)
		br := bufio.NewReader(sr)
		want, perr := http.ReadResponse(br, nil)
		if perr != nil {
			t.Fatalf("Dial accepted a response that does not parse: %v\n%q", perr, sent)
		}
		consumed := len(sent) - br.Buffered() - sr.Len()
		if max := d.MaxResponseBytes; max > 0 && consumed > max {
			t.Fatalf("Dial accepted a %d-byte response header, more than MaxResponseBytes %d", consumed, max)
		}
		if want.StatusCode != 101 || !hasTokenFold(want.Header, "Upgrade", "websocket") || !hasTokenFold(want.Header, "Connection", "upgrade") {
			t.Fatalf("Dial accepted a response that is not an upgrade:\n%q", sent)
		}
		if a := want.Header.Values("Sec-WebSocket-Accept"); len(a) != 1 || strings.Trim(a[0], " \t") != handshake.ComputeAccept(key) {
			t.Fatalf("Dial accepted Sec-WebSocket-Accept %q for key %q:\n%q", a, key, sent)
		}
		if p := want.Header.Values("Sec-WebSocket-Protocol"); len(p) > 1 || len(p) == 1 && !contains(d.Subprotocols, strings.Trim(p[0], " \t")) {
			t.Fatalf("Dial accepted subprotocol %q, offered %q", p, d.Subprotocols)
		}
		if p := strings.Trim(want.Header.Get("Sec-WebSocket-Protocol"), " \t"); res.Subprotocol != p {
			t.Fatalf("Result.Subprotocol = %q, the response says %q", res.Subprotocol, p)
		}
		if e := strings.Join(want.Header.Values("Sec-WebSocket-Extensions"), ", "); strings.Trim(e, " \t,") != "" && (d.CheckExtensions == nil || d.CheckExtensions(e) != nil) {
			t.Fatalf("Dial accepted extensions %q", e)
		}
		if !bytes.HasPrefix(sent[consumed:], res.Buffered) {
			t.Fatalf("Result.Buffered = %q, not what follows the response: %q", res.Buffered, sent[consumed:])
		}
	})
}
