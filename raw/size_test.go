package raw

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps what a Raw session holds for every idle socket in
// the 224-byte size class for Conn and 32 bytes for its idle reader (24, and
// 8 for the spin before a wait, SetReadSpin), a class no short-lived
// object of the handshake shares (net/http's response is 240 bytes):
// what only a frame in flight or a write larger than the buffer needs is
// pooled, and the interrupters only a cancellable context needs are
// allocated by the first such read or write (issue #15: 408 + 56 bytes,
// in the 416 and 64 classes, then 352 + 24, before; 256 with 24-byte
// ctxlock values and Options copied whole).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 224 {
		t.Errorf("Conn is %d bytes, want at most 224: it is held for every idle connection", n)
	}
	if n := unsafe.Sizeof(idleReader{}); n > 32 {
		t.Errorf("idleReader is %d bytes, want at most 32: it is held for every idle socket", n)
	}
}
