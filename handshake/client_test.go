package handshake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// noProxy keeps tests independent of the environment's proxy settings.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

func wsURL(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "http", "ws", 1)
}

// echoServer upgrades with u, then echoes everything back until the client
// closes. The handler returns when the connection is done.
func echoServer(t *testing.T, u *Upgrader, tls bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		defer res.Conn.Close()
		res.Conn.SetDeadline(time.Now().Add(10 * time.Second))
		res.Conn.Write(res.Buffered)
		io.Copy(res.Conn, res.Conn)
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS failures
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// rawServer answers every request by writing respond(key) to the hijacked
// connection, then drains it until the client closes.
func rawServer(t *testing.T, respond func(key string) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, respond(r.Header.Get("Sec-WebSocket-Key")))
		io.Copy(io.Discard, c)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func okResponse(key string, extra ...string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + ComputeAccept(key) + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// roundTrip writes msg and reads it back through an echo server.
func roundTrip(t *testing.T, res *Result, msg string) {
	t.Helper()
	if _, err := io.WriteString(res.Conn, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(io.MultiReader(bytes.NewReader(res.Buffered), res.Conn), got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

func TestDialSuccess(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		gotReq  *http.Request
		gotOffs []string
	)
	u := &Upgrader{
		Subprotocols: []string{"chat", "superchat"},
		NegotiateExtensions: func(offers []string) (string, error) {
			mu.Lock()
			gotOffs = offers
			mu.Unlock()
			return "x-test; a=1", nil
		},
		CheckOrigin: func(r *http.Request) bool {
			mu.Lock()
			gotReq = r
			mu.Unlock()
			return true
		},
	}
	srv := echoServer(t, u, false)
	var checked string
	d := &Dialer{
		Proxy:           noProxy,
		Header:          http.Header{"Origin": {"http://example.com"}, "X-Custom": {"1", "2"}},
		Subprotocols:    []string{"superchat", "chat"},
		Extensions:      []string{"x-test; a=1", "x-other"},
		CheckExtensions: func(resp string) error { checked = resp; return nil },
	}
	res, resp, err := d.Dial(context.Background(), wsURL(srv)+"/path?q=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	if resp == nil || resp != res.Response || resp.StatusCode != 101 {
		t.Errorf("response %v, Result.Response %v", resp, res.Response)
	}
	if res.Subprotocol != "chat" || res.Extensions != "x-test; a=1" || checked != "x-test; a=1" {
		t.Errorf("Subprotocol %q, Extensions %q, checked %q", res.Subprotocol, res.Extensions, checked)
	}
	if res.Request == nil || res.Request.Header.Get("Sec-WebSocket-Key") == "" {
		t.Errorf("Result.Request %v lacks the key", res.Request)
	}
	mu.Lock()
	r := gotReq
	offs := gotOffs
	mu.Unlock()
	if r.URL.RequestURI() != "/path?q=1" || r.Host != srv.Listener.Addr().String() {
		t.Errorf("server saw %s for host %q", r.URL.RequestURI(), r.Host)
	}
	if got := r.Header.Values("X-Custom"); strings.Join(got, ",") != "1,2" || r.Header.Get("Origin") != "http://example.com" {
		t.Errorf("custom headers not sent: %v", r.Header)
	}
	if strings.Join(offs, "|") != "x-test; a=1, x-other" {
		t.Errorf("extension offers %q", offs)
	}
	roundTrip(t, res, "hello, world")
}

func TestDialSchemes(t *testing.T) {
	t.Parallel()
	srv := echoServer(t, &Upgrader{}, false)
	d := &Dialer{Proxy: noProxy}
	for _, u := range []string{srv.URL, wsURL(srv), strings.Replace(wsURL(srv), "ws", "WS", 1)} {
		res, _, err := d.Dial(context.Background(), u)
		if err != nil {
			t.Errorf("Dial(%q): %v", u, err)
			continue
		}
		roundTrip(t, res, "x")
		res.Conn.Close()
	}
	for _, u := range []string{"ftp://127.0.0.1/", "127.0.0.1:80", "ws:///path", "ws://127.0.0.1:1/#frag", "ws://127.0.0.1:1/#", "ws://u:p@127.0.0.1:1/", "ws://%zz"} {
		res, resp, err := d.Dial(context.Background(), u)
		if err == nil || res != nil || resp != nil {
			t.Errorf("Dial(%q) = %v, %v, %v; want an error", u, res, resp, err)
		}
	}
}

func TestDialDefaultPorts(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]string{
		"ws://localhost/": "localhost:80", "wss://localhost": "localhost:443",
		"http://127.0.0.1/x": "127.0.0.1:80", "https://[::1]/": "[::1]:443", "ws://localhost:8080": "localhost:8080",
	} {
		var got string
		d := &Dialer{Proxy: noProxy, NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			got = addr
			return nil, errors.New("no dialing in this test")
		}}
		if _, _, err := d.Dial(context.Background(), u); err == nil || got != want {
			t.Errorf("Dial(%q) dialed %q, want %q (err %v)", u, got, want, err)
		}
	}
}

func TestDialRefusesProtocolHeaders(t *testing.T) {
	t.Parallel()
	for _, h := range []http.Header{
		{"Upgrade": {"websocket"}},
		{"connection": {"close"}},
		{"Sec-WebSocket-Key": {sampleKey}},
		{"Sec-Websocket-Version": {"13"}},
		{"Sec-WebSocket-Protocol": {"chat"}},
		{"Sec-WebSocket-Extensions": {"x"}},
		{"X-Bad": {"a\r\nX-Injected: 1"}},
		{"Bad Name": {"1"}},
	} {
		d := &Dialer{Proxy: noProxy, Header: h, NetDialContext: func(context.Context, string, string) (net.Conn, error) {
			t.Errorf("dialed despite header %v", h)
			return nil, errors.New("unreachable")
		}}
		if _, _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/"); err == nil {
			t.Errorf("Dial with header %v succeeded", h)
		}
	}
	d := &Dialer{Proxy: noProxy, Subprotocols: []string{"a b"}}
	if _, _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "subprotocol") {
		t.Errorf("invalid subprotocol name: %v", err)
	}
}

func TestDialHostOverride(t *testing.T) {
	t.Parallel()
	hosts := make(chan string, 1)
	srv := echoServer(t, &Upgrader{CheckOrigin: func(r *http.Request) bool { hosts <- r.Host; return true }}, false)
	d := &Dialer{Proxy: noProxy, Header: http.Header{"Host": {"chat.example.org"}}}
	res, _, err := d.Dial(context.Background(), wsURL(srv))
	if err != nil {
		t.Fatal(err)
	}
	res.Conn.Close()
	if h := <-hosts; h != "chat.example.org" {
		t.Errorf("server saw Host %q", h)
	}
}

func TestDialBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		d       Dialer
		respond func(key string) string
		want    string // in the error
	}{
		{name: "wrong accept", respond: func(string) string { return okResponse(sampleKey) }, want: "Sec-WebSocket-Accept"},
		{name: "no accept", respond: func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, want: "Sec-WebSocket-Accept"},
		{name: "two accepts", respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Accept: "+ComputeAccept(k)+"\r\n") }, want: "Sec-WebSocket-Accept"},
		{name: "no upgrade", respond: func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + ComputeAccept(k) + "\r\n\r\n"
		}, want: "Upgrade"},
		{name: "no connection", respond: func(k string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + ComputeAccept(k) + "\r\n\r\n"
		}, want: "Connection"},
		{name: "status 200", respond: func(k string) string {
			return strings.Replace(okResponse(k), "101 Switching Protocols", "200 OK", 1)
		}, want: "200 OK"},
		{name: "unoffered subprotocol", d: Dialer{Subprotocols: []string{"a"}},
			respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Protocol: b\r\n") }, want: "subprotocol"},
		{name: "subprotocol without offer",
			respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Protocol: a\r\n") }, want: "subprotocol"},
		{name: "two subprotocols", d: Dialer{Subprotocols: []string{"a", "b"}},
			respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Protocol: a, b\r\n") }, want: "subprotocol"},
		{name: "unexpected extension",
			respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Extensions: permessage-deflate\r\n") }, want: "extension"},
		{name: "refused extension", d: Dialer{CheckExtensions: func(string) error { return errors.New("nope") }},
			respond: func(k string) string { return okResponse(k, "Sec-WebSocket-Extensions: x\r\n") }, want: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, tt.respond)
			tt.d.Proxy = noProxy
			res, resp, err := tt.d.Dial(context.Background(), wsURL(srv))
			if err == nil {
				res.Conn.Close()
				t.Fatal("Dial succeeded")
			}
			if res != nil || resp == nil {
				t.Errorf("Dial returned Result %v, response %v; want nil, non-nil", res, resp)
			}
			if !errors.Is(err, ErrBadHandshake) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want ErrBadHandshake mentioning %q", err, tt.want)
			}
		})
	}
}

func TestDialErrorStatusKeepsBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, big)
			return
		}
		w.Header().Set("X-Why", "because")
		http.Error(w, "go away", http.StatusForbidden)
	}))
	defer srv.Close()
	d := &Dialer{Proxy: noProxy}
	res, resp, err := d.Dial(context.Background(), wsURL(srv))
	if err == nil || res != nil || resp == nil {
		t.Fatalf("Dial = %v, %v, %v", res, resp, err)
	}
	if resp.StatusCode != 403 || resp.Header.Get("X-Why") != "because" {
		t.Errorf("response %s %v", resp.Status, resp.Header)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "go away\n" {
		t.Errorf("body %q, %v", body, err)
	}
	resp.Body.Close()

	_, resp, err = d.Dial(context.Background(), wsURL(srv)+"/big")
	if err == nil || resp == nil || resp.StatusCode != 200 {
		t.Fatalf("Dial /big = %v, %v", resp, err)
	}
	if body, _ := io.ReadAll(resp.Body); len(body) != maxErrorBodyBytes || string(body) != big[:len(body)] {
		t.Errorf("body has %d bytes, want the first %d", len(body), maxErrorBodyBytes)
	}
}

func TestDialMaxResponseBytes(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(k string) string {
		return okResponse(k, "X-Big: "+strings.Repeat("b", 100<<10)+"\r\n")
	})
	_, resp, err := (&Dialer{Proxy: noProxy}).Dial(context.Background(), wsURL(srv))
	if err == nil || resp != nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("default limit: resp %v, err %v", resp, err)
	}
	small := rawServer(t, func(k string) string { return okResponse(k, "X-Pad: "+strings.Repeat("p", 2000)+"\r\n") })
	_, _, err = (&Dialer{Proxy: noProxy, MaxResponseBytes: 1000}).Dial(context.Background(), wsURL(small))
	if err == nil || !strings.Contains(err.Error(), "larger than 1000") {
		t.Errorf("MaxResponseBytes 1000: %v", err)
	}
	res, _, err := (&Dialer{Proxy: noProxy, MaxResponseBytes: 4000}).Dial(context.Background(), wsURL(small))
	if err != nil {
		t.Fatalf("MaxResponseBytes 4000: %v", err)
	}
	res.Conn.Close()
}

// TestDialBuffered checks that bytes sent right behind the 101 response are
// handed over, whether they arrive with it or later.
func TestDialBuffered(t *testing.T) {
	t.Parallel()
	const frames = "\x81\x05Hello\x89\x00" // RFC 6455, Section 5.7
	srv := rawServer(t, func(k string) string { return okResponse(k) + frames })
	res, _, err := (&Dialer{Proxy: noProxy}).Dial(context.Background(), wsURL(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	got := make([]byte, len(frames))
	if _, err := io.ReadFull(io.MultiReader(bytes.NewReader(res.Buffered), res.Conn), got); err != nil || string(got) != frames {
		t.Errorf("read %q, %v; want %q", got, err, frames)
	}

	// Deterministically: one Read delivers the response and the frames.
	d := &Dialer{Proxy: noProxy, NetDialContext: func(context.Context, string, string) (net.Conn, error) {
		return &scriptConn{respond: func(k string) string { return okResponse(k) + frames }}, nil
	}}
	res, _, err = d.Dial(context.Background(), "ws://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Buffered) != frames {
		t.Errorf("Buffered = %q, want %q", res.Buffered, frames)
	}
	if res.Conn.(*scriptConn).deadline != (time.Time{}) {
		t.Errorf("deadline not cleared")
	}
	res.Conn.Close()
}

// scriptConn answers the request written to it with respond(key) in a
// single Read.
type scriptConn struct {
	net.Conn
	mu       sync.Mutex
	respond  func(key string) string
	resp     *strings.Reader
	deadline time.Time
	closed   bool
}

func (c *scriptConn) Write(p []byte) (int, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(p)))
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.resp = strings.NewReader(c.respond(req.Header.Get("Sec-WebSocket-Key")))
	c.mu.Unlock()
	return len(p), nil
}

func (c *scriptConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resp == nil {
		return 0, errors.New("read before write")
	}
	return c.resp.Read(p)
}

func (c *scriptConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *scriptConn) Close() error { c.closed = true; return nil }

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return "ws://" + ln.Addr().String() + "/"
}

func TestDialContextDeadline(t *testing.T) {
	t.Parallel()
	u := silentListener(t)
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		d    Dialer
		is   error
	}{
		{name: "ctx deadline", is: context.DeadlineExceeded, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
		{name: "ctx cancel", is: context.Canceled, ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{name: "HandshakeTimeout", is: context.DeadlineExceeded, d: Dialer{HandshakeTimeout: 100 * time.Millisecond},
			ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := tt.ctx()
			defer cancel()
			tt.d.Proxy = noProxy
			start := time.Now()
			res, resp, err := tt.d.Dial(ctx, u)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("Dial took %v", elapsed)
			}
			if err == nil || res != nil || resp != nil {
				t.Fatalf("Dial = %v, %v, %v; want an error", res, resp, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// TestDialContextAfterSuccess checks that the context no longer matters once
// Dial has returned.
func TestDialContextAfterSuccess(t *testing.T) {
	t.Parallel()
	srv := echoServer(t, &Upgrader{}, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	res, _, err := (&Dialer{Proxy: noProxy, HandshakeTimeout: 50 * time.Millisecond}).Dial(ctx, wsURL(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	cancel()
	time.Sleep(100 * time.Millisecond)
	roundTrip(t, res, "still here")
}

func TestDialTLS(t *testing.T) {
	t.Parallel()
	srv := echoServer(t, &Upgrader{Subprotocols: []string{"chat"}}, true)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	cfg.NextProtos = []string{"h2", "http/1.1"}
	d := &Dialer{Proxy: noProxy, TLSConfig: cfg, Subprotocols: []string{"chat"}}
	u := strings.Replace(srv.URL, "https", "wss", 1)
	res, _, err := d.Dial(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	if res.Subprotocol != "chat" {
		t.Errorf("Subprotocol %q", res.Subprotocol)
	}
	roundTrip(t, res, "secret")
	if cfg.ServerName != "" || len(cfg.NextProtos) != 2 {
		t.Errorf("Dial modified the caller's tls.Config")
	}

	// Without the test CA, verification fails.
	if _, _, err := (&Dialer{Proxy: noProxy}).Dial(context.Background(), u); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Dial without the CA: %v", err)
	}
}

// proxy is a minimal HTTP CONNECT proxy on 127.0.0.1.
type proxy struct {
	url      *url.URL
	wantAuth string
	mu       sync.Mutex
	connects []string
}

func startProxy(t *testing.T, user, password string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{url: &url.URL{Scheme: "http", Host: ln.Addr().String()}}
	if user != "" {
		p.url.User = url.UserPassword(user, password)
		p.wantAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return p
}

func (p *proxy) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.connects = append(p.connects, req.Method+" "+req.RequestURI)
	p.mu.Unlock()
	if req.Method != http.MethodConnect || !strings.HasPrefix(req.RequestURI, "127.0.0.1:") {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if req.Header.Get("Proxy-Authorization") != p.wantAuth {
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", req.RequestURI)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.Close()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func TestDialProxy(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, "alice", "s3cr:t")
			srv := echoServer(t, &Upgrader{}, secure)
			u := wsURL(srv)
			var seen *url.URL
			d := &Dialer{Proxy: func(r *http.Request) (*url.URL, error) { seen = r.URL; return p.url, nil }}
			if secure {
				d.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			res, _, err := d.Dial(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Conn.Close()
			roundTrip(t, res, "through the tunnel")
			p.mu.Lock()
			connects := p.connects
			p.mu.Unlock()
			if want := "CONNECT " + srv.Listener.Addr().String(); len(connects) != 1 || connects[0] != want {
				t.Errorf("proxy saw %q, want %q", connects, want)
			}
			wantScheme := map[bool]string{false: "http", true: "https"}[secure]
			if seen == nil || seen.Scheme != wantScheme {
				t.Errorf("Proxy func saw URL %v, want scheme %s", seen, wantScheme)
			}
		})
	}
}

func TestDialProxyErrors(t *testing.T) {
	t.Parallel()
	p := startProxy(t, "alice", "right")
	srv := echoServer(t, &Upgrader{}, false)
	bad := *p.url
	bad.User = url.UserPassword("alice", "wrong")
	for name, proxyURL := range map[string]*url.URL{
		"wrong password": &bad,
		"no password":    {Scheme: "http", Host: p.url.Host},
	} {
		d := &Dialer{Proxy: http.ProxyURL(proxyURL)}
		res, resp, err := d.Dial(context.Background(), wsURL(srv))
		if err == nil || res != nil || resp != nil || !strings.Contains(err.Error(), "407") {
			t.Errorf("%s: Dial = %v, %v, %v; want a 407 error", name, res, resp, err)
		}
	}
	for _, pu := range []string{"socks5://127.0.0.1:1", "https://127.0.0.1:1"} {
		u, _ := url.Parse(pu)
		if _, _, err := (&Dialer{Proxy: http.ProxyURL(u)}).Dial(context.Background(), wsURL(srv)); err == nil || !strings.Contains(err.Error(), "proxy scheme") {
			t.Errorf("proxy %s: %v", pu, err)
		}
	}
	perr := errors.New("proxy lookup failed")
	d := &Dialer{Proxy: func(*http.Request) (*url.URL, error) { return nil, perr }}
	if _, _, err := d.Dial(context.Background(), wsURL(srv)); !errors.Is(err, perr) {
		t.Errorf("Proxy error: %v", err)
	}
}
