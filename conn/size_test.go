package conn

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn, which every connection holds for as long as
// it is open, in the 176-byte size class (which no short-lived object of
// the handshake shares: net/http's response is 240 bytes, its contexts
// 208): options that few connections set (a CloseTimeout other than the
// default among them) go behind Conn.rare, and the keepalive and a
// control frame a cancelled read cut short behind Conn.x, rather than
// into every Conn, the
// message writer only Writer and extensions use is made by its first
// message, and the close state by the end of the connection (issue #15:
// the Observer options made it 464 bytes, in the 480-byte class; 352
// with the message writer and the close state inline; 256 with 24-byte
// ctxlock values and the keepalive, the close timeout and the cut
// control frame inline; 192 with 16-byte ctxlock Mutexes).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 176 {
		t.Fatalf("Conn is %d bytes, want at most 176: it is held for every idle connection", n)
	}
}
