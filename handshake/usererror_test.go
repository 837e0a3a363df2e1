package handshake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A plain HTTP server where a WebSocket was expected: the error says so
// once, gives the status, the start of the body and what to check.
func TestDialNotWebSocketServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><title>My blog</title>\x1b[31m\nsecond line\n")
	}))
	defer srv.Close()
	d := Dialer{Proxy: noProxy}
	_, resp, err := d.Dial(context.Background(), wsURL(srv))
	if err == nil {
		t.Fatal("Dial succeeded against a plain HTTP server")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if n := strings.Count(msg, "handshake"); n != 1 {
		t.Errorf("%q says \"handshake\" %d times, want once", msg, n)
	}
	for _, want := range []string{`200 OK`, `<html><title>My blog</title>`, `not a WebSocket endpoint`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\x1b") || strings.Contains(msg, "second line") {
		t.Errorf("%q carries a control byte or more than the body's first line", msg)
	}
	if !errors.Is(err, ErrBadHandshake) {
		t.Errorf("errors.Is(%v, ErrBadHandshake) = false", err)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 200 || resp == nil || resp.StatusCode != 200 {
		t.Errorf("errors.As StatusError = %+v, resp %v; want StatusCode 200 and the response", se, resp)
	}
}

// A body larger than the bound, on one line, is cut in the error.
func TestDialStatusErrorBodyBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("x", 100<<10), http.StatusNotFound)
	}))
	defer srv.Close()
	d := Dialer{Proxy: noProxy}
	_, _, err := d.Dial(context.Background(), wsURL(srv))
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Dial error %v, want a StatusError", err)
	}
	if len(se.Body) > maxErrorBodyLine || len(err.Error()) > 2*maxErrorBodyLine+200 {
		t.Errorf("Body is %d bytes, error %d bytes: not bounded", len(se.Body), len(err.Error()))
	}
	if !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("%q lacks the status", err)
	}
}

// Every other handshake failure names the handshake once too.
func TestDialErrorsSayHandshakeOnce(t *testing.T) {
	srv := rawServer(t, func(key string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: wrong\r\n\r\n"
	})
	d := Dialer{Proxy: noProxy}
	_, _, err := d.Dial(context.Background(), wsURL(srv))
	if err == nil || !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("Dial error %v, want ErrBadHandshake", err)
	}
	if n := strings.Count(err.Error(), "handshake"); n != 1 {
		t.Errorf("%q says \"handshake\" %d times, want once", err, n)
	}
}

// A refused origin: the server's body names the settings that decide, and
// the client's error shows that body.
func TestOriginRefusalNamesTheSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    *Upgrader
		want string
	}{
		{"default policy", &Upgrader{}, "Upgrader.AllowedOrigins"},
		{"CheckOrigin", &Upgrader{CheckOrigin: func(*http.Request) bool { return false }}, "Upgrader.CheckOrigin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoServer(t, tc.u, false)
			d := Dialer{Proxy: noProxy, Header: http.Header{"Origin": {"https://elsewhere.example"}}}
			_, _, err := d.Dial(context.Background(), wsURL(srv))
			if err == nil {
				t.Fatal("Dial succeeded from a foreign origin")
			}
			t.Logf("error: %s", err)
			for _, want := range []string{"403 Forbidden", `https://elsewhere.example`, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
}

// A server that ignores the offered subprotocol: Dial succeeds with none
// by default (RFC 6455 lets the server choose none); RequireSubprotocol
// makes that an error of its own.
func TestDialRequireSubprotocol(t *testing.T) {
	srv := echoServer(t, &Upgrader{}, false) // supports no subprotocol
	d := Dialer{Proxy: noProxy, Subprotocols: []string{"chat.v2"}}
	res, _, err := d.Dial(context.Background(), wsURL(srv))
	if err != nil {
		t.Fatalf("Dial without RequireSubprotocol: %v", err)
	}
	if res.Subprotocol != "" {
		t.Errorf("Subprotocol = %q, want none", res.Subprotocol)
	}
	res.Conn.Close()

	d.RequireSubprotocol = true
	_, resp, err := d.Dial(context.Background(), wsURL(srv))
	if !errors.Is(err, ErrNoSubprotocol) || !errors.Is(err, ErrBadHandshake) {
		t.Fatalf("Dial with RequireSubprotocol: %v, want ErrNoSubprotocol and ErrBadHandshake", err)
	}
	if resp == nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("resp = %v, want the 101 response", resp)
	}
	if !strings.Contains(err.Error(), `"chat.v2"`) {
		t.Errorf("%q does not name what was offered", err)
	}

	// A server that selects one passes.
	srv2 := echoServer(t, &Upgrader{Subprotocols: []string{"chat.v2"}}, false)
	res, _, err = d.Dial(context.Background(), wsURL(srv2))
	if err != nil || res.Subprotocol != "chat.v2" {
		t.Fatalf("Dial with RequireSubprotocol against a server that selects it: %v, %+v", err, res)
	}
	res.Conn.Close()
}
