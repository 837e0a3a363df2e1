package handshake

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// HTTP2Mode says whether a Dialer may open a WebSocket over HTTP/2.
type HTTP2Mode int

const (
	// HTTP2Never opens every WebSocket with the HTTP/1.1 handshake of
	// RFC 6455, Section 4.1. It is the zero value.
	HTTP2Never HTTP2Mode = iota

	// HTTP2Always opens wss:// WebSockets with the extended CONNECT of
	// RFC 8441 on an HTTP/2 stream only, and fails with an error that
	// wraps ErrExtendedConnectNotSupported when the server does not offer
	// it. ws:// URLs fail: the Dialer speaks HTTP/2 only over TLS.
	HTTP2Always

	// HTTP2IfOffered uses HTTP/2 when the server selects it in TLS (ALPN
	// "h2") and allows extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL),
	// and the HTTP/1.1 handshake otherwise: on the same TLS connection when
	// the server selected HTTP/1.1, on a new one when it selected HTTP/2
	// without the setting. ws:// URLs use HTTP/1.1.
	HTTP2IfOffered
)

// ErrExtendedConnectNotSupported is wrapped by the error of a Dial in
// HTTP2Always mode when the server did not select HTTP/2 or does not allow
// the extended CONNECT of RFC 8441, Section 3.
var ErrExtendedConnectNotSupported = errors.New("handshake: server does not offer WebSockets over HTTP/2 (RFC 8441)")

// HTTP2Pool keeps the HTTP/2 connections of WebSockets dialled over HTTP/2,
// so that WebSockets to the same host and port share one TCP connection, as
// many as the server allows streams on it (its
// SETTINGS_MAX_CONCURRENT_STREAMS); a new connection is dialled when they
// are all full. Give one pool to Dialers that dial alike only: a
// connection is picked by host and port alone, whatever the TLSConfig,
// NetDialContext or Proxy of the Dialer that dialled it.
//
// The HTTP/2 client is net/http's. A connection stays open when its last
// WebSocket closes, for the next one; CloseIdleConnections closes those.
// The zero value is ready to use; a pool must not be copied after first
// use.
type HTTP2Pool struct {
	// Config configures the HTTP/2 client (flow control windows, frame
	// size, pings on idle connections); nil means net/http's defaults. It
	// is read at first use.
	Config *http.HTTP2Config

	once    sync.Once
	t       *http.Transport
	upgrade func(authority string, c *tls.Conn) http.RoundTripper
	err     error

	mu sync.Mutex
	rt http.RoundTripper // net/http's HTTP/2 transport, once it has a connection
}

func (p *HTTP2Pool) init() error {
	p.once.Do(func() {
		var protos http.Protocols
		protos.SetHTTP1(true)
		protos.SetHTTP2(true)
		p.t = &http.Transport{Protocols: &protos, HTTP2: p.Config}
		// net/http refuses to send an extended CONNECT through
		// Transport.RoundTrip (":protocol" is not a valid header name
		// there), while its HTTP/2 client sends one from the header of
		// that name (as of Go 1.26). So the pool dials its connections
		// itself and hands them to the HTTP/2 client through
		// TLSNextProto, which net/http fills in lazily, on the first
		// call of a method such as CloseIdleConnections (a no-op on a
		// new Transport).
		p.t.CloseIdleConnections()
		if p.upgrade = p.t.TLSNextProto["h2"]; p.upgrade == nil {
			p.err = errors.New("handshake: net/http has no HTTP/2 client (GODEBUG=http2client=0?)")
		}
	})
	return p.err
}

// add hands a new connection to the HTTP/2 client and returns the
// transport to send requests with. If the pool already has a connection
// to authority with room for a stream, c is closed and that one is used.
func (p *HTTP2Pool) add(authority string, c *tls.Conn) http.RoundTripper {
	rt := p.upgrade(authority, c)
	p.mu.Lock()
	p.rt = rt
	p.mu.Unlock()
	return rt
}

// cached returns the transport if the pool has had a connection.
func (p *HTTP2Pool) cached() http.RoundTripper {
	if p.init() != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rt
}

// CloseIdleConnections closes the pool's connections that carry no
// WebSocket.
func (p *HTTP2Pool) CloseIdleConnections() {
	if p.init() == nil {
		p.t.CloseIdleConnections()
	}
}

// isNoCachedConn reports an error of net/http's HTTP/2 client that says it
// has no connection with room for another stream.
func isNoCachedConn(err error) bool {
	var e interface{ IsHTTP2NoCachedConnError() }
	return errors.As(err, &e)
}

// isExtendedConnectRefused reports the error of net/http's HTTP/2 client
// for a server whose SETTINGS do not allow extended CONNECT. net/http
// does not export it; its text has been the same since Go 1.24.
func isExtendedConnectRefused(err error) bool {
	return err != nil && strings.Contains(err.Error(), "extended connect not supported by peer")
}

// streamRequest is the extended CONNECT (RFC 8441, Section 4) for the
// HTTP/1.1 handshake request req: the same URL, Host and header fields,
// without those HTTP/2 drops (RFC 8441, Section 5).
func streamRequest(req *http.Request, body io.ReadCloser) *http.Request {
	u := *req.URL
	u.Scheme = "https"
	h := req.Header.Clone()
	for _, k := range [...]string{"Upgrade", "Connection", "Sec-Websocket-Key"} {
		delete(h, k)
	}
	h[":protocol"] = []string{"websocket"}
	return &http.Request{
		Method:        http.MethodConnect,
		URL:           &u,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		Host:          req.Host,
		Body:          body,
		ContentLength: -1,
	}
}

// roundTripStream opens the WebSocket on a new stream of rt. ctx bounds the
// handshake only; the stream lives until the Result's Conn is closed, and
// release is called then.
//
// local and remote are the connection's addresses, if known.
func (d *Dialer) roundTripStream(ctx context.Context, rt http.RoundTripper, req *http.Request, release func(), local, remote net.Addr) (*Result, *http.Response, error) {
	pr, pw := io.Pipe()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	hreq := streamRequest(req, pr).WithContext(sctx)
	stop := context.AfterFunc(ctx, cancel)
	resp, err := rt.RoundTrip(hreq)
	ended := !stop()
	if err == nil && ended {
		resp.Body.Close()
		err = ctx.Err()
	}
	if err != nil {
		pw.Close()
		cancel()
		if isExtendedConnectRefused(err) {
			// The sentinel's text begins with "handshake:" already.
			return nil, nil, fmt.Errorf("%w: the server's HTTP/2 SETTINGS do not allow extended CONNECT", ErrExtendedConnectNotSupported)
		}
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	if err := d.checkStreamResponse(resp); err != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		pw.Close()
		cancel()
		return nil, resp, withBody(err, body)
	}

	var wd pipeDeadline
	wd.pw = pw
	if local == nil {
		local, remote = streamAddr(""), streamAddr(req.URL.Host)
	}
	sc := newStreamConn(resp.Body, pw, nil, local, remote)
	sc.setWriteDeadline = wd.set
	sc.onClose = func() {
		pw.Close() // END_STREAM after what was written
		wd.set(time.Time{})
		cancel()
		if release != nil {
			release()
		}
	}
	resp.Body = http.NoBody // the stream is the Conn's
	hreq.Body = nil
	return &Result{
		Conn:        sc,
		Subprotocol: resp.Header.Get("Sec-WebSocket-Protocol"),
		Extensions:  strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", "),
		Request:     hreq,
		Response:    resp,
	}, resp, nil
}

// checkStreamResponse validates the server's answer to an extended CONNECT
// (RFC 8441, Section 5): a 2xx status, and the subprotocol and extensions
// as over HTTP/1.1.
func (d *Dialer) checkStreamResponse(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp)
	}
	return d.checkNegotiation(resp)
}

// pipeDeadline is the write deadline of a client stream: when it passes,
// the request body fails, which ends the stream.
type pipeDeadline struct {
	mu sync.Mutex
	pw *io.PipeWriter
	t  *time.Timer
}

func (p *pipeDeadline) set(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.t != nil {
		p.t.Stop()
		p.t = nil
	}
	if t.IsZero() {
		return nil
	}
	expire := func() { p.pw.CloseWithError(os.ErrDeadlineExceeded) }
	if d := time.Until(t); d > 0 {
		p.t = time.AfterFunc(d, expire)
	} else {
		expire()
	}
	return nil
}

// dialHTTP1 is Dial with the HTTP/1.1 handshake alone, which
// HTTP2IfOffered falls back to.
func (d *Dialer) dialHTTP1(ctx context.Context, rawURL string) (*Result, *http.Response, error) {
	d1 := *d
	d1.HTTP2 = HTTP2Never
	return d1.Dial(ctx, rawURL)
}

// dialStream opens the WebSocket on a stream of tc, a new connection on
// which the server selected HTTP/2. The connection joins the Dialer's
// pool, or, with none, belongs to the WebSocket and closes with it.
func (d *Dialer) dialStream(ctx context.Context, rawURL string, tc *tls.Conn, req *http.Request) (*Result, *http.Response, error) {
	// Dial's deadline was the handshake's; the connection may outlive it.
	if err := tc.SetDeadline(time.Time{}); err != nil {
		tc.Close()
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	pool, release := d.HTTP2Pool, func() {}
	if pool == nil {
		pool = new(HTTP2Pool)
		release = func() { tc.Close() }
	}
	if err := pool.init(); err != nil {
		tc.Close()
		return nil, nil, err
	}
	res, resp, err := d.roundTripStream(ctx, pool.add(req.URL.Host, tc), req, release, tc.LocalAddr(), tc.RemoteAddr())
	if err != nil {
		if d.HTTP2Pool == nil {
			tc.Close()
		}
		if resp == nil && errors.Is(err, ErrExtendedConnectNotSupported) && d.HTTP2 == HTTP2IfOffered {
			return d.dialHTTP1(ctx, rawURL)
		}
		return nil, resp, contextError(ctx, err)
	}
	return res, resp, nil
}
