package handshake_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/handshake"
)

// extendedConnect is the request net/http's HTTP/2 server makes of an
// extended CONNECT (RFC 8441, Section 5).
func extendedConnect() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://server.example.com/chat", strings.NewReader(""))
	r.Method = http.MethodConnect
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Header.Set(":protocol", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Origin", "https://server.example.com")
	r.Header.Set("Sec-WebSocket-Protocol", "chat, superchat")
	r.Header.Set("Sec-WebSocket-Extensions", "x-test")
	return r
}

func TestUpgradeExtendedConnect(t *testing.T) {
	u := handshake.Upgrader{
		Subprotocols:        []string{"superchat"},
		NegotiateExtensions: func(offers []string) (string, error) { return offers[0], nil },
		Header:              http.Header{"X-Server": {"hybi"}},
	}
	w := httptest.NewRecorder()
	res, err := u.Upgrade(w, extendedConnect())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Conn.Close()
	if w.Code != http.StatusOK {
		t.Errorf("status %d, want 200", w.Code)
	}
	for name, want := range map[string]string{
		"Sec-WebSocket-Protocol": "superchat", "Sec-WebSocket-Extensions": "x-test", "X-Server": "hybi",
		"Sec-WebSocket-Accept": "", "Upgrade": "", "Connection": "",
	} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if res.Subprotocol != "superchat" || res.Extensions != "x-test" || res.Buffered != nil {
		t.Errorf("Result %q %q %q", res.Subprotocol, res.Extensions, res.Buffered)
	}
}

func TestUpgradeExtendedConnectRefused(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *http.Request)
		code   int
		err    error
	}{
		{"no :protocol", func(r *http.Request) { r.Header.Del(":protocol") }, 400, handshake.ErrBadHandshake},
		{"other :protocol", func(r *http.Request) { r.Header.Set(":protocol", "webtransport") }, 400, handshake.ErrBadHandshake},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, 426, handshake.ErrUnsupportedVersion},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, 426, handshake.ErrUnsupportedVersion},
		{"foreign origin", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403, handshake.ErrOriginNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := extendedConnect()
			tt.mutate(r)
			w := httptest.NewRecorder()
			var u handshake.Upgrader
			res, err := u.Upgrade(w, r)
			if res != nil {
				res.Conn.Close()
			}
			var he *handshake.Error
			if !errors.As(err, &he) || he.StatusCode != tt.code || !errors.Is(err, tt.err) {
				t.Fatalf("Upgrade: %v, want a %d wrapping %v", err, tt.code, tt.err)
			}
			if w.Code != tt.code {
				t.Errorf("status %d, want %d", w.Code, tt.code)
			}
			// "Connection: close" would make net/http end the whole
			// HTTP/2 connection, with every other stream on it.
			if c := w.Header().Get("Connection"); c != "" {
				t.Errorf("Connection: %q on HTTP/2", c)
			}
		})
	}
}
