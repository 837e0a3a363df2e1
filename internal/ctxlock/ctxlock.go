// Package ctxlock provides a mutual exclusion lock whose Lock gives up
// when a context is done or an event has happened, and that event: a
// one-shot signal.
//
// A one-slot channel, and a channel closed once, do the same jobs, but
// cost every connection 96 bytes of heap each. These keep their state in
// one atomic word inside their owner and make a channel only when
// somebody has to wait: taking and releasing a free Mutex, and asking
// whether an Event fired, are one atomic operation each, with no lock
// around it (every message a connection reads or writes does several).
package ctxlock

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"
)

// ErrClosed is returned by Lock when its closed channel is closed.
var ErrClosed = errors.New("ctxlock: closed")

// waiters is the channel a Mutex's waiters, or an Event's, wait on.
type waiters struct{ ch chan struct{} }

// Mutex is a mutual exclusion lock. The zero value is unlocked. Waiters
// are woken together when it is unlocked and race for it: it is meant for
// locks that are rarely contended.
type Mutex struct {
	// state is nil when the lock is free, held when it is held and
	// nobody waits, else the waiters the first of them put there, whom
	// Unlock wakes.
	state atomic.Pointer[waiters]
}

// held marks a Mutex held with no waiter; its channel is never used.
// It is a global variable, not an object on the heap, so that the fast
// paths below may put it in a Mutex's state, and take it out, with a
// compare-and-swap of the word as an integer: one instruction, where
// atomic.Pointer's calls into the runtime, twice, for the garbage
// collector's write barrier. That barrier is for pointers into the heap:
// the collector neither marks nor needs to see a global's address.
// A waiters value on the heap is only ever stored or replaced through
// atomic.Pointer.
var held = &heldMark

var heldMark waiters

// TryLock takes the lock if it is free and reports whether it did.
func (m *Mutex) TryLock() bool {
	return (*atomic.Uintptr)(unsafe.Pointer(&m.state)).CompareAndSwap(0, uintptr(unsafe.Pointer(&heldMark)))
}

// Lock takes the lock, waiting for it until ctx is done (ctx.Err()) or
// closed has happened (ErrClosed). A free lock is taken even after
// closed. closed may be nil.
func (m *Mutex) Lock(ctx context.Context, closed *Event) error {
	if m.TryLock() {
		return nil // in the caller: Lock is inlined
	}
	return m.lockSlow(ctx, closed)
}

func (m *Mutex) lockSlow(ctx context.Context, closed *Event) error {
	for {
		w := m.state.Load()
		switch w {
		case nil:
			if m.state.CompareAndSwap(nil, held) {
				return nil
			}
			continue
		case held:
			nw := &waiters{ch: make(chan struct{})}
			if !m.state.CompareAndSwap(held, nw) {
				continue // unlocked, or another waiter came first
			}
			w = nw
		}
		select {
		case <-w.ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed.Done():
			return ErrClosed
		}
	}
}

// Unlock releases the lock. It panics if the lock is not held.
func (m *Mutex) Unlock() {
	if !(*atomic.Uintptr)(unsafe.Pointer(&m.state)).CompareAndSwap(uintptr(unsafe.Pointer(&heldMark)), 0) {
		m.unlockSlow() // waiters to wake, or not locked
	}
}

func (m *Mutex) unlockSlow() {
	w := m.state.Swap(nil)
	if w == nil {
		panic("ctxlock: unlock of unlocked Mutex")
	}
	if w != held {
		close(w.ch)
	}
}

// Event is a one-shot signal: it happens once, with Fire, and Done
// returns a channel closed from then on. The zero value has not happened.
type Event struct {
	// mu orders Fire after a call of Unless in progress; Fired and
	// Done do not take it.
	mu sync.Mutex
	// state is nil before Fire until the first Done puts waiters
	// there; fired once the event has happened (Fire closes the
	// waiters' channel, if any, and puts fired in their place).
	state atomic.Pointer[waiters]
}

// fired marks an Event that has happened; its channel is closed.
var fired = func() *waiters {
	w := &waiters{ch: make(chan struct{})}
	close(w.ch)
	return w
}()

// Done returns a channel that is closed when the event happens. For a
// nil *Event it returns nil, which never fires.
func (e *Event) Done() <-chan struct{} {
	if e == nil {
		return nil
	}
	for {
		if w := e.state.Load(); w != nil {
			return w.ch
		}
		w := &waiters{ch: make(chan struct{})}
		if e.state.CompareAndSwap(nil, w) {
			return w.ch
		}
	}
}

// Fire makes the event happen and reports whether this call did; later
// calls do nothing and report false.
func (e *Event) Fire() bool {
	e.mu.Lock()
	w := e.state.Swap(fired)
	e.mu.Unlock()
	if w == fired {
		return false
	}
	if w != nil {
		close(w.ch)
	}
	return true
}

// Unless calls f unless the event has happened, and reports whether it
// did. Fire waits for f to return: what f changes is seen by whoever
// fires the event next, and f runs wholly before the event or not at all.
// f must not use e.
func (e *Event) Unless(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.Load() == fired {
		return false
	}
	f()
	return true
}

// Fired reports whether the event has happened.
func (e *Event) Fired() bool { return e.state.Load() == fired }
