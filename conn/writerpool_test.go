package conn_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/raw"
)

// pooledPair is queuePair with the queue's writers from pool: the peer
// at the other end of a net.Pipe, so that a write blocks until it reads.
func pooledPair(t *testing.T, pool *conn.WriterPool, onStop func(error)) (*conn.SendQueue, *raw.Conn) {
	return queuePair(t, &conn.QueueOptions{Writers: pool, OnStop: onStop})
}

func poolWorkers() int { return strings.Count(goroutineDump(), "WriterPool).work") }

// waitNoWorkers waits until the pool's workers have exited.
func waitNoWorkers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for poolWorkers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pool workers outlived the queues they wrote from", poolWorkers())
		}
		time.Sleep(time.Millisecond)
	}
}

// A fan-out to many queues is written by at most Size workers, every
// peer gets its messages in order, and the workers exit once no queue
// waits.
func TestWriterPoolBounded(t *testing.T) {
	pool := conn.NewWriterPool(&conn.WriterPoolOptions{Size: 2, StallAfter: time.Hour})
	const queues, msgs = 20, 5
	var qs []*conn.SendQueue
	var peers []*raw.Conn
	for range queues {
		q, peer := pooledPair(t, pool, nil)
		qs, peers = append(qs, q), append(peers, peer)
	}
	ctx := testCtx(t)
	var most atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n := int64(poolWorkers()); n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	for i := range msgs {
		for _, q := range qs {
			if err := q.Enqueue(ctx, msg(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for j, peer := range peers {
		for i := range msgs {
			if p, _ := readQueued(t, peer); p != fmt.Sprint(i) {
				t.Fatalf("peer %d, message %d: %q", j, i, p)
			}
		}
	}
	close(stop)
	<-sampled
	if n := most.Load(); n > 2 {
		t.Errorf("%d workers wrote at once, want at most the pool's 2", n)
	}
	waitNoWorkers(t)
}

// A worker stuck in a write to a peer that stopped reading holds up no
// other queue: with one worker, stuck, another queue's message still
// arrives.
func TestWriterPoolStuckWrite(t *testing.T) {
	pool := conn.NewWriterPool(&conn.WriterPoolOptions{Size: 1, StallAfter: 10 * time.Millisecond})
	stuck, silent := pooledPair(t, pool, nil)
	q, peer := pooledPair(t, pool, nil)
	ctx := testCtx(t)
	if err := stuck.Enqueue(ctx, msg("never read")); err != nil {
		t.Fatal(err)
	}
	waitLen(t, stuck, 0) // the only worker is in the write
	if err := q.Enqueue(ctx, msg("hello")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		h, err := peer.NextFrame(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		p := make([]byte, h.Length)
		peer.Read(p)
		got <- string(p)
	}()
	select {
	case p := <-got:
		if p != "hello" {
			t.Fatalf("peer read %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write stuck on another queue held up the message for 5 s")
	}
	silent.Close() // the stuck write fails; its worker exits
	waitNoWorkers(t)
}

// Close does not wait for a queue's turn: a queue in line for a worker
// stops at once, with OnStop called once, while the worker is stuck
// elsewhere.
func TestWriterPoolCloseWhileWaiting(t *testing.T) {
	pool := conn.NewWriterPool(&conn.WriterPoolOptions{Size: 1, StallAfter: time.Hour})
	stuck, silent := pooledPair(t, pool, nil)
	var stops atomic.Int32
	q, _ := pooledPair(t, pool, func(error) { stops.Add(1) })
	ctx := testCtx(t)
	if err := stuck.Enqueue(ctx, msg("never read")); err != nil {
		t.Fatal(err)
	}
	waitLen(t, stuck, 0)
	if err := q.Enqueue(ctx, msg("waits")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		q.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close of a queue in line for a worker waited for the worker")
	}
	if err := q.Err(); err != conn.ErrQueueClosed {
		t.Errorf("Err after Close: %v", err)
	}
	silent.Close()
	waitNoWorkers(t) // the worker passes over the closed queue
	if n := stops.Load(); n != 1 {
		t.Errorf("OnStop called %d times, want 1", n)
	}
}

// Putting a message on an idle queue allocates nothing with a pool
// either, once the pool's list has grown.
func TestWriterPoolIdleStartAllocs(t *testing.T) {
	idleStartAllocs(t, &conn.QueueOptions{Writers: conn.NewWriterPool(nil)})
}
