package conn

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn, which every connection holds for as long as
// it is open, in the 256-byte size class: options that few connections
// set go behind Conn.rare or Conn.x rather than into every Conn, the
// message writer only Writer and extensions use is made by its first
// message, and the close state by the end of the connection (issue #15:
// the Observer options made it 464 bytes, in the 480-byte class; 352
// with the message writer and the close state inline).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 256 {
		t.Fatalf("Conn is %d bytes, want at most 256: it is held for every idle connection", n)
	}
}
