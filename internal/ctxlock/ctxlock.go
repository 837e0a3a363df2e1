// Package ctxlock provides a mutual exclusion lock whose Lock gives up
// when a context is done or an event has happened, and that event: a
// one-shot signal.
//
// A one-slot channel, and a channel closed once, do the same jobs, but
// cost every connection 96 bytes of heap each; these are 16 bytes inside
// their owner (a word of lock and a channel word that also holds the
// state) and make a channel only when somebody has to wait.
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
	mu sync.Mutex
	// wake is the state, under mu: nil when the lock is free, heldChan
	// when it is held and nobody waits, else a channel the first waiter
	// made, which Unlock closes. One word, not a bool beside the
	// channel: a bool would cost a padded word in every owner.
	wake chan struct{}
}

// heldChan marks a Mutex held with no waiter; it is never closed.
var heldChan = make(chan struct{})

// TryLock takes the lock if it is free and reports whether it did.
func (m *Mutex) TryLock() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.wake != nil {
		return false
	}
	m.wake = heldChan
	return true
}

// Lock takes the lock, waiting for it until ctx is done (ctx.Err()) or
// closed has happened (ErrClosed). A free lock is taken even after
// closed. closed may be nil.
func (m *Mutex) Lock(ctx context.Context, closed *Event) error {
	for {
		m.mu.Lock()
		if m.wake == nil {
			m.wake = heldChan
			m.mu.Unlock()
			return nil
		}
		if m.wake == heldChan {
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
	wake := m.wake
	if wake == nil {
		m.mu.Unlock()
		panic("ctxlock: unlock of unlocked Mutex")
	}
	m.wake = nil
	m.mu.Unlock()
	if wake != heldChan {
		close(wake)
	}
}

// Event is a one-shot signal: it happens once, with Fire, and Done
// returns a channel closed from then on. The zero value has not happened.
type Event struct {
	mu sync.Mutex
	// ch is the state, under mu: nil before Fire until the first Done
	// makes it; closedChan once the event has happened (Fire closes the
	// channel Done made, if any, and puts closedChan in its place).
	ch chan struct{}
}

// closedChan is the channel Done returns once the event has happened,
// and the mark that it has; it is never written.
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
		e.ch = make(chan struct{})
	}
	return e.ch
}

// Fire makes the event happen and reports whether this call did; later
// calls do nothing and report false.
func (e *Event) Fire() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == closedChan {
		return false
	}
	if e.ch != nil {
		close(e.ch)
	}
	e.ch = closedChan
	return true
}

// Unless calls f unless the event has happened, and reports whether it
// did. Fire waits for f to return: what f changes is seen by whoever
// fires the event next, and f runs wholly before the event or not at all.
// f must not use e.
func (e *Event) Unless(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ch == closedChan {
		return false
	}
	f()
	return true
}

// Fired reports whether the event has happened.
func (e *Event) Fired() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch == closedChan
}
