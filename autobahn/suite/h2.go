package suite

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// WebSockets over HTTP/2 (RFC 8441): the runner's own extended CONNECT,
// client and server, on net/http's HTTP/2, so that the runner still needs
// nothing from the library it tests. A case then runs on one stream, seen
// as a net.Conn (h2Stream); the session is the same as over TCP.
//
// What TCP does and a stream does instead:
//
//   - closing TCP is ending the stream: the client ends its half with
//     END_STREAM (its request body ends) and aborts with RST_STREAM (its
//     request is cancelled); the server ends both halves at once when its
//     handler returns: END_STREAM, then RST_STREAM(NO_ERROR) if the client
//     has not ended its half (RFC 9113, Section 8.1);
//   - the peer "dropped TCP" when its half of the stream ended (io.EOF) or
//     it reset the stream; which end dropped first is bookkept as over TCP.

// dialStream opens a WebSocket to a wss:// URL over HTTP/2: a new TLS
// connection that must select "h2" in ALPN, and on it the extended CONNECT
// of RFC 8441, Section 4. The connection carries this one WebSocket and
// closes with it.
func dialStream(ctx context.Context, rawURL, extensions string, cfg *tls.Config) (*dialed, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "wss" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q (the runner speaks HTTP/2 over TLS only: wss://)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	cfg = cfg.Clone()
	if cfg == nil {
		cfg = new(tls.Config)
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	// http/1.1 too, so that a server without h2 completes TLS and the
	// runner can say what is missing rather than report an alert.
	cfg.NextProtos = []string{"h2", "http/1.1"}
	d := tls.Dialer{Config: cfg}
	nc, err := d.DialContext(hctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	tc := nc.(*tls.Conn)
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("the server did not select h2 in ALPN (got %q)", p)
	}
	// net/http's Transport refuses a request with a ":protocol" header,
	// but its HTTP/2 client sends one from that header; it is reached
	// through TLSNextProto, which net/http fills in on first use of the
	// Transport (CloseIdleConnections, a no-op here). A Transport of its
	// own keeps the stream on this connection.
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	t := &http.Transport{Protocols: &protos}
	t.CloseIdleConnections()
	upgrade := t.TLSNextProto["h2"]
	if upgrade == nil {
		tc.Close()
		return nil, errors.New("net/http has no HTTP/2 client (GODEBUG=http2client=0?)")
	}
	rt := upgrade(u.Host, tc)

	pr, pw := io.Pipe()
	h := http.Header{
		":protocol":             {"websocket"},
		"User-Agent":            {"hybi-autobahn-runner"},
		"Sec-Websocket-Version": {"13"},
	}
	if extensions != "" {
		h.Set("Sec-WebSocket-Extensions", extensions)
	}
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	req := (&http.Request{
		Method:        http.MethodConnect,
		URL:           &url.URL{Scheme: "https", Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		Host:          u.Host,
		Body:          pr,
		ContentLength: -1,
	}).WithContext(sctx)
	end := func() {
		pw.Close()
		scancel()
		t.CloseIdleConnections()
		tc.Close()
	}
	stop := context.AfterFunc(hctx, scancel)
	resp, err := rt.RoundTrip(req)
	if !stop() && err == nil {
		resp.Body.Close()
		err = hctx.Err()
	}
	if err != nil {
		end()
		return nil, err
	}
	out := &dialed{request: dumpStreamRequest(req), response: dumpStreamResponse(resp)}
	if err := checkStreamResponse(resp); err != nil {
		resp.Body.Close()
		end()
		return nil, err
	}
	out.extensions = strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", ")
	s := &h2Stream{r: resp.Body, w: pw, local: tc.LocalAddr(), remote: tc.RemoteAddr()}
	s.closeWrite = func() error { return pw.Close() } // END_STREAM
	s.end = func() {
		resp.Body.Close() // RST_STREAM(CANCEL) unless the stream is over
		end()
	}
	out.nc = s
	out.br = bufio.NewReaderSize(s, 4096)
	return out, nil
}

// checkStreamResponse checks the answer to an extended CONNECT (RFC 8441,
// Section 5): a 2xx status, and none of the fields of the HTTP/1.1
// handshake, which HTTP/2 does not use; a server that sends
// Sec-WebSocket-Accept took the request for something else.
func checkStreamResponse(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("extended CONNECT answered with status %s", resp.Status)
	}
	for _, k := range [...]string{"Sec-Websocket-Accept", "Upgrade", "Connection"} {
		if _, ok := resp.Header[k]; ok {
			return fmt.Errorf("extended CONNECT answered with %s, a field of the HTTP/1.1 handshake that HTTP/2 does not use", k)
		}
	}
	return nil
}

// acceptStream is accept for an HTTP/2 request: the server's side of the
// extended CONNECT of RFC 8441. The WebSocket runs on the request's stream
// until the handler returns.
func acceptStream(w http.ResponseWriter, r *http.Request, negotiate func(offers string) string) (*accepted, error) {
	reqDump, _ := httputil.DumpRequest(r, false)
	bad := func(format string, args ...any) (*accepted, error) {
		err := fmt.Errorf(format, args...)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	if r.Method != http.MethodConnect {
		return bad("method %s on HTTP/2 (RFC 8441 wants CONNECT)", r.Method)
	}
	if p := r.Header.Get(":protocol"); p != "websocket" {
		return bad(":protocol %q, not websocket", p)
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		w.WriteHeader(http.StatusUpgradeRequired)
		return nil, fmt.Errorf("unsupported version %q", r.Header.Get("Sec-WebSocket-Version"))
	}
	ext := ""
	if negotiate != nil {
		ext = negotiate(strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "))
	}
	w.Header().Set("Server", "hybi-autobahn-runner")
	if ext != "" {
		w.Header().Set("Sec-WebSocket-Extensions", ext)
	}
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, err
	}
	resp := "HTTP/2.0 200 OK\r\n"
	for _, k := range sortedKeys(w.Header()) {
		for _, v := range w.Header()[k] {
			resp += k + ": " + v + "\r\n"
		}
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil {
		local = streamAddr("")
	}
	s := &h2Stream{r: r.Body, w: w, flush: rc.Flush, local: local, remote: streamAddr(r.RemoteAddr)}
	s.end = func() { r.Body.Close() }
	// A write blocked on flow control gives up only when its deadline
	// passes (net/http then resets the stream); the handler must not
	// return before it has.
	s.unblockWrite = func() { rc.SetWriteDeadline(time.Unix(1, 0)) }
	// The handler's return ends the stream: the session is over by then,
	// and h2Stream writes nothing after Close.
	return &accepted{nc: s, br: bufio.NewReaderSize(s, 4096), request: string(reqDump), response: resp + "\r\n"}, nil
}

// h2Stream is a WebSocket's stream as a net.Conn. Deadlines end the
// stream when they pass, as the runner uses them to bound a handshake or
// a command connection only.
type h2Stream struct {
	r     io.ReadCloser // the peer's half
	w     io.Writer     // ours
	flush func() error  // sends what w buffered; nil if w does not buffer

	closeWrite   func() error // ends our half only; nil on the server
	end          func()       // ends the stream, unblocking reads (and writes on the client)
	unblockWrite func()       // makes a blocked write return, if end does not

	local, remote net.Addr

	wmu     sync.Mutex // held while writing, so that Close waits for a write
	wclosed bool

	once     sync.Once
	deadline *time.Timer
	dmu      sync.Mutex
}

func (s *h2Stream) Read(p []byte) (int, error) { return s.r.Read(p) }

func (s *h2Stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.wclosed {
		return 0, net.ErrClosed
	}
	n, err := s.w.Write(p)
	if err == nil && s.flush != nil {
		err = s.flush()
	}
	return n, err
}

// Close ends the stream. It returns once no write is in progress: on the
// server, nothing may be written once the handler returns.
func (s *h2Stream) Close() error {
	s.once.Do(func() {
		s.dmu.Lock()
		if s.deadline != nil {
			s.deadline.Stop()
		}
		s.dmu.Unlock()
		s.end()
		if !s.wmu.TryLock() {
			if s.unblockWrite != nil {
				s.unblockWrite()
			}
			s.wmu.Lock()
		}
		s.wclosed = true
		s.wmu.Unlock()
	})
	return nil
}

// CloseWrite ends our half of the stream (END_STREAM), where the client
// can: the writer's drop then reads on until the peer ends its half.
func (s *h2Stream) CloseWrite() error {
	if s.closeWrite == nil {
		return errors.New("an HTTP/2 server's handler cannot end its half of the stream alone")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wclosed = true
	return s.closeWrite()
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

// SetDeadline ends the stream when t passes; the zero time cancels that.
func (s *h2Stream) SetDeadline(t time.Time) error {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.deadline != nil {
		s.deadline.Stop()
		s.deadline = nil
	}
	if !t.IsZero() {
		s.deadline = time.AfterFunc(time.Until(t), func() { s.Close() })
	}
	return nil
}

func (s *h2Stream) SetReadDeadline(t time.Time) error  { return s.SetDeadline(t) }
func (s *h2Stream) SetWriteDeadline(t time.Time) error { return s.SetDeadline(t) }

type streamAddr string

func (a streamAddr) Network() string { return "h2" }
func (a streamAddr) String() string  { return string(a) }

// dumpStreamRequest shows an extended CONNECT in the report, pseudo-header
// fields first.
func dumpStreamRequest(req *http.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, ":method: CONNECT\r\n:protocol: websocket\r\n:scheme: https\r\n:authority: %s\r\n:path: %s\r\n", req.Host, req.URL.RequestURI())
	for _, k := range sortedKeys(req.Header) {
		if strings.HasPrefix(k, ":") {
			continue
		}
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func dumpStreamResponse(resp *http.Response) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\r\n", resp.Proto, resp.Status)
	for _, k := range sortedKeys(resp.Header) {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
