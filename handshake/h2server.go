package handshake

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// upgradeStream is Upgrade for a request made on HTTP/2: the extended
// CONNECT of RFC 8441, Section 4. The WebSocket runs on the request's
// stream; the handler's goroutine carries it (see Upgrade).
func (u *Upgrader) upgradeStream(w http.ResponseWriter, r *http.Request) (*Result, error) {
	// RFC 8441, Section 5: CONNECT with :protocol "websocket"; there is no
	// Upgrade, Connection, Sec-WebSocket-Key or Sec-WebSocket-Accept.
	if p := r.Header.Get(":protocol"); p != "websocket" {
		return nil, failStream(w, http.StatusBadRequest, `:protocol must be "websocket"`, ErrBadHandshake)
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return nil, failStream(w, http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13", ErrUnsupportedVersion)
	}
	subprotocol, extensions, err := u.negotiate(w, r, failStream)
	if err != nil {
		return nil, err
	}

	h := w.Header()
	for k, vs := range u.Header { // checked by negotiate
		h[http.CanonicalHeaderKey(k)] = append(h[http.CanonicalHeaderKey(k)], vs...)
	}
	if subprotocol != "" {
		h.Set("Sec-WebSocket-Protocol", subprotocol)
	}
	if extensions != "" {
		h.Set("Sec-WebSocket-Extensions", extensions)
	}
	rc := http.NewResponseController(w)
	// HTTP/2 reads and writes at once anyway; EnableFullDuplex is for the
	// HTTP/1.1 server, where an extended CONNECT never arrives.
	_ = rc.EnableFullDuplex()
	// The server may have set deadlines (ReadTimeout, WriteTimeout); the
	// stream is the WebSocket's now.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, &Error{Reason: "cannot send the handshake response: " + err.Error(), Err: err}
	}

	sc := newStreamConn(r.Body, w, rc.Flush, localAddr(r), remoteAddr(r))
	sc.setWriteDeadline = rc.SetWriteDeadline
	sc.closeWrite = sc.Close
	// The handler must not return before the WebSocket is closed: net/http
	// recycles w then. When it does anyway, its context ends; stop using w
	// from then on rather than write to a recycled ResponseWriter.
	sc.handlerDone = r.Context().Done()
	return &Result{
		Conn:        sc,
		Subprotocol: subprotocol,
		Extensions:  extensions,
		Request:     r,
	}, nil
}

// failStream is fail for HTTP/2, where "Connection: close" would make
// net/http end the whole connection, with the streams of other requests.
func failStream(w http.ResponseWriter, code int, reason string, cause error) *Error {
	http.Error(w, http.StatusText(code)+": "+reason, code)
	return &Error{StatusCode: code, Reason: reason, Err: cause}
}

func localAddr(r *http.Request) net.Addr {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a
	}
	return streamAddr("")
}

func remoteAddr(r *http.Request) net.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return streamAddr(r.RemoteAddr)
}

// errHandlerDone is what a stream whose handler returned reports.
var errHandlerDone = errors.New("handshake: the HTTP/2 handler returned while the WebSocket was open")
