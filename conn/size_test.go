package conn

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps Conn, which every connection holds for as long as
// it is open, in the 352-byte size class: options that few connections
// set go behind Conn.rare or Conn.x rather than into every Conn (issue
// #15: the Observer options made it 464 bytes, in the 480-byte class).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 352 {
		t.Fatalf("Conn is %d bytes, want at most 352: it is held for every idle connection", n)
	}
}
