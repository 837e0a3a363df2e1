//go:build linux

package poll

import (
	"testing"
	"unsafe"
)

// TestEntrySize keeps what the poller holds for each idle connection in
// the 64-byte size class: the epoll_ctl arguments live in the Poller, not
// in every entry (issue #15: 112 bytes plus a 16-byte closure before).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 64 {
		t.Fatalf("entry is %d bytes, want at most 64: it is held for every idle connection", n)
	}
}
