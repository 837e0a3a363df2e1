package conn

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn, which every connection holds for as long as
// it is open, in the 224-byte size class (which no short-lived object of
// the handshake shares: net/http's response is 240 bytes): options that
// few connections set go behind Conn.rare, Conn.x or Conn.keepalive
// rather than into every Conn, the
// message writer only Writer and extensions use is made by its first
// message, and the close state by the end of the connection (issue #15:
// the Observer options made it 464 bytes, in the 480-byte class; 352
// with the message writer and the close state inline; 256 with 24-byte
// ctxlock values and the keepalive's durations inline).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 224 {
		t.Fatalf("Conn is %d bytes, want at most 224: it is held for every idle connection", n)
	}
}
