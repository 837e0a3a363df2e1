package ctxlock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestExclusion(t *testing.T) {
	var m Mutex
	var wg sync.WaitGroup
	inside, total := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if err := m.Lock(context.Background(), nil); err != nil {
					t.Error(err)
					return
				}
				inside++
				if inside != 1 {
					t.Errorf("%d holders at once", inside)
				}
				total++
				inside--
				m.Unlock()
			}
		}()
	}
	wg.Wait()
	if total != 8000 {
		t.Fatalf("total = %d", total)
	}
}

func TestGiveUp(t *testing.T) {
	var m Mutex
	if !m.TryLock() {
		t.Fatal("TryLock of a free lock failed")
	}
	if m.TryLock() {
		t.Fatal("TryLock of a held lock succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := m.Lock(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock under an expiring context = %v", err)
	}
	var closed Event
	go func() { time.Sleep(10 * time.Millisecond); closed.Fire() }()
	if err := m.Lock(context.Background(), &closed); err != ErrClosed {
		t.Fatalf("Lock until closed = %v", err)
	}
	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() { got <- m.Lock(context.Background(), nil) }()
	time.Sleep(10 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("Lock returned %v while the lock was held", err)
	default:
	}
	m.Unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	m.Unlock()
	if !m.TryLock() {
		t.Fatal("lock not free after the last Unlock")
	}
}

func TestUnlockUnlockedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var m Mutex
	m.Unlock()
}

func BenchmarkUncontended(b *testing.B) {
	var m Mutex
	ctx := context.Background()
	for range b.N {
		m.Lock(ctx, nil)
		m.Unlock()
	}
}

func BenchmarkChannel(b *testing.B) {
	ch := make(chan struct{}, 1)
	ctx := context.Background()
	for range b.N {
		select {
		case ch <- struct{}{}:
		case <-ctx.Done():
		}
		<-ch
	}
}

func TestEvent(t *testing.T) {
	var e Event
	if e.Fired() {
		t.Fatal("zero Event has fired")
	}
	early := e.Done()
	select {
	case <-early:
		t.Fatal("Done closed before Fire")
	default:
	}
	woke := make(chan struct{})
	go func() { <-early; close(woke) }()
	if !e.Fire() {
		t.Fatal("first Fire reported false")
	}
	if e.Fire() {
		t.Fatal("second Fire reported true")
	}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter was not woken by Fire")
	}
	if !e.Fired() {
		t.Fatal("Fired after Fire = false")
	}
	var late Event
	late.Fire()
	select {
	case <-late.Done():
	default:
		t.Fatal("Done after Fire is not closed")
	}
	var none *Event
	if none.Done() != nil {
		t.Fatal("nil Event's Done is not nil")
	}
}

// TestEventUnless checks that Unless runs its function only before the
// event, and that Fire waits for a call in progress.
func TestEventUnless(t *testing.T) {
	var e Event
	inside, release := make(chan struct{}), make(chan struct{})
	ran := false
	done := make(chan bool)
	go func() {
		done <- e.Unless(func() {
			close(inside)
			<-release
			ran = true
		})
	}()
	<-inside
	fired := make(chan struct{})
	go func() { e.Fire(); close(fired) }()
	select {
	case <-fired:
		t.Fatal("Fire returned while Unless's function ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-fired
	if !<-done || !ran {
		t.Fatal("Unless before Fire did not run its function")
	}
	if e.Unless(func() { t.Error("Unless after Fire ran its function") }) {
		t.Fatal("Unless after Fire reported true")
	}
}

// TestEventDoneRacesFire calls Done from many goroutines while Fire runs:
// whichever channel each got, the first made or the closed one, it must
// be closed once Fire returned, and Fire must report true exactly once.
func TestEventDoneRacesFire(t *testing.T) {
	for range 200 {
		var e Event
		var wg sync.WaitGroup
		chans := make([]<-chan struct{}, 8)
		for i := range chans {
			wg.Add(1)
			go func() { defer wg.Done(); chans[i] = e.Done() }()
		}
		fires := make(chan bool, 2)
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); fires <- e.Fire() }()
		}
		wg.Wait()
		if a, b := <-fires, <-fires; a == b {
			t.Fatalf("two Fires reported %v and %v, want one true", a, b)
		}
		for i, ch := range chans {
			select {
			case <-ch:
			default:
				t.Fatalf("Done's channel %d is open after Fire", i)
			}
		}
	}
}
