// Package redisbroker is a hub.Broker on Redis pub/sub
// (github.com/redis/go-redis/v9): a topic is the channel Prefix+topic.
//
// Delivery is at most once (see package cluster). Publishes are sent in
// pipelines from one goroutine, without retries (a retried PUBLISH whose
// reply was lost would be delivered twice); those that fail, while Redis
// is unreachable, are dropped and counted in Stats.Dropped. The one
// subscriber connection reconnects for ever with backoff and subscribes
// again to every channel. Redis disconnects a subscriber that reads too
// slowly (client-output-buffer-limit pubsub); that too ends in a
// reconnection, counted in Stats.Disconnects.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hybi-go/hybi/cluster"
	"github.com/hybi-go/hybi/conn/hub"
)

// Options configures a Broker. A nil *Options means the zero value.
type Options struct {
	// Prefix is put before each topic to make its channel; "" means
	// "hybi.".
	Prefix string
	// QueueSize is the publish queue's length (see cluster.Queue); 0
	// means cluster.DefaultQueueSize.
	QueueSize int
	// Full is the policy when the publish queue is full.
	Full cluster.Policy
	// Logf, when set, is told of disconnections and reconnections.
	Logf func(format string, args ...any)
}

// Broker is a pair of Redis connections used as a hub.Broker: a pool for
// PUBLISH and one subscriber connection.
type Broker struct {
	client *redis.Client
	ps     *redis.PubSub
	q      *cluster.Queue
	opts   Options
	sent   chan struct{} // closed when the sender has returned
	read   chan struct{} // closed when the reader has returned
	stop   chan struct{} // closed by Close

	subMu    sync.Mutex   // held from a change of channels to its SUBSCRIBE or UNSUBSCRIBE, which keeps them in order
	mu       sync.RWMutex // guards channels
	channels map[string]*channel
}

// channel is one subscribed channel: its subscriptions, and who waits for
// Redis to confirm it.
type channel struct {
	subs      map[*subscription]struct{}
	confirmed chan struct{} // closed on Redis's confirmation
}

type subscription struct{ deliver func([]byte) }

var _ hub.Broker = (*Broker)(nil)

// Dial connects to Redis at url (redis://[:password@]host:port[/db]).
func Dial(ctx context.Context, url string, o *Options) (*Broker, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: %w", err)
	}
	ro.MaxRetries = -1 // never PUBLISH twice
	ro.DialTimeout = 2 * time.Second
	b := &Broker{
		client:   redis.NewClient(ro),
		sent:     make(chan struct{}),
		read:     make(chan struct{}),
		stop:     make(chan struct{}),
		channels: make(map[string]*channel),
	}
	if o != nil {
		b.opts = *o
	}
	if b.opts.Prefix == "" {
		b.opts.Prefix = "hybi."
	}
	if err := b.client.Ping(ctx).Err(); err != nil {
		b.client.Close()
		return nil, fmt.Errorf("redisbroker: connecting to %s: %w", ro.Addr, err)
	}
	b.q = cluster.NewQueue(b.opts.QueueSize, b.opts.Full)
	b.q.Connected.Store(true)
	b.ps = b.client.Subscribe(ctx) // no channel yet
	if err := b.ps.Ping(ctx); err != nil {
		b.ps.Close()
		b.client.Close()
		return nil, fmt.Errorf("redisbroker: connecting to %s: %w", ro.Addr, err)
	}
	go func() {
		defer close(b.sent)
		b.q.Run(256, b.send)
	}()
	go b.reader()
	return b, nil
}

func (b *Broker) logf(format string, args ...any) {
	if b.opts.Logf != nil {
		b.opts.Logf(format, args...)
	}
}

// send publishes a batch in one pipeline.
func (b *Broker) send(batch []cluster.Item) (failed int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := b.client.Pipeline()
	for _, it := range batch {
		pipe.Publish(ctx, b.opts.Prefix+it.Topic, it.Msg)
	}
	cmds, _ := pipe.Exec(ctx)
	for _, c := range cmds {
		if c.Err() != nil {
			failed++
		}
	}
	return failed + len(batch) - len(cmds)
}

// reader is the subscriber connection's goroutine: it delivers messages
// to the subscriptions of their channel, confirms subscriptions, and
// reconnects after an error.
func (b *Broker) reader() {
	defer close(b.read)
	ctx := context.Background()
	for {
		m, err := b.ps.Receive(ctx)
		if err != nil {
			select {
			case <-b.stop:
				return
			default:
			}
			b.q.Connected.Store(false)
			b.q.Disconnects.Add(1)
			b.logf("redisbroker: subscriber disconnected: %v", err)
			// Ping reconnects and subscribes to every channel again.
			for attempt := 0; ; attempt++ {
				select {
				case <-time.After(cluster.Backoff(attempt)):
				case <-b.stop:
					return
				}
				if b.ps.Ping(ctx) == nil {
					break
				}
			}
			b.q.Connected.Store(true)
			b.q.Reconnects.Add(1)
			b.logf("redisbroker: subscriber reconnected; %d messages dropped so far", b.q.Dropped.Load())
			continue
		}
		switch m := m.(type) {
		case *redis.Message:
			b.mu.RLock()
			ch := b.channels[m.Channel]
			if ch != nil {
				for s := range ch.subs {
					b.q.Received.Add(1)
					s.deliver([]byte(m.Payload))
				}
			}
			b.mu.RUnlock()
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.mu.Lock()
				if ch := b.channels[m.Channel]; ch != nil {
					select {
					case <-ch.confirmed:
					default:
						close(ch.confirmed)
					}
				}
				b.mu.Unlock()
			}
		}
	}
}

// Publish queues msg for topic under Options.Full; see hub.Broker.
func (b *Broker) Publish(ctx context.Context, topic string, msg []byte) error {
	if topic == "" {
		return errors.New("redisbroker: empty topic")
	}
	return b.q.Put(ctx, topic, msg)
}

// Subscribe subscribes to topic and waits for Redis to confirm it; see
// hub.Broker. Every deliver runs on the one reader goroutine, so a slow
// one delays every topic.
func (b *Broker) Subscribe(ctx context.Context, topic string, deliver func([]byte)) (func(), error) {
	if topic == "" {
		return nil, errors.New("redisbroker: empty topic")
	}
	name := b.opts.Prefix + topic
	s := &subscription{deliver: deliver}
	b.subMu.Lock()
	b.mu.Lock()
	ch := b.channels[name]
	first := ch == nil
	if first {
		ch = &channel{subs: make(map[*subscription]struct{}), confirmed: make(chan struct{})}
		b.channels[name] = ch
	}
	ch.subs[s] = struct{}{}
	b.mu.Unlock()
	unsubscribe := func() {
		b.subMu.Lock()
		defer b.subMu.Unlock()
		b.mu.Lock()
		delete(ch.subs, s)
		last := len(ch.subs) == 0 && b.channels[name] == ch
		if last {
			delete(b.channels, name)
		}
		b.mu.Unlock()
		if last {
			b.ps.Unsubscribe(context.Background(), name)
		}
	}
	var err error
	if first {
		err = b.ps.Subscribe(ctx, name)
	}
	b.subMu.Unlock()
	if err != nil {
		unsubscribe()
		return nil, fmt.Errorf("redisbroker: subscribing to %s: %w", name, err)
	}
	select {
	case <-ch.confirmed:
	case <-ctx.Done():
		unsubscribe()
		return nil, fmt.Errorf("redisbroker: waiting for the subscription to %s: %w", name, ctx.Err())
	}
	var once sync.Once
	return func() { once.Do(unsubscribe) }, nil
}

// Stats returns the adapter's counters.
func (b *Broker) Stats() cluster.Stats { return b.q.Stats() }

// Close sends what is queued (waiting up to ctx), then closes the
// connections.
func (b *Broker) Close(ctx context.Context) error {
	b.q.Close()
	var err error
	select {
	case <-b.sent:
	case <-ctx.Done():
		err = ctx.Err()
	}
	close(b.stop)
	b.ps.Close()
	<-b.read
	b.q.Connected.Store(false)
	return errors.Join(err, b.client.Close())
}
