package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const sampleKey, sampleAccept = "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// fakeConn is the net.Conn handed out by hijackRecorder; it records what is
// written to it.
type fakeConn struct {
	net.Conn // nil: methods not overridden panic
	mu       sync.Mutex
	out      bytes.Buffer
	closed   bool
	deadline time.Time
}

func (c *fakeConn) Read([]byte) (int, error) { return 0, io.EOF }
func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}
func (c *fakeConn) Close() error                  { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }
func (c *fakeConn) SetDeadline(t time.Time) error { c.deadline = t; return nil }

// hijackRecorder is an httptest.ResponseRecorder that can be hijacked;
// pending plays the bytes the server had read past the request.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	conn     *fakeConn
	pending  string
	hijacked bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	br := bufio.NewReader(strings.NewReader(h.pending))
	br.Peek(len(h.pending))
	return h.conn, bufio.NewReadWriter(br, bufio.NewWriter(h.conn)), nil
}

// newUpgradeRequest returns a valid opening handshake (the example of
// RFC 6455, Section 1.3, less the optional fields).
func newUpgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://server.example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", sampleKey)
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// upgrade runs u.Upgrade on a copy of the sample request changed by mutate.
func upgrade(u *Upgrader, mutate func(r *http.Request), pending string) (*Result, error, *hijackRecorder) {
	r := newUpgradeRequest()
	if mutate != nil {
		mutate(r)
	}
	w := &hijackRecorder{ResponseRecorder: httptest.NewRecorder(), conn: &fakeConn{deadline: time.Unix(1, 0)}, pending: pending}
	res, err := u.Upgrade(w, r)
	return res, err, w
}

func set(kv ...string) func(r *http.Request) {
	return func(r *http.Request) {
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				r.Header.Del(kv[i])
			} else {
				r.Header.Set(kv[i], kv[i+1])
			}
		}
	}
}

func TestUpgradeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		u      Upgrader
		mutate func(r *http.Request)
		code   int
		is     error
		header string // "Name: value" expected in the error response
	}{
		{name: "POST", mutate: func(r *http.Request) { r.Method = http.MethodPost }, code: 405, is: ErrBadHandshake, header: "Allow: GET"},
		{name: "HEAD", mutate: func(r *http.Request) { r.Method = http.MethodHead }, code: 405},
		{name: "HTTP/1.0", mutate: func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.0", 1, 0 }, code: 400},
		{name: "no Upgrade", mutate: set("Upgrade", ""), code: 400, is: ErrBadHandshake},
		{name: "Upgrade h2c", mutate: set("Upgrade", "h2c"), code: 400},
		{name: "Upgrade websocket2", mutate: set("Upgrade", "websocket2"), code: 400},
		{name: "no Connection", mutate: set("Connection", ""), code: 400},
		{name: "Connection keep-alive", mutate: set("Connection", "keep-alive"), code: 400},
		{name: "Connection upgraded", mutate: set("Connection", "upgraded, close"), code: 400},
		{name: "no version", mutate: set("Sec-WebSocket-Version", ""), code: 426, is: ErrUnsupportedVersion, header: "Sec-Websocket-Version: 13"},
		{name: "version 8", mutate: set("Sec-WebSocket-Version", "8"), code: 426, is: ErrUnsupportedVersion, header: "Sec-Websocket-Version: 13"},
		{name: "version 14", mutate: set("Sec-WebSocket-Version", "14"), code: 426, header: "Sec-Websocket-Version: 13"},
		{name: "version list", mutate: set("Sec-WebSocket-Version", "13, 8"), code: 426},
		{name: "two versions", mutate: func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "13") }, code: 426},
		{name: "no key", mutate: set("Sec-WebSocket-Key", ""), code: 400, is: ErrBadHandshake},
		{name: "empty key", mutate: func(r *http.Request) { r.Header["Sec-Websocket-Key"] = []string{""} }, code: 400},
		{name: "key 15 bytes", mutate: set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), code: 400},
		{name: "key 17 bytes", mutate: set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), code: 400},
		{name: "key not base64", mutate: set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ!!"), code: 400},
		{name: "key unpadded", mutate: set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"), code: 400},
		{name: "two keys", mutate: func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", sampleKey) }, code: 400},
		{name: "cross origin", mutate: set("Origin", "http://evil.example"), code: 403, is: ErrOriginNotAllowed},
		{name: "origin other port", mutate: set("Origin", "http://server.example.com:8080"), code: 403},
		{name: "origin null", mutate: set("Origin", "null"), code: 403},
		{name: "origin garbage", mutate: set("Origin", "::"), code: 403},
		{name: "two origins", mutate: func(r *http.Request) {
			r.Header.Add("Origin", "http://server.example.com")
			r.Header.Add("Origin", "http://server.example.com")
		}, code: 403},
		{name: "origin not in allow-list", u: Upgrader{AllowedOrigins: []string{"*.example.org", "localhost:*"}},
			mutate: set("Origin", "https://example.org"), code: 403},
		{name: "origin bad pattern", u: Upgrader{AllowedOrigins: []string{"["}}, mutate: set("Origin", "http://["), code: 403},
		{name: "CheckOrigin false", u: Upgrader{CheckOrigin: func(*http.Request) bool { return false }}, code: 403, is: ErrOriginNotAllowed},
		{name: "CheckOrigin overrides allow-list", u: Upgrader{
			CheckOrigin: func(*http.Request) bool { return false }, AllowedOrigins: []string{"*"}},
			mutate: set("Origin", "http://server.example.com"), code: 403},
		{name: "extension hook error", u: Upgrader{NegotiateExtensions: func([]string) (string, error) { return "", errors.New("no thanks") }},
			mutate: set("Sec-WebSocket-Extensions", "permessage-deflate"), code: 400},
		{name: "extension response with CRLF", u: Upgrader{NegotiateExtensions: func([]string) (string, error) { return "a\r\nX-Evil: 1", nil }},
			mutate: set("Sec-WebSocket-Extensions", "a"), code: 500},
		{name: "reserved Upgrader.Header", u: Upgrader{Header: http.Header{"Sec-Websocket-Accept": {"x"}}}, code: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err, w := upgrade(&tt.u, tt.mutate, "")
			if res != nil || err == nil {
				t.Fatalf("Upgrade succeeded, want status %d", tt.code)
			}
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if he.StatusCode != tt.code || w.Code != tt.code {
				t.Errorf("status: error says %d, response has %d; want %d (%v)", he.StatusCode, w.Code, tt.code, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if w.hijacked {
				t.Errorf("connection was hijacked")
			}
			if got := w.Header().Get("Connection"); got != "close" {
				t.Errorf("Connection = %q, want close", got)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				if got := w.Header().Values(name); len(got) != 1 || got[0] != value {
					t.Errorf("header %s = %q, want %q", name, got, value)
				}
			}
			if he.Reason == "" || !strings.Contains(w.Body.String(), he.Reason) {
				t.Errorf("body %q does not give the reason %q", w.Body.String(), he.Reason)
			}
		})
	}
}

// readResponse parses what Upgrade wrote to the hijacked connection.
func readResponse(t *testing.T, w *hijackRecorder) *http.Response {
	t.Helper()
	if w.Code != http.StatusOK || w.Body.Len() != 0 || len(w.HeaderMap) != 0 {
		t.Errorf("Upgrade wrote to the ResponseWriter: %d %v %q", w.Code, w.HeaderMap, w.Body)
	}
	wire := w.conn.out.String()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(wire)), nil)
	if err != nil {
		t.Fatalf("bad response %q: %v", wire, err)
	}
	if !strings.HasSuffix(wire, "\r\n\r\n") {
		t.Errorf("response %q has bytes after the header", wire)
	}
	return resp
}

func TestUpgradeAccepts(t *testing.T) {
	t.Parallel()
	allow := Upgrader{AllowedOrigins: []string{"*.example.org", "localhost:*", "EXACT.example.net"}}
	tests := []struct {
		name   string
		u      Upgrader
		mutate func(r *http.Request)
	}{
		{name: "RFC example"},
		{name: "HTTP/2.0 proto", mutate: func(r *http.Request) { r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0 }},
		{name: "Upgrade case", mutate: set("Upgrade", "WebSocket")},
		{name: "Upgrade list", mutate: set("Upgrade", "foo/2, websocket")},
		{name: "Connection keep-alive, Upgrade", mutate: set("Connection", "keep-alive, Upgrade")},
		{name: "Connection whitespace", mutate: set("Connection", " \tkeep-alive ,UPGRADE\t")},
		{name: "Connection two lines", mutate: func(r *http.Request) {
			r.Header.Set("Connection", "keep-alive")
			r.Header.Add("Connection", "upgrade")
		}},
		{name: "Upgrade two lines", mutate: func(r *http.Request) {
			r.Header.Set("Upgrade", "h2c")
			r.Header.Add("Upgrade", "websocket")
		}},
		{name: "version with spaces", mutate: set("Sec-WebSocket-Version", " 13 ")},
		{name: "same origin", mutate: set("Origin", "http://server.example.com")},
		{name: "same origin https", mutate: set("Origin", "https://server.example.com")},
		{name: "same origin case", mutate: set("Origin", "HTTP://Server.Example.COM")},
		{name: "same origin with port", mutate: func(r *http.Request) {
			r.Host = "server.example.com:8080"
			r.Header.Set("Origin", "http://server.example.com:8080")
		}},
		{name: "allow-list wildcard", u: allow, mutate: set("Origin", "https://api.Example.org")},
		{name: "allow-list port wildcard", u: allow, mutate: set("Origin", "http://localhost:3000")},
		{name: "allow-list case", u: allow, mutate: set("Origin", "http://exact.EXAMPLE.net")},
		{name: "CheckOrigin true", u: Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "null" }},
			mutate: set("Origin", "null")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err, w := upgrade(&tt.u, tt.mutate, "")
			if err != nil {
				t.Fatalf("Upgrade: %v", err)
			}
			resp := readResponse(t, w)
			if resp.StatusCode != 101 {
				t.Errorf("status %d, want 101", resp.StatusCode)
			}
			for name, want := range map[string]string{
				"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": sampleAccept,
				"Sec-WebSocket-Protocol": "", "Sec-WebSocket-Extensions": "",
			} {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if res.Conn != w.conn || res.Buffered != nil || res.Subprotocol != "" || res.Extensions != "" || res.Response != nil || res.Request == nil {
				t.Errorf("bad result %+v", res)
			}
			if !w.conn.deadline.IsZero() {
				t.Errorf("deadline not cleared after hijack")
			}
			if w.conn.closed {
				t.Errorf("connection closed")
			}
		})
	}
}

func TestUpgradeSubprotocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		server  []string
		offered []string // header lines
		want    string
	}{
		{server: nil, offered: []string{"chat"}, want: ""},
		{server: []string{"chat"}, offered: nil, want: ""},
		{server: []string{"chat"}, offered: []string{"superchat, chat"}, want: "chat"},
		{server: []string{"b", "a"}, offered: []string{"a, b"}, want: "b"},
		{server: []string{"a", "b"}, offered: []string{"b, a"}, want: "a"},
		{server: []string{"c"}, offered: []string{"a, b"}, want: ""},
		{server: []string{"x", "b"}, offered: []string{"a", " b ,c"}, want: "b"},
		{server: []string{"Chat"}, offered: []string{"chat"}, want: ""},
	}
	for _, tt := range tests {
		u := &Upgrader{Subprotocols: tt.server}
		res, err, w := upgrade(u, func(r *http.Request) { r.Header["Sec-Websocket-Protocol"] = tt.offered }, "")
		if err != nil {
			t.Fatalf("server %q, offered %q: %v", tt.server, tt.offered, err)
		}
		resp := readResponse(t, w)
		got := resp.Header.Values("Sec-WebSocket-Protocol")
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
			t.Errorf("server %q, offered %q: Sec-WebSocket-Protocol %q, want %q", tt.server, tt.offered, got, tt.want)
		}
		if res.Subprotocol != tt.want {
			t.Errorf("server %q, offered %q: Result.Subprotocol %q, want %q", tt.server, tt.offered, res.Subprotocol, tt.want)
		}
	}
}

func TestUpgradeExtensions(t *testing.T) {
	t.Parallel()
	var gotOffers []string
	calls := 0
	u := &Upgrader{NegotiateExtensions: func(offers []string) (string, error) {
		calls++
		gotOffers = offers
		return "permessage-deflate; server_no_context_takeover", nil
	}}
	offers := []string{"permessage-deflate; client_max_window_bits, x-foo", "x-bar"}
	res, err, w := upgrade(u, func(r *http.Request) { r.Header["Sec-Websocket-Extensions"] = offers }, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotOffers, "|") != strings.Join(offers, "|") {
		t.Errorf("hook got offers %q, want %q", gotOffers, offers)
	}
	const want = "permessage-deflate; server_no_context_takeover"
	if got := readResponse(t, w).Header.Get("Sec-WebSocket-Extensions"); got != want || res.Extensions != want {
		t.Errorf("Sec-WebSocket-Extensions %q, Result.Extensions %q, want %q", got, res.Extensions, want)
	}
	if el, err := res.ExtensionElements(); err != nil || len(el) != 1 || el[0].Name != "permessage-deflate" || !el[0].Has("server_no_context_takeover") {
		t.Errorf("ExtensionElements = %+v, %v", el, err)
	}

	// No offer: the hook is not called and no header is sent.
	res, err, w = upgrade(u, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || res.Extensions != "" || readResponse(t, w).Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Errorf("without offers: hook called %d times, Result.Extensions %q", calls, res.Extensions)
	}

	// No hook: offers are declined.
	res, err, w = upgrade(&Upgrader{}, set("Sec-WebSocket-Extensions", "permessage-deflate"), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Extensions != "" || len(readResponse(t, w).Header.Values("Sec-WebSocket-Extensions")) != 0 {
		t.Errorf("nil hook accepted an extension")
	}

	// An empty response declines too.
	u = &Upgrader{NegotiateExtensions: func([]string) (string, error) { return "", nil }}
	res, err, w = upgrade(u, set("Sec-WebSocket-Extensions", "x"), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Extensions != "" || len(readResponse(t, w).Header.Values("Sec-WebSocket-Extensions")) != 0 {
		t.Errorf("empty hook response sent a header")
	}
}

func TestUpgradeHeaderAndBuffered(t *testing.T) {
	t.Parallel()
	u := &Upgrader{Header: http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Server": {"hybi"}}}
	const pending = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" // a masked "Hello" (RFC 6455, Section 5.7)
	res, err, w := upgrade(u, nil, pending)
	if err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, w)
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, "|") != "a=1|b=2" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if got := resp.Header.Get("X-Server"); got != "hybi" {
		t.Errorf("X-Server = %q", got)
	}
	if string(res.Buffered) != pending {
		t.Errorf("Buffered = %q, want %q", res.Buffered, pending)
	}
}

func TestUpgradeNotHijackable(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	res, err := (&Upgrader{}).Upgrade(w, newUpgradeRequest())
	var he *Error
	if res != nil || !errors.As(err, &he) || he.StatusCode != 500 || w.Code != 500 {
		t.Fatalf("Upgrade = %v, %v (code %d); want a 500 *Error", res, err, w.Code)
	}
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("error %v does not wrap http.ErrNotSupported", err)
	}
}

// TestUpgradeServer runs Upgrade in a real net/http server, with a client
// that pipelines a frame right behind its request.
func TestUpgradeServer(t *testing.T) {
	t.Parallel()
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := (&Upgrader{Subprotocols: []string{"chat"}}).Upgrade(w, r)
		done <- outcome{res, err}
	}))
	srv.Config.ReadTimeout = 50 * time.Millisecond // must be cleared by the hijack
	srv.Start()
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
	req := "GET /chat HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + sampleKey + "\r\n" +
		"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Version: 13\r\n\r\n" + frame
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	out := <-done
	if out.err != nil {
		t.Fatal(out.err)
	}
	defer out.res.Conn.Close()

	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != sampleAccept || resp.Header.Get("Sec-WebSocket-Protocol") != "chat" {
		t.Fatalf("bad response %v %v", resp.Status, resp.Header)
	}
	time.Sleep(60 * time.Millisecond) // past the ReadTimeout
	got := make([]byte, len(frame))
	if _, err := io.ReadFull(io.MultiReader(bytes.NewReader(out.res.Buffered), out.res.Conn), got); err != nil {
		t.Fatalf("reading the pipelined frame: %v", err)
	}
	if string(got) != frame {
		t.Errorf("pipelined frame %q, want %q", got, frame)
	}
	// The connection is usable both ways, and no deadline is left.
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(out.res.Conn, got[:4]); err != nil || string(got[:4]) != "ping" {
		t.Fatalf("server read %q, %v", got[:4], err)
	}
	if _, err := out.res.Conn.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(io.LimitReader(br, 4)); err != nil || string(got) != "pong" {
		t.Errorf("client read %q, %v", got, err)
	}
}
