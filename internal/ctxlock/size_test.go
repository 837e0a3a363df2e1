package ctxlock

import (
	"sync"
	"testing"
	"unsafe"
)

// TestSize pins Mutex and Event at a sync.Mutex and one word: every
// connection holds several of each (raw.Conn two, conn.Conn three), idle
// or not.
func TestSize(t *testing.T) {
	const want = unsafe.Sizeof(sync.Mutex{}) + unsafe.Sizeof(uintptr(0))
	if n := unsafe.Sizeof(Mutex{}); n > want {
		t.Errorf("Mutex is %d bytes, want at most %d", n, want)
	}
	if n := unsafe.Sizeof(Event{}); n > want {
		t.Errorf("Event is %d bytes, want at most %d", n, want)
	}
}
