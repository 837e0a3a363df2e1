// Package natsbroker is a hub.Broker on NATS core publish/subscribe
// (github.com/nats-io/nats.go): a topic is the subject Prefix+topic.
//
// Delivery is at most once (see package cluster). While the connection is
// down, Publish's messages are not buffered for later (the client's
// reconnect buffer is off): they are dropped and counted in Stats.Dropped,
// so that a node says how much it lost. The client reconnects for ever,
// with backoff, and restores the subscriptions itself.
package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hybi-go/hybi/cluster"
	"github.com/hybi-go/hybi/conn/hub"
)

// Options configures a Broker. A nil *Options means the zero value.
type Options struct {
	// Prefix is put before each topic to make its subject; "" means
	// "hybi.".
	Prefix string
	// QueueSize is the publish queue's length (see cluster.Queue); 0
	// means cluster.DefaultQueueSize.
	QueueSize int
	// Full is the policy when the publish queue is full.
	Full cluster.Policy
	// PendingLimit is how many received messages one subscription may
	// hold before the client drops new ones (counted in
	// Stats.ReceiveDropped); 0 means 65536.
	PendingLimit int
	// Name is the client's name, shown by the server.
	Name string
	// Logf, when set, is told of disconnections, reconnections and slow
	// subscriptions.
	Logf func(format string, args ...any)
	// NATS are more options for nats.Connect, applied last.
	NATS []nats.Option
}

// Broker is a NATS connection used as a hub.Broker.
type Broker struct {
	nc   *nats.Conn
	q    *cluster.Queue
	opts Options
	sent chan struct{} // closed when the sender has returned

	mu          sync.Mutex
	subs        map[*nats.Subscription]struct{}
	goneDropped int64 // ReceiveDropped of the subscriptions already gone
}

var _ hub.Broker = (*Broker)(nil)

// Dial connects to the NATS server at url (nats://host:port; several
// separated by commas).
func Dial(url string, o *Options) (*Broker, error) {
	b := &Broker{subs: make(map[*nats.Subscription]struct{}), sent: make(chan struct{})}
	if o != nil {
		b.opts = *o
	}
	if b.opts.Prefix == "" {
		b.opts.Prefix = "hybi."
	}
	if b.opts.PendingLimit <= 0 {
		b.opts.PendingLimit = 65536
	}
	b.q = cluster.NewQueue(b.opts.QueueSize, b.opts.Full)
	opts := []nats.Option{
		nats.Name(b.opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, 100*time.Millisecond),
		nats.ReconnectBufSize(-1), // publish fails while down: counted, not resent late
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.q.Connected.Store(false)
			b.q.Disconnects.Add(1)
			b.logf("natsbroker: disconnected: %v", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.q.Connected.Store(true)
			b.q.Reconnects.Add(1)
			b.logf("natsbroker: reconnected to %s; %d messages dropped so far", nc.ConnectedUrlRedacted(), b.q.Dropped.Load())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				b.logf("natsbroker: subscription %s: %v", sub.Subject, err)
			} else {
				b.logf("natsbroker: %v", err)
			}
		}),
	}
	nc, err := nats.Connect(url, append(opts, b.opts.NATS...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: connecting to %s: %w", url, err)
	}
	b.nc = nc
	b.q.Connected.Store(true)
	go func() {
		defer close(b.sent)
		b.q.Run(256, b.send)
	}()
	return b, nil
}

func (b *Broker) logf(format string, args ...any) {
	if b.opts.Logf != nil {
		b.opts.Logf(format, args...)
	}
}

// send publishes a batch; the client writes it out in the background.
func (b *Broker) send(batch []cluster.Item) (failed int) {
	for _, it := range batch {
		if err := b.nc.Publish(b.opts.Prefix+it.Topic, it.Msg); err != nil {
			failed++
		}
	}
	return failed
}

// checkTopic refuses what cannot be one subject of tokens.
func checkTopic(topic string) error {
	if topic == "" || strings.ContainsAny(topic, " \t\r\n*>") || strings.HasPrefix(topic, ".") ||
		strings.HasSuffix(topic, ".") || strings.Contains(topic, "..") {
		return fmt.Errorf("natsbroker: topic %q is not a NATS subject without wildcards", topic)
	}
	return nil
}

// Publish queues msg for topic under Options.Full; see hub.Broker.
func (b *Broker) Publish(ctx context.Context, topic string, msg []byte) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	return b.q.Put(ctx, topic, msg)
}

// Subscribe subscribes to topic and waits until the server has the
// subscription; see hub.Broker. deliver runs on the subscription's own
// goroutine.
func (b *Broker) Subscribe(ctx context.Context, topic string, deliver func([]byte)) (func(), error) {
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	sub, err := b.nc.Subscribe(b.opts.Prefix+topic, func(m *nats.Msg) {
		b.q.Received.Add(1)
		deliver(m.Data)
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: subscribing to %s: %w", topic, err)
	}
	sub.SetPendingLimits(b.opts.PendingLimit, -1)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("natsbroker: subscribing to %s: %w", topic, err)
	}
	b.mu.Lock()
	b.subs[sub] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, sub)
			if n, err := sub.Dropped(); err == nil {
				b.goneDropped += int64(n)
			}
			b.mu.Unlock()
			sub.Unsubscribe()
		})
	}, nil
}

// Stats returns the adapter's counters.
func (b *Broker) Stats() cluster.Stats {
	s := b.q.Stats()
	b.mu.Lock()
	s.ReceiveDropped += b.goneDropped
	for sub := range b.subs {
		if n, err := sub.Dropped(); err == nil {
			s.ReceiveDropped += int64(n)
		}
	}
	b.mu.Unlock()
	return s
}

// Close sends what is queued (waiting up to ctx), then closes the
// connection.
func (b *Broker) Close(ctx context.Context) error {
	b.q.Close()
	var err error
	select {
	case <-b.sent:
		if _, ok := ctx.Deadline(); ok {
			err = b.nc.FlushWithContext(ctx)
		} else {
			err = b.nc.FlushTimeout(5 * time.Second)
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.nc.Close()
	b.q.Connected.Store(false)
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	return err
}
