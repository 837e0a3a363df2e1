package handshake

import (
	"net/http"
	"testing"
)

// TestValidKey: a key is 16 bytes in padded base64, whatever its length.
func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"dGhlIHNhbXBsZSBub25jZQ==":   true,
		"dGhlIHNhbXBsZSBub25jZQ":     false, // unpadded
		"AAAAAAAAAAAAAAAAAAAAAAAA":   false, // 18 bytes
		"dGhlIHNhbXBsZSBub25jZQ=!":   false,
		"dGhlIHNhbXBsZSBub25jZSE=":   false, // 17 bytes
		"dGhlIHNhbXBsZSBub25jZQ==\n": true,  // base64 skips newlines
		"":                           false,
	} {
		if got := validKey(key); got != want {
			t.Errorf("validKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestResponse: the response is the one Upgrade wrote with a
// bytes.Buffer, to the byte.
func TestResponse(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	u := &Upgrader{Header: http.Header{"X-B": {"2"}, "X-A": {"1", "3"}}}
	got := string(u.response(key, "chat", "permessage-deflate"))
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n" +
		"X-A: 1\r\nX-A: 3\r\nX-B: 2\r\n\r\n"
	if got != want {
		t.Errorf("response = %q, want %q", got, want)
	}
	if got := string((&Upgrader{}).response(key, "", "")); got != "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" {
		t.Errorf("plain response = %q", got)
	}
}
