package ctxlock

import (
	"sync"
	"testing"
	"unsafe"
)

// TestSize pins Mutex at one word and Event at a sync.Mutex and one
// word: every connection holds several of each (raw.Conn one Mutex and
// one Event, conn.Conn two and one), idle or not.
func TestSize(t *testing.T) {
	const word = unsafe.Sizeof(uintptr(0))
	if n := unsafe.Sizeof(Mutex{}); n > word {
		t.Errorf("Mutex is %d bytes, want at most %d", n, word)
	}
	if n, want := unsafe.Sizeof(Event{}), unsafe.Sizeof(sync.Mutex{})+word; n > want {
		t.Errorf("Event is %d bytes, want at most %d", n, want)
	}
}
