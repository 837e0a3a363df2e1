// Package cluster holds what the broker adapters for hub.Cluster share: the
// bounded publish queue between a node's publishers and its broker, the
// policy applied when it is full, and the counters every adapter reports.
//
// The adapters are in natsbroker (NATS core) and redisbroker (Redis
// pub/sub). This module is separate from github.com/hybi-go/hybi so that
// the library does not depend on their clients.
//
// # Delivery guarantee
//
// At most once, as the brokers give it: a message reaches each node
// subscribed to its topic at the time it passes through the broker, in the
// order it was published by one goroutine of one node, or not at all. It is
// lost when the publish queue is full under DropNewest, when the broker is
// unreachable as it leaves the queue (both counted in Stats.Dropped), when
// it was in flight on a connection that broke (not counted: the client
// cannot know), and when a subscriber is too slow for the broker (NATS
// counts these in Stats.ReceiveDropped; Redis disconnects the subscriber,
// counted in Stats.Disconnects). A message is never delivered twice: no
// adapter retries a publish whose outcome it does not know.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is what Publish does when the publish queue is full: the broker
// (or the network to it) is slower than the node's publishers.
type Policy int

const (
	// Block makes Publish wait for room until its context is done; the
	// publisher is slowed to the broker's pace. A message whose context
	// ends first is dropped and counted.
	Block Policy = iota
	// DropNewest makes Publish fail at once with ErrQueueFull and count
	// the message as dropped; publishers never wait.
	DropNewest
)

func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case DropNewest:
		return "drop-newest"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// DefaultQueueSize is the publish queue's length when none is given.
const DefaultQueueSize = 4096

// Errors of Publish.
var (
	ErrQueueFull = errors.New("cluster: publish queue full (the broker is slower than the publishers)")
	ErrClosed    = errors.New("cluster: broker adapter closed")
)

// Stats is what an adapter counts.
type Stats struct {
	Published      int64 // messages handed to the broker's connection
	Dropped        int64 // messages not published: queue full, context done, broker unreachable
	Received       int64 // messages delivered to subscriptions
	ReceiveDropped int64 // messages the client discarded for a slow subscriber
	Disconnects    int64 // connections to the broker lost
	Reconnects     int64 // connections to the broker made again
	Connected      bool  // connected to the broker now
}

// Item is one message waiting in a Queue.
type Item struct {
	Topic string
	Msg   []byte
}

// Queue is the bounded queue between Publish and the one goroutine that
// sends to the broker; that single sender keeps the order of the messages.
// It also holds the counters of Stats.
type Queue struct {
	ch     chan Item
	policy Policy
	closed chan struct{}
	once   sync.Once
	mu     sync.RWMutex // held for reading while sending on ch, for writing to close it

	Published, Dropped, Received, ReceiveDropped atomic.Int64
	Disconnects, Reconnects                      atomic.Int64
	Connected                                    atomic.Bool
}

// NewQueue returns a queue of size messages (DefaultQueueSize when size is
// not positive) under policy.
func NewQueue(size int, policy Policy) *Queue {
	if size <= 0 {
		size = DefaultQueueSize
	}
	return &Queue{ch: make(chan Item, size), policy: policy, closed: make(chan struct{})}
}

// Put queues msg for topic under the queue's policy.
func (q *Queue) Put(ctx context.Context, topic string, msg []byte) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	select {
	case <-q.closed:
		q.Dropped.Add(1)
		return ErrClosed
	default:
	}
	it := Item{Topic: topic, Msg: msg}
	select {
	case q.ch <- it:
		return nil
	default:
	}
	if q.policy == DropNewest {
		q.Dropped.Add(1)
		return ErrQueueFull
	}
	select {
	case q.ch <- it:
		return nil
	case <-ctx.Done():
		q.Dropped.Add(1)
		return fmt.Errorf("cluster: waiting for room in the publish queue: %w", ctx.Err())
	case <-q.closed:
		q.Dropped.Add(1)
		return ErrClosed
	}
}

// Run is the sender's loop: it hands send up to max queued messages at a
// time, in order, until Close, then sends what is left. send returns how
// many of the batch it failed to publish, which are counted as dropped.
func (q *Queue) Run(max int, send func(batch []Item) (failed int)) {
	batch := make([]Item, 0, max)
	for {
		it, ok := <-q.ch
		if !ok {
			return
		}
		batch = append(batch[:0], it)
	fill:
		for len(batch) < max {
			select {
			case it, ok := <-q.ch:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			default:
				break fill
			}
		}
		failed := send(batch)
		q.Dropped.Add(int64(failed))
		q.Published.Add(int64(len(batch) - failed))
		clear(batch) // let the messages go
	}
}

// Close stops Put and ends Run once the queue is drained.
func (q *Queue) Close() {
	q.once.Do(func() {
		close(q.closed) // wakes blocked Puts, which release mu
		q.mu.Lock()
		close(q.ch)
		q.mu.Unlock()
	})
}

// Len returns how many messages wait in the queue.
func (q *Queue) Len() int { return len(q.ch) }

// Stats returns the counters.
func (q *Queue) Stats() Stats {
	return Stats{
		Published:      q.Published.Load(),
		Dropped:        q.Dropped.Load(),
		Received:       q.Received.Load(),
		ReceiveDropped: q.ReceiveDropped.Load(),
		Disconnects:    q.Disconnects.Load(),
		Reconnects:     q.Reconnects.Load(),
		Connected:      q.Connected.Load(),
	}
}

// Backoff returns the wait before reconnection attempt n (from 0): from
// 50 ms doubling up to 250 ms, short since every message published while
// a node is away from the broker is lost to it.
func Backoff(n int) time.Duration {
	const most = 250 * time.Millisecond
	d := 50 * time.Millisecond
	for ; n > 0 && d < most; n-- {
		d *= 2
	}
	return min(d, most)
}
