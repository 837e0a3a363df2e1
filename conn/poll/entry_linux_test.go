//go:build linux

package poll

import (
	"testing"
	"unsafe"
)

// TestEntrySize keeps what the poller holds for each idle connection in
// the 48-byte size class: the epoll_ctl arguments live in the Poller, not
// in every entry, and no flag says whether the socket is in the epoll set
// (issue #15: 112 bytes plus a 16-byte closure, then 64, before).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 48 {
		t.Fatalf("entry is %d bytes, want at most 48: it is held for every idle connection", n)
	}
}
