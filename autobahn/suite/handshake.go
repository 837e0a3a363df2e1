package suite

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// The runner's own opening handshake (RFC 6455, Section 4), so that the
// runner needs nothing from the library it tests.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func newKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// handshakeTimeout bounds an opening handshake.
const handshakeTimeout = 10 * time.Second

// dialed is the outcome of a client handshake.
type dialed struct {
	nc         net.Conn
	br         *bufio.Reader
	request    string
	response   string
	extensions string
}

// dial connects to a ws:// URL and performs the client handshake,
// offering extensions (a Sec-WebSocket-Extensions value, or "").
func dial(ctx context.Context, rawURL, extensions string) (*dialed, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws", "http":
	default:
		return nil, fmt.Errorf("unsupported scheme %q (the runner speaks ws:// only)", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	key := newKey()
	path := u.RequestURI()
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&req, "Host: %s\r\n", u.Host)
	fmt.Fprintf(&req, "User-Agent: hybi-autobahn-runner\r\n")
	fmt.Fprintf(&req, "Upgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if extensions != "" {
		fmt.Fprintf(&req, "Sec-WebSocket-Extensions: %s\r\n", extensions)
	}
	req.WriteString("\r\n")
	if _, err := nc.Write([]byte(req.String())); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("reading the handshake response: %w", err)
	}
	dump, _ := httputil.DumpResponse(resp, false)
	out := &dialed{nc: nc, br: br, request: req.String(), response: string(dump)}
	fail := func(format string, args ...any) (*dialed, error) {
		nc.Close()
		return nil, fmt.Errorf(format, args...)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail("handshake answered with status %s", resp.Status)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return fail("handshake response without Upgrade: websocket")
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return fail("handshake response without Connection: Upgrade")
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		return fail("wrong Sec-WebSocket-Accept %q", got)
	}
	out.extensions = strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", ")
	nc.SetDeadline(time.Time{})
	return out, nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// accepted is the outcome of a server handshake.
type accepted struct {
	nc       net.Conn
	br       *bufio.Reader
	request  string
	response string
}

// accept performs the server handshake on an HTTP request. negotiate gets
// the client's Sec-WebSocket-Extensions values and returns the response
// value ("" for none).
//
// A request that came over HTTP/2 is an extended CONNECT (RFC 8441); see
// acceptStream.
func accept(w http.ResponseWriter, r *http.Request, negotiate func(offers string) string) (*accepted, error) {
	if r.ProtoMajor == 2 {
		return acceptStream(w, r, negotiate)
	}
	reqDump, _ := httputil.DumpRequest(r, false)
	bad := func(format string, args ...any) (*accepted, error) {
		err := fmt.Errorf(format, args...)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	if r.Method != http.MethodGet {
		return bad("method %s", r.Method)
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return bad("not a WebSocket upgrade request")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		w.WriteHeader(http.StatusUpgradeRequired)
		return nil, fmt.Errorf("unsupported version %q", r.Header.Get("Sec-WebSocket-Version"))
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		return bad("no Sec-WebSocket-Key")
	}
	ext := ""
	if negotiate != nil {
		ext = negotiate(strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "))
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return bad("connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	var resp strings.Builder
	resp.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	resp.WriteString("Server: hybi-autobahn-runner\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&resp, "Sec-WebSocket-Accept: %s\r\n", acceptKey(key))
	if ext != "" {
		fmt.Fprintf(&resp, "Sec-WebSocket-Extensions: %s\r\n", ext)
	}
	resp.WriteString("\r\n")
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := nc.Write([]byte(resp.String())); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return &accepted{nc: nc, br: brw.Reader, request: string(reqDump), response: resp.String()}, nil
}
