// Package ctxlock provides a mutual exclusion lock whose Lock gives up
// when a context is done or an event has happened, and that event: a
// one-shot signal.
//
// A one-slot channel, and a channel closed once, do the same jobs, but
// cost every connection 96 bytes of heap each; these are 24 bytes inside
// their owner and make a channel only when somebody has to wait.
package ctxlock

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Lock when its closed channel is closed.
var ErrClosed = errors.New("ctxlock: closed")

// Mutex is a mutual exclusion lock. The zero value is unlocked. Waiters
// are woken together when it is unlocked and race for it: it is meant for
// locks that are rarely contended.
type Mutex struct {
	mu   sync.Mutex
	held bool
	wake chan struct{} // closed by Unlock; created by the first waiter
}

// TryLock takes the lock if it is free and reports whether it did.
func (m *Mutex) TryLock() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held {
		return false
	}
	m.held = true
	return true
}

// Lock takes the lock, waiting for it until ctx is done (ctx.Err()) or
// closed has happened (ErrClosed). A free lock is taken even after
// closed. closed may be nil.
func (m *Mutex) Lock(ctx context.Context, closed *Event) error {
	for {
		m.mu.Lock()
		if !m.held {
			m.held = true
			m.mu.Unlock()
			return nil
		}
		if m.wake == nil {
			m.wake = make(chan struct{})
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-closed.Done():
			return ErrClosed
		}
	}
}

// Unlock releases the lock. It panics if the lock is not held.
func (m *Mutex) Unlock() {
	m.mu.Lock()
	if !m.held {
		m.mu.Unlock()
		panic("ctxlock: unlock of unlocked Mutex")
	}
	m.held = false
	wake := m.wake
	m.wake = nil
	m.mu.Unlock()
	if wake != nil {
		close(wake)
	}
}

// Event is a one-shot signal: it happens once, with Fire, and Done
// returns a channel closed from then on. The zero value has not happened.
type Event struct {
	mu    sync.Mutex
	fired bool
	ch    chan struct{} // made by the first Done before Fire
}

// closedChan is the channel Done returns once the event has happened and
// nobody had asked for one before; it is never written.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Done returns a channel that is closed when the event happens. For a
// nil *Event it returns nil, which never fires.
func (e *Event) Done() <-chan struct{} {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == nil {
		if e.fired {
			return closedChan
		}
		e.ch = make(chan struct{})
	}
	return e.ch
}

// Fire makes the event happen and reports whether this call did; later
// calls do nothing and report false.
func (e *Event) Fire() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fired {
		return false
	}
	e.fired = true
	if e.ch != nil {
		close(e.ch)
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
	if e.fired {
		return false
	}
	f()
	return true
}

// Fired reports whether the event has happened.
func (e *Event) Fired() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fired
}
