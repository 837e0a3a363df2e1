// Package bufpool pools byte buffers by power-of-two size class, so that an
// idle connection can give its buffers back and hold none.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 9  // 512 B
	maxShift = 22 // 4 MiB; larger buffers are not pooled
)

// Pool hands out *[]byte of at least the asked length. The zero value is
// ready to use. Buffers are handed out by pointer so that putting one back
// does not allocate.
type Pool struct {
	classes [maxShift - minShift + 1]sync.Pool
}

func class(n int) (int, bool) {
	if n <= 1<<minShift {
		return 0, true
	}
	s := bits.Len(uint(n - 1))
	if s > maxShift {
		return 0, false
	}
	return s - minShift, true
}

// Get returns a buffer whose length is at least n (it is the size class,
// which may be larger).
//
// raw takes its read buffers here while the runtime's poller holds a
// goroutine's stack at its deepest, so Get's own frame is kept small:
// the allocation of a miss is made in a frame of its own (alloc).
func (p *Pool) Get(n int) *[]byte {
	c, ok := class(n)
	if !ok {
		return alloc(n)
	}
	if v := p.classes[c].Get(); v != nil {
		return v.(*[]byte)
	}
	return alloc(1 << (c + minShift))
}

// alloc is a new buffer of n bytes.
//
//go:noinline
func alloc(n int) *[]byte {
	b := make([]byte, n)
	return &b
}

// Put gives b back. Buffers that are not exactly a size class are dropped.
func (p *Pool) Put(b *[]byte) {
	if b == nil {
		return
	}
	n := cap(*b)
	c, ok := class(n)
	if !ok || n != 1<<(c+minShift) {
		return
	}
	*b = (*b)[:n]
	p.classes[c].Put(b)
}

// Default is the pool used when a configuration names none. Sharing one
// pool across every connection of a process is what keeps idle
// connections free of buffers; it holds no connection state.
var Default = &Pool{}
