package hub

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hybi-go/hybi/conn"
)

// Broker carries messages between the nodes (server processes) of a
// cluster: NATS, Redis pub/sub, or anything with publish and subscribe
// by topic. Adapters for NATS and Redis live in the module
// github.com/hybi-go/hybi/cluster, so that this module does not depend
// on their clients.
//
// A Broker need not be reliable: a Cluster gives what its broker gives,
// at most once for NATS core and Redis pub/sub. It must keep the order of
// the messages published from one goroutine to one topic, as both do for
// the messages of one connection.
type Broker interface {
	// Publish sends msg to every subscription to topic, on every node,
	// this one included. It may return before msg has left; it owns msg
	// from the call on (the caller does not modify it again). It returns
	// an error when msg will not be sent: the broker is unreachable, its
	// buffer is full, or ctx is done while Publish waits for room.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe calls deliver for every message published to topic,
	// in the order the broker delivers them and one call at a time, until
	// unsubscribe is called. deliver must not keep msg after it returns,
	// and should return quickly. Subscribe returns once the subscription
	// is in place on the broker, or with an error when it cannot be.
	Subscribe(ctx context.Context, topic string, deliver func(msg []byte)) (unsubscribe func(), err error)
}

// ClusterOptions configures a Cluster. A nil *ClusterOptions means the
// zero value.
type ClusterOptions struct {
	// Node names this node in the cluster: it must differ from every other
	// node's, and be 1 to 255 bytes long. "" means a random name.
	Node string
	// Hub configures the local hub of each topic (queue size, slow-consumer
	// policy, write timeout).
	Hub *Options
}

// A Cluster spans topics (rooms) across nodes: each topic with members on
// this node has a local Hub, subscribed to the topic on the broker while
// it has members. Publish delivers a message to the local members at once
// and sends it through the broker to the other nodes, whose subscriptions
// broadcast it to their own members. A message carries its type (text or
// binary) and the name of the node that published it, so that this node
// does not deliver its own messages a second time when the broker echoes
// them back.
//
// Local delivery is the Hub's: each message is framed and compressed once
// per node and queued for every member under the hub's slow-consumer
// policy. Every member receives the messages published to its topic from
// one goroutine in the order they were published, each at most once.
//
// Its methods are safe for concurrent use.
type Cluster struct {
	broker Broker
	node   string
	hub    Options

	mu      sync.Mutex
	topics  map[string]*topic
	members map[*Member]*topic // joined and not left
	closed  bool

	// publishing holds the one token of the right to publish: sequence
	// numbers reach the broker in the order they are given. A channel
	// rather than a mutex, so that a publisher waiting for it can give up
	// when its context ends.
	publishing chan struct{}
	seq        map[string]uint64 // last sequence number per topic; guarded by the token

	received  atomic.Int64
	skipped   atomic.Int64
	malformed atomic.Int64
	missed    atomic.Int64
}

// topic is one topic's local hub and broker subscription.
type topic struct {
	name        string
	hub         *Hub
	members     int           // Joins not yet Left; guarded by Cluster.mu
	ready       chan struct{} // closed once subscribed (or failed)
	err         error         // why subscribing failed; read after ready
	unsubscribe func()        // set before ready is closed

	// last is the last sequence number received from each other node;
	// only deliver uses it, one call at a time.
	last map[string]uint64
}

// maxNumberedTopics bounds the topics whose sequence numbers a node keeps
// for its own messages.
const maxNumberedTopics = 4096

// maxTrackedNodes bounds the nodes whose sequence numbers a topic follows,
// whatever names the broker's publishers make up.
const maxTrackedNodes = 1024

// ClusterStats counts what a Cluster received from its broker.
type ClusterStats struct {
	Received  int64 // messages from other nodes, broadcast to local members
	Skipped   int64 // this node's own messages echoed by the broker
	Malformed int64 // messages that were not a Cluster's envelope
	// Missed counts the messages of other nodes that never arrived: the
	// gaps in each node's sequence numbers per topic, counted when the
	// next message arrives. Whatever lost them (the publisher's broker
	// queue, a broken connection, the broker), members here did not get
	// them.
	Missed int64
}

// ErrClusterClosed is returned by Join and Publish after Close.
var ErrClusterClosed = errors.New("hub: cluster closed")

// NewCluster returns a cluster node that relays through b.
func NewCluster(b Broker, o *ClusterOptions) (*Cluster, error) {
	var opts ClusterOptions
	if o != nil {
		opts = *o
	}
	if opts.Node == "" {
		var id [8]byte
		rand.Read(id[:])
		opts.Node = hex.EncodeToString(id[:])
	}
	if len(opts.Node) > 255 {
		return nil, fmt.Errorf("hub: node name is %d bytes long, over 255", len(opts.Node))
	}
	cl := &Cluster{
		broker:     b,
		node:       opts.Node,
		topics:     make(map[string]*topic),
		members:    make(map[*Member]*topic),
		publishing: make(chan struct{}, 1),
		seq:        make(map[string]uint64),
	}
	if opts.Hub != nil {
		cl.hub = *opts.Hub
	}
	return cl, nil
}

// Node returns this node's name.
func (cl *Cluster) Node() string { return cl.node }

// Join makes c a member of topic's local hub, subscribing this node to
// topic first when c is its first local member. The caller keeps reading
// c and must call Leave when done with it.
func (cl *Cluster) Join(ctx context.Context, name string, c *conn.Conn) (*Member, error) {
	for {
		cl.mu.Lock()
		if cl.closed {
			cl.mu.Unlock()
			return nil, ErrClusterClosed
		}
		t := cl.topics[name]
		if t == nil {
			t = &topic{name: name, hub: New(&cl.hub), ready: make(chan struct{}), last: make(map[string]uint64)}
			cl.topics[name] = t
			t.members++
			cl.mu.Unlock()
			t.unsubscribe, t.err = cl.broker.Subscribe(ctx, name, func(msg []byte) { cl.deliver(t, msg) })
			if t.err != nil {
				t.err = fmt.Errorf("hub: subscribing to topic %q: %w", name, t.err)
				cl.mu.Lock()
				t.members--
				if cl.topics[name] == t {
					delete(cl.topics, name)
				}
				cl.mu.Unlock()
			}
			close(t.ready)
			if t.err != nil {
				return nil, t.err
			}
			return cl.add(t, c), nil
		}
		t.members++
		cl.mu.Unlock()
		select {
		case <-t.ready:
		case <-ctx.Done():
			cl.release(t)
			return nil, ctx.Err()
		}
		if t.err != nil {
			// The first member's subscription failed; try again, as the
			// first member of a new topic.
			cl.mu.Lock()
			t.members--
			cl.mu.Unlock()
			continue
		}
		return cl.add(t, c), nil
	}
}

// add makes c a member of t's hub, counted in t.members already.
func (cl *Cluster) add(t *topic, c *conn.Conn) *Member {
	m := t.hub.Add(c)
	cl.mu.Lock()
	cl.members[m] = t
	cl.mu.Unlock()
	return m
}

// Leave takes m out of its topic's local hub (see Hub.Remove), and
// unsubscribes this node from the topic when m was its last local member.
// Leave may be called more than once.
func (cl *Cluster) Leave(m *Member) {
	cl.mu.Lock()
	t, ok := cl.members[m]
	delete(cl.members, m)
	cl.mu.Unlock()
	m.h.Remove(m)
	if ok {
		cl.release(t)
	}
}

// release drops one Join of t, unsubscribing when it was the last.
func (cl *Cluster) release(t *topic) {
	cl.mu.Lock()
	t.members--
	last := t.members == 0 && cl.topics[t.name] == t
	if last {
		delete(cl.topics, t.name)
	}
	cl.mu.Unlock()
	if last {
		<-t.ready
		if t.unsubscribe != nil {
			t.unsubscribe()
		}
	}
}

// Hub returns topic's local hub, or nil when it has no local member.
func (cl *Cluster) Hub(name string) *Hub {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if t := cl.topics[name]; t != nil {
		return t.hub
	}
	return nil
}

// Publish sends data as one message of type typ to every member of
// topic on every node: at once to this node's members, through the
// broker to the others. An error says that the other nodes will not get
// the message (the local members have); the broker's adapter counts such
// drops. A node's Publishes reach the broker one at a time, in the order
// of their sequence numbers; each is quick unless the broker's queue is
// full, and a Publish waiting its turn gives up when ctx ends.
func (cl *Cluster) Publish(ctx context.Context, name string, typ conn.MessageType, data []byte) error {
	if typ != conn.MessageText && typ != conn.MessageBinary {
		return fmt.Errorf("hub: cannot publish a message of type %v", typ)
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return ErrClusterClosed
	}
	t := cl.topics[name]
	cl.mu.Unlock()
	if t != nil {
		select {
		case <-t.ready:
			if t.err == nil {
				t.hub.Broadcast(typ, data)
			}
		default:
			// Still subscribing: the first member is not in the hub yet.
		}
	}
	select {
	case cl.publishing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("hub: waiting to publish: %w", ctx.Err())
	}
	defer func() { <-cl.publishing }()
	if _, ok := cl.seq[name]; !ok && len(cl.seq) >= maxNumberedTopics {
		// Forget the numbering of every topic rather than grow for ever
		// with topics published once: a receiving node takes a number that
		// starts again for a restart, not a loss.
		clear(cl.seq)
	}
	cl.seq[name]++
	return cl.broker.Publish(ctx, name, cl.envelope(typ, cl.seq[name], data))
}

// Stats returns what the cluster has received so far.
func (cl *Cluster) Stats() ClusterStats {
	return ClusterStats{
		Received:  cl.received.Load(),
		Skipped:   cl.skipped.Load(),
		Malformed: cl.malformed.Load(),
		Missed:    cl.missed.Load(),
	}
}

// Close unsubscribes from every topic; later Joins and Publishes fail
// with ErrClusterClosed. Members stay in their hubs, their connections
// open: the caller closes them and calls Leave as usual. It does not
// close the broker.
func (cl *Cluster) Close() {
	cl.mu.Lock()
	cl.closed = true
	topics := cl.topics
	cl.topics = make(map[string]*topic)
	cl.mu.Unlock()
	for _, t := range topics {
		<-t.ready
		if t.unsubscribe != nil {
			t.unsubscribe()
		}
	}
}

// The envelope of a message between nodes: a version byte, the message
// type, the length of the node's name, the name, the message's sequence
// number among the node's on its topic (uvarint, from 1), then the
// payload.
const envelopeVersion = 1

func (cl *Cluster) envelope(typ conn.MessageType, seq uint64, data []byte) []byte {
	b := make([]byte, 0, 3+len(cl.node)+binary.MaxVarintLen64+len(data))
	b = append(b, envelopeVersion, byte(typ), byte(len(cl.node)))
	b = append(b, cl.node...)
	b = binary.AppendUvarint(b, seq)
	return append(b, data...)
}

// parseEnvelope returns the parts of msg; ok is false when it is not an
// envelope.
func parseEnvelope(msg []byte) (typ conn.MessageType, node []byte, seq uint64, data []byte, ok bool) {
	if len(msg) < 3 || msg[0] != envelopeVersion {
		return 0, nil, 0, nil, false
	}
	typ = conn.MessageType(msg[1])
	if typ != conn.MessageText && typ != conn.MessageBinary {
		return 0, nil, 0, nil, false
	}
	n := int(msg[2])
	if n == 0 || len(msg) < 3+n {
		return 0, nil, 0, nil, false
	}
	seq, k := binary.Uvarint(msg[3+n:])
	if k <= 0 || seq == 0 {
		return 0, nil, 0, nil, false
	}
	return typ, msg[3 : 3+n], seq, msg[3+n+k:], true
}

// deliver broadcasts a message from the broker to t's local members,
// unless this node published it, and counts the messages missed before
// it.
func (cl *Cluster) deliver(t *topic, msg []byte) {
	typ, node, seq, data, ok := parseEnvelope(msg)
	switch {
	case !ok:
		cl.malformed.Add(1)
		return
	case string(node) == cl.node:
		cl.skipped.Add(1)
		return
	}
	last, seen := t.last[string(node)]
	switch {
	case seen && seq > last:
		cl.missed.Add(int64(seq - last - 1))
		t.last[string(node)] = seq
	case seen:
		// Not after the last: the node started again (or the broker
		// repeated itself); follow it from here.
		t.last[string(node)] = seq
	case len(t.last) < maxTrackedNodes:
		t.last[string(node)] = seq
	}
	cl.received.Add(1)
	t.hub.Broadcast(typ, data)
}

// MemoryBroker is a Broker within one process, for tests and examples:
// it connects the Clusters given it as if they were nodes. Publish
// delivers synchronously to every subscription, in order.
type MemoryBroker struct {
	mu   sync.Mutex // held through a delivery, which keeps the order
	subs map[string]map[*memorySub]struct{}
}

type memorySub struct{ deliver func([]byte) }

// Publish implements Broker.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[topic] {
		s.deliver(msg)
	}
	return nil
}

// Subscribe implements Broker.
func (b *MemoryBroker) Subscribe(ctx context.Context, topic string, deliver func([]byte)) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &memorySub{deliver: deliver}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[string]map[*memorySub]struct{})
	}
	if b.subs[topic] == nil {
		b.subs[topic] = make(map[*memorySub]struct{})
	}
	b.subs[topic][s] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(b.subs[topic], s)
			if len(b.subs[topic]) == 0 {
				delete(b.subs, topic)
			}
		})
	}, nil
}

// Subscriptions returns how many subscriptions topic has.
func (b *MemoryBroker) Subscriptions(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[topic])
}
