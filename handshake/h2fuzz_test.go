package handshake_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/handshake"
)

const h2Request = "CONNECT /chat HTTP/1.1\r\nHost: server.example.com\r\nProtocol: websocket\r\n" +
	"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"

// FuzzServerExtendedConnect feeds Upgrade requests as net/http's HTTP/2
// server makes them of an extended CONNECT (RFC 8441): the request is
// written as HTTP/1.1 for the fuzzer, its Protocol field standing for
// the :protocol pseudo-header. Upgrade must never panic, must answer 200
// only to a valid request, without the fields HTTP/2 drops, and must
// never say "Connection: close", which would end the whole connection.
func FuzzServerExtendedConnect(f *testing.F) {
	seeds := []string{
		h2Request,
		strings.Replace(h2Request, "Protocol: websocket", "Protocol: WebSocket", 1),
		strings.Replace(h2Request, "Protocol: websocket\r\n", "", 1),
		strings.Replace(h2Request, "Version: 13", "Version: 8", 1),
		strings.Replace(h2Request, "Version: 13", "Version: 13\r\nSec-WebSocket-Version: 13", 1),
		strings.Replace(h2Request, "Origin: http://example.com", "Origin: null", 1),
		strings.Replace(h2Request, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: refuse\r\n\r\n", 1),
		strings.Replace(h2Request, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1),
		strings.Replace(h2Request, "CONNECT", "GET", 1),
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(i%len(upgraders)))
	}
	f.Fuzz(func(t *testing.T, data []byte, cfg uint16) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
		r.Header[":protocol"] = r.Header["Protocol"]
		delete(r.Header, "Protocol")
		if r.Method != http.MethodConnect {
			return // the HTTP/1.1 path, which FuzzServerHandshake covers
		}
		u := upgraders[int(cfg)%len(upgraders)]
		w := httptest.NewRecorder()
		res, err := u.Upgrade(w, r)
		if c := w.Header().Get("Connection"); c != "" {
			t.Fatalf("Connection: %q on HTTP/2", c)
		}
		if err != nil {
			var he *handshake.Error
			if !errors.As(err, &he) || he.StatusCode != w.Code || w.Code < 400 {
				t.Fatalf("error %v with status %d", err, w.Code)
			}
			return
		}
		defer res.Conn.Close()
		if w.Code != http.StatusOK {
			t.Fatalf("success with status %d", w.Code)
		}
		if r.Header.Get(":protocol") != "websocket" {
			t.Fatalf("accepted :protocol %q", r.Header.Get(":protocol"))
		}
		if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
			t.Fatalf("accepted Sec-WebSocket-Version %q", v)
		}
		for _, name := range []string{"Sec-WebSocket-Accept", "Upgrade"} {
			if w.Header().Get(name) != "" {
				t.Fatalf("%s sent on HTTP/2", name)
			}
		}
		if p := res.Subprotocol; p != "" && !slices.Contains(u.Subprotocols, p) {
			t.Fatalf("selected subprotocol %q, not the server's", p)
		}
		if got := w.Header().Get("Sec-WebSocket-Protocol"); got != res.Subprotocol {
			t.Fatalf("Sec-WebSocket-Protocol %q, Result says %q", got, res.Subprotocol)
		}
	})
}
