package handshake

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

const (
	defaultHandshakeTimeout = 10 * time.Second
	defaultMaxResponseBytes = 64 << 10
	maxErrorBodyBytes       = 1 << 10
)

// Dialer connects to WebSocket servers: the client side of the opening
// handshake (RFC 6455, Section 4.1). The zero value is ready to use.
//
// A Dialer may be used by many goroutines at once, provided its fields are
// not modified meanwhile.
type Dialer struct {
	// NetDialContext dials the TCP connection to the server or proxy.
	// If nil, a zero net.Dialer is used.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig configures TLS for wss:// URLs. It is cloned; an empty
	// ServerName is set to the URL's host, and NextProtos is set as HTTP2
	// requires: without "h2" for HTTP2Never, "h2" then "http/1.1"
	// otherwise.
	TLSConfig *tls.Config

	// HTTP2 says whether a wss:// WebSocket may be opened on an HTTP/2
	// stream (RFC 8441) rather than with the HTTP/1.1 handshake; see
	// HTTP2Mode. The zero value is HTTP2Never.
	HTTP2 HTTP2Mode

	// HTTP2Pool, if not nil, keeps the HTTP/2 connections, so that the
	// WebSockets dialled with it share them. If nil, a WebSocket opened
	// over HTTP/2 has a connection of its own, closed with it.
	HTTP2Pool *HTTP2Pool

	// Proxy returns the URL of the HTTP proxy to tunnel through with CONNECT,
	// or nil for a direct connection. It is called with a request whose URL
	// has the scheme http (for ws) or https (for wss). Only http:// proxies
	// are supported; user information in the proxy URL is sent as
	// Proxy-Authorization basic credentials. If Proxy is nil,
	// http.ProxyFromEnvironment is used; to never use a proxy, set a func
	// that returns nil, nil.
	Proxy func(*http.Request) (*url.URL, error)

	// Header holds extra header fields for the handshake request, such as
	// Origin or Cookie. Header["Host"] overrides the Host header. The fields
	// the handshake sets itself (Upgrade, Connection and the
	// Sec-WebSocket-* fields) may not be set: Dial fails if they are.
	Header http.Header

	// Subprotocols lists the subprotocols to offer, in order of preference
	// (RFC 6455, Section 4.1, Sec-WebSocket-Protocol). Each must be a token.
	Subprotocols []string

	// Extensions lists the extension offers to send, each a value of the
	// Sec-WebSocket-Extensions header (RFC 6455, Section 9.1).
	Extensions []string

	// RequireSubprotocol makes Dial fail with an error wrapping
	// ErrNoSubprotocol when Subprotocols is not empty and the server selected
	// none of them. Without it such a Dial succeeds with Result.Subprotocol
	// "": RFC 6455, Section 4.2.2 lets a server select none, and many
	// servers ignore the header altogether, so a client that cannot speak
	// without its subprotocol should set it (or check Result.Subprotocol).
	RequireSubprotocol bool

	// CheckExtensions validates the server's Sec-WebSocket-Extensions
	// response (all its header fields joined with ", "); an error fails the
	// handshake. It is called only when the response names an extension. If
	// CheckExtensions is nil, any extension in the response fails the
	// handshake (RFC 6455, Section 4.1).
	CheckExtensions func(response string) error

	// HandshakeTimeout bounds the whole of Dial: connecting, the proxy and
	// TLS handshakes, and the opening handshake. Zero means 10 seconds;
	// negative means no limit other than the context's.
	HandshakeTimeout time.Duration

	// MaxResponseBytes limits the size of the server's status line and
	// header fields. Zero means 64 KiB.
	MaxResponseBytes int
}

// Dial connects to the WebSocket server at rawURL (scheme ws or wss; http and
// https are accepted as aliases) and performs the opening handshake of
// RFC 6455, Section 4.1. With HTTP2 set, a wss:// WebSocket may instead be opened
// on an HTTP/2 stream with the extended CONNECT of RFC 8441; the response
// is then HTTP/2's 200. The context bounds the whole of Dial, together with
// HandshakeTimeout; once Dial returns, the context no longer affects the
// connection.
//
// On success Dial returns the Result and the server's response. If the
// server's response was read but the handshake failed, Dial returns a nil
// Result, that response (whose Body holds at most the first kilobyte of
// the response body) and an error; the connection is closed. When the
// status was not the handshake's, the error is a [*StatusError], which
// shows the status and the first line of the body (a server's refusal
// says why there; hybi's Upgrader names the setting that refused).
func (d *Dialer) Dial(ctx context.Context, rawURL string) (*Result, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	var secure bool
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, nil, fmt.Errorf("handshake: unsupported URL scheme %q", u.Scheme)
	}
	// RFC 6455, Section 3: fragment identifiers are meaningless in
	// WebSocket URIs.
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return nil, nil, errors.New("handshake: URL must not contain a fragment")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, nil, fmt.Errorf("handshake: missing host in URL %q", rawURL)
	}
	if u.User != nil {
		return nil, nil, errors.New("handshake: URL must not contain user information")
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)

	if err := checkHeader(d.Header); err != nil {
		return nil, nil, err
	}
	for _, p := range d.Subprotocols {
		if !isToken(p) {
			return nil, nil, fmt.Errorf("handshake: invalid subprotocol name %q", p)
		}
	}
	for _, e := range d.Extensions {
		if !validHeaderValue(e) {
			return nil, nil, fmt.Errorf("handshake: invalid extension offer %q", e)
		}
	}

	key := GenerateKey()
	header := make(http.Header, len(d.Header)+6)
	host := u.Host
	for k, vs := range d.Header {
		k = http.CanonicalHeaderKey(k)
		if k == "Host" {
			if len(vs) > 0 {
				host = vs[0]
			}
			continue
		}
		header[k] = append(header[k], vs...)
	}
	// The request as it goes on the wire; Request.Header also lists the
	// fields the handshake sets, for the caller's information.
	reqURL := *u
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &reqURL,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header.Clone(),
		Host:       host,
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(d.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(d.Subprotocols, ", "))
	}
	if len(d.Extensions) > 0 {
		req.Header.Set("Sec-WebSocket-Extensions", strings.Join(d.Extensions, ", "))
	}

	timeout := d.HandshakeTimeout
	if timeout == 0 {
		timeout = defaultHandshakeTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req = req.WithContext(ctx)

	pool := d.HTTP2Pool
	if d.HTTP2 != HTTP2Never {
		if !secure {
			if d.HTTP2 == HTTP2Always {
				return nil, nil, fmt.Errorf("handshake: HTTP/2 needs a wss:// URL: %w", ErrExtendedConnectNotSupported)
			}
		} else if pool != nil {
			// A stream on a connection the pool already has.
			if rt := pool.cached(); rt != nil {
				res, resp, err := d.roundTripStream(ctx, rt, req, nil, nil, nil)
				switch {
				case err == nil || resp != nil:
					return res, resp, err
				case errors.Is(err, ErrExtendedConnectNotSupported) && d.HTTP2 == HTTP2IfOffered:
					return d.dialHTTP1(ctx, rawURL)
				case !isNoCachedConn(err):
					return nil, nil, contextError(ctx, err)
				}
			}
		}
	}

	proxyURL, err := d.proxyURL(req, secure)
	if err != nil {
		return nil, nil, err
	}
	dial := d.NetDialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	dialAddr := addr
	if proxyURL != nil {
		dialAddr = proxyURL.Host
		if proxyURL.Port() == "" {
			dialAddr = net.JoinHostPort(proxyURL.Hostname(), "80")
		}
	}
	nc, err := dial(ctx, "tcp", dialAddr)
	if err != nil {
		return nil, nil, contextError(ctx, fmt.Errorf("handshake: %w", err))
	}
	if nc == nil {
		return nil, nil, errors.New("handshake: NetDialContext returned a nil connection")
	}

	// From here on, the context's deadline is the connection's, and its
	// cancellation interrupts blocked reads and writes by moving the
	// connection's deadline to the past.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		nc.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})

	conn, err := d.connect(ctx, nc, proxyURL, addr, secure, u.Hostname())
	var h2 bool
	if tc, ok := conn.(*tls.Conn); ok && err == nil {
		h2 = tc.ConnectionState().NegotiatedProtocol == "h2"
		if !h2 && d.HTTP2 == HTTP2Always {
			err = fmt.Errorf("handshake: server did not select HTTP/2 in TLS: %w", ErrExtendedConnectNotSupported)
		}
	}
	var res *Result
	var resp *http.Response
	if err == nil && !h2 {
		res, resp, err = d.handshake(conn, req, key)
	}
	if !stop() {
		// The context ended; the deadline may be set at any moment, even
		// after a successful handshake. Wait for it, then fail.
		<-interrupted
		if err == nil {
			err = fmt.Errorf("handshake: %w", ctx.Err())
			res = nil
		}
	}
	if err != nil {
		nc.Close()
		return nil, resp, contextError(ctx, err)
	}
	if h2 {
		return d.dialStream(ctx, rawURL, conn.(*tls.Conn), req)
	}
	if err := res.Conn.SetDeadline(time.Time{}); err != nil {
		res.Conn.Close()
		return nil, resp, fmt.Errorf("handshake: %w", err)
	}
	return res, resp, nil
}

// contextError makes err, an error of Dial, wrap the context's error when
// the context's end caused it, so that errors.Is(err,
// context.DeadlineExceeded) holds after a timeout.
func contextError(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline, which is the context's, may expire a
		// moment before the context notices.
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr == nil || errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, cerr)
}

// proxyURL returns the proxy to use for req, or nil.
func (d *Dialer) proxyURL(req *http.Request, secure bool) (*url.URL, error) {
	proxy := d.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	// Proxy functions such as http.ProxyFromEnvironment know only the HTTP
	// schemes.
	preq := *req
	pu := *req.URL
	pu.Scheme = "http"
	if secure {
		pu.Scheme = "https"
	}
	preq.URL = &pu
	p, err := proxy(&preq)
	if err != nil {
		return nil, fmt.Errorf("handshake: proxy: %w", err)
	}
	if p == nil {
		return nil, nil
	}
	if p.Scheme != "http" {
		return nil, fmt.Errorf("handshake: unsupported proxy scheme %q", p.Scheme)
	}
	if p.Hostname() == "" {
		return nil, fmt.Errorf("handshake: missing host in proxy URL")
	}
	return p, nil
}

// connect runs the proxy and TLS handshakes over nc and returns the
// connection to speak HTTP on.
func (d *Dialer) connect(ctx context.Context, nc net.Conn, proxyURL *url.URL, addr string, secure bool, hostname string) (net.Conn, error) {
	if proxyURL != nil {
		if err := connectProxy(nc, proxyURL, addr); err != nil {
			return nil, err
		}
	}

	conn := nc
	if secure {
		cfg := d.TLSConfig.Clone()
		if cfg == nil {
			cfg = new(tls.Config)
		}
		if cfg.ServerName == "" {
			cfg.ServerName = hostname
		}
		switch d.HTTP2 {
		case HTTP2Always, HTTP2IfOffered:
			// http/1.1 too, even for HTTP2Always: a server without h2
			// would fail the TLS handshake with an alert otherwise,
			// rather than let Dial say what is missing.
			cfg.NextProtos = []string{"h2", "http/1.1"}
		default:
			// The handshake is HTTP/1.1 (RFC 6455, Section 4.1); never
			// let the server select HTTP/2.
			if len(cfg.NextProtos) > 0 {
				var protos []string
				for _, p := range cfg.NextProtos {
					if p != "h2" {
						protos = append(protos, p)
					}
				}
				cfg.NextProtos = protos
			}
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("handshake: TLS: %w", err)
		}
		conn = tc
	}
	return conn, nil
}

// handshake runs the HTTP/1.1 opening handshake over conn. On failure it
// returns a nil Result, and the server's response if one was read; on
// success the Result's Conn is conn.
func (d *Dialer) handshake(conn net.Conn, req *http.Request, key string) (*Result, *http.Response, error) {
	if err := writeRequest(conn, req); err != nil {
		return nil, nil, fmt.Errorf("handshake: writing request: %w", err)
	}

	max := d.MaxResponseBytes
	if max <= 0 {
		max = defaultMaxResponseBytes
	}
	lr := &io.LimitedReader{R: conn, N: int64(max)}
	br := bufio.NewReaderSize(lr, min(max, 4096))
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.N == 0 {
			return nil, nil, errBad(nil, "response header larger than %d bytes", max)
		}
		return nil, nil, fmt.Errorf("handshake: reading response: %w", err)
	}

	if err := d.checkResponse(resp, key); err != nil {
		// Keep a prefix of the body for the caller, who cannot read it
		// from the closed connection. A body delimited by the end of the
		// connection is taken only as far as it has arrived, lest a server
		// that keeps the connection open hold Dial until its deadline.
		limit := int64(maxErrorBodyBytes)
		if resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 {
			limit = min(limit, int64(br.Buffered()))
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil, resp, withBody(err, body)
	}

	var buffered []byte
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		buffered = bytes.Clone(p)
	}
	return &Result{
		Conn:        conn,
		Buffered:    buffered,
		Subprotocol: resp.Header.Get("Sec-WebSocket-Protocol"),
		Extensions:  strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", "),
		Request:     req,
		Response:    resp,
	}, resp, nil
}

// writeRequest writes the opening handshake (RFC 6455, Section 4.1).
func writeRequest(w io.Writer, req *http.Request) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), req.Host)
	// The protocol's own fields with the spelling of RFC 6455, Section 4.1,
	// for the benefit of servers that compare names case-sensitively.
	for _, name := range [...]string{"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
		if v := req.Header.Get(name); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	if err := req.Header.WriteSubset(&b, reservedHeaders); err != nil {
		return err
	}
	b.WriteString("\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

// checkResponse validates the server's handshake response (RFC 6455,
// Section 4.1, the client's requirements on the response).
func (d *Dialer) checkResponse(resp *http.Response, key string) error {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return statusError(resp)
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") {
		return errBad(nil, `"websocket" token not found in response Upgrade header`)
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		return errBad(nil, `"upgrade" token not found in response Connection header`)
	}
	if a := resp.Header.Values("Sec-WebSocket-Accept"); len(a) != 1 || strings.Trim(a[0], " \t") != ComputeAccept(key) {
		return errBad(nil, "missing or wrong Sec-WebSocket-Accept")
	}
	return d.checkNegotiation(resp)
}

// statusError is the error of a response whose status is not the
// handshake's; withBody adds the start of its body once read.
func statusError(resp *http.Response) error {
	return &StatusError{StatusCode: resp.StatusCode, Status: resp.Status, Location: resp.Header.Get("Location"), http2: resp.ProtoMajor == 2}
}

// withBody puts the first line of body into err if it is a *StatusError.
func withBody(err error, body []byte) error {
	if se, ok := err.(*StatusError); ok {
		se.Body = firstLine(body)
	}
	return err
}

// checkNegotiation checks the subprotocol and extensions the server
// selected, the same over HTTP/1.1 and HTTP/2.
func (d *Dialer) checkNegotiation(resp *http.Response) error {
	if ps := resp.Header.Values("Sec-WebSocket-Protocol"); len(ps) > 0 {
		p := strings.Trim(ps[0], " \t")
		offered := false
		for _, o := range d.Subprotocols {
			offered = offered || o == p
		}
		if len(ps) != 1 || !offered {
			return errBad(nil, "server selected a subprotocol that was not offered: %q", strings.Join(ps, ", "))
		}
		resp.Header["Sec-Websocket-Protocol"] = []string{p}
	} else if d.RequireSubprotocol && len(d.Subprotocols) > 0 {
		return errBad(ErrNoSubprotocol, "server selected none of the subprotocols offered (%q) and Dialer.RequireSubprotocol is set", strings.Join(d.Subprotocols, ", "))
	}
	if exts := strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", "); strings.Trim(exts, " \t,") != "" {
		if d.CheckExtensions == nil {
			return errBad(nil, "server accepted extensions that were not offered: %q", exts)
		}
		if err := d.CheckExtensions(exts); err != nil {
			return errBad(err, "extensions %q refused: %v", exts, err)
		}
	}
	return nil
}

// connectProxy opens a tunnel to addr through the HTTP proxy at nc
// (RFC 9110, Section 9.3.6).
func connectProxy(nc net.Conn, proxyURL *url.URL, addr string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", addr, addr)
	if u := proxyURL.User; u != nil {
		pw, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pw))
		b.WriteString("Proxy-Authorization: Basic " + cred + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := nc.Write(b.Bytes()); err != nil {
		return fmt.Errorf("handshake: proxy: %w", err)
	}
	// A buffered read cannot swallow tunnelled bytes: neither the TLS nor
	// the WebSocket server speaks before the client has, so anything after
	// the proxy's response is an error.
	br := bufio.NewReaderSize(&io.LimitedReader{R: nc, N: defaultMaxResponseBytes}, 1024)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return fmt.Errorf("handshake: proxy: reading CONNECT response: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("handshake: proxy: CONNECT %s: %s", addr, resp.Status)
	}
	if br.Buffered() > 0 {
		return errors.New("handshake: proxy: unexpected data after CONNECT response")
	}
	return nil
}
