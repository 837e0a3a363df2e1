package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
)

// clusterServer serves connections that join the topic named by the
// query parameter t on cl, and read until they end.
func clusterServer(t *testing.T, cl *hub.Cluster) string {
	var handlers sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		defer c.CloseNow()
		topic := r.URL.Query().Get("t")
		m, err := cl.Join(r.Context(), topic, c)
		if err != nil {
			c.Close(conn.StatusInternalError, err.Error())
			return
		}
		defer cl.Leave(m)
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(handlers.Wait)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func newCluster(t *testing.T, b hub.Broker, node string) *hub.Cluster {
	t.Helper()
	cl, err := hub.NewCluster(b, &hub.ClusterOptions{Node: node})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// joinCluster dials url for topic and waits until the member is in cl's
// hub.
func joinCluster(t *testing.T, ctx context.Context, cl *hub.Cluster, url, topic string) *conn.Conn {
	t.Helper()
	before := 0
	if h := cl.Hub(topic); h != nil {
		before = h.Len()
	}
	c, _, err := conn.Dial(ctx, url+"?t="+topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	for h := cl.Hub(topic); h == nil || h.Len() <= before; h = cl.Hub(topic) {
		time.Sleep(time.Millisecond)
	}
	return c
}

func readMsg(t *testing.T, ctx context.Context, c *conn.Conn) (conn.MessageType, string) {
	t.Helper()
	typ, p, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return typ, string(p)
}

// TestClusterCrossNode publishes on two nodes: every member on both gets
// each message once, with its type, and a node's own message is not
// delivered again when the broker echoes it back.
func TestClusterCrossNode(t *testing.T) {
	ctx := testCtx(t)
	b := &hub.MemoryBroker{}
	a, bb := newCluster(t, b, "a"), newCluster(t, b, "b")
	ca := joinCluster(t, ctx, a, clusterServer(t, a), "room")
	cb := joinCluster(t, ctx, bb, clusterServer(t, bb), "room")

	if err := a.Publish(ctx, "room", conn.MessageText, []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if err := bb.Publish(ctx, "room", conn.MessageBinary, []byte("from b")); err != nil {
		t.Fatal(err)
	}
	if err := bb.Publish(ctx, "room", conn.MessageText, []byte("end")); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  conn.MessageType
		text string
	}{{conn.MessageText, "from a"}, {conn.MessageBinary, "from b"}, {conn.MessageText, "end"}}
	for _, c := range []*conn.Conn{ca, cb} {
		for i, w := range want {
			typ, text := readMsg(t, ctx, c)
			if typ != w.typ || text != w.text {
				t.Fatalf("message %d: got %v %q, want %v %q", i, typ, text, w.typ, w.text)
			}
		}
	}
	if s := a.Stats(); s.Received != 2 || s.Skipped != 1 {
		t.Errorf("node a: %+v, want 2 received from b and its own 1 skipped", s)
	}
	if s := bb.Stats(); s.Received != 1 || s.Skipped != 2 {
		t.Errorf("node b: %+v, want 1 received from a and its own 2 skipped", s)
	}
}

// TestClusterTopics keeps topics apart and holds a broker subscription
// only while a topic has local members.
func TestClusterTopics(t *testing.T) {
	ctx := testCtx(t)
	b := &hub.MemoryBroker{}
	a, bb := newCluster(t, b, "a"), newCluster(t, b, "b")
	urlA, urlB := clusterServer(t, a), clusterServer(t, bb)
	x := joinCluster(t, ctx, a, urlA, "x")
	y := joinCluster(t, ctx, bb, urlB, "y")
	y2 := joinCluster(t, ctx, bb, urlB, "y")
	if n := b.Subscriptions("y"); n != 1 {
		t.Fatalf("topic y has %d subscriptions with two members on one node, want 1", n)
	}
	a.Publish(ctx, "y", conn.MessageText, []byte("to y"))
	bb.Publish(ctx, "x", conn.MessageText, []byte("to x"))
	if _, text := readMsg(t, ctx, x); text != "to x" {
		t.Fatalf("x got %q", text)
	}
	for _, c := range []*conn.Conn{y, y2} {
		if _, text := readMsg(t, ctx, c); text != "to y" {
			t.Fatalf("y got %q", text)
		}
	}

	y.Close(conn.StatusNormalClosure, "")
	for bb.Hub("y").Len() != 1 {
		time.Sleep(time.Millisecond)
	}
	if n := b.Subscriptions("y"); n != 1 {
		t.Fatalf("topic y has %d subscriptions with one member left, want 1", n)
	}
	y2.Close(conn.StatusNormalClosure, "")
	deadline := time.Now().Add(10 * time.Second)
	for b.Subscriptions("y") != 0 || bb.Hub("y") != nil {
		if time.Now().After(deadline) {
			t.Fatalf("topic y still subscribed (%d) after its last member left", b.Subscriptions("y"))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClusterMalformed counts what is not an envelope and delivers
// nothing for it.
func TestClusterMalformed(t *testing.T) {
	ctx := testCtx(t)
	b := &hub.MemoryBroker{}
	a := newCluster(t, b, "a")
	c := joinCluster(t, ctx, a, clusterServer(t, a), "room")
	for _, junk := range [][]byte{nil, {1}, {1, 1}, {1, 1, 0}, {1, 1, 9, 'x'}, {2, 1, 1, 'b', 1}, {1, 8, 1, 'b', 1, 'y'},
		{1, 9, 1, 'b', 1}, {1, 1, 1, 'b'}, {1, 1, 1, 'b', 0}, {1, 1, 1, 'b', 0x80}} {
		b.Publish(ctx, "room", junk)
	}
	b.Publish(ctx, "room", []byte{1, 2, 1, 'b', 1, 0xff}) // binary from node b, its first
	if typ, text := readMsg(t, ctx, c); typ != conn.MessageBinary || text != "\xff" {
		t.Fatalf("got %v %q, want the one well-formed message", typ, text)
	}
	if s := a.Stats(); s.Malformed != 11 || s.Received != 1 {
		t.Fatalf("stats %+v, want 11 malformed and 1 received", s)
	}
}

// failingBroker fails every Publish.
type failingBroker struct{ hub.MemoryBroker }

var errBrokerDown = errors.New("broker down")

func (*failingBroker) Publish(context.Context, string, []byte) error { return errBrokerDown }

// TestClusterPublishError still delivers locally when the broker refuses
// a message, and says so.
func TestClusterPublishError(t *testing.T) {
	ctx := testCtx(t)
	a := newCluster(t, &failingBroker{}, "a")
	c := joinCluster(t, ctx, a, clusterServer(t, a), "room")
	if err := a.Publish(ctx, "room", conn.MessageText, []byte("local")); !errors.Is(err, errBrokerDown) {
		t.Fatalf("Publish: %v, want the broker's error", err)
	}
	if _, text := readMsg(t, ctx, c); text != "local" {
		t.Fatalf("got %q", text)
	}
	if err := a.Publish(ctx, "room", conn.MessageType(8), nil); err == nil {
		t.Fatal("Publish of a close message: no error")
	}
	a.Close()
	if err := a.Publish(ctx, "room", conn.MessageText, nil); !errors.Is(err, hub.ErrClusterClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}

// refusingBroker fails every Subscribe.
type refusingBroker struct{ hub.MemoryBroker }

func (*refusingBroker) Subscribe(context.Context, string, func([]byte)) (func(), error) {
	return nil, errBrokerDown
}

func TestClusterSubscribeError(t *testing.T) {
	a := newCluster(t, &refusingBroker{}, "a")
	for range 2 {
		if _, err := a.Join(testCtx(t), "room", nil); !errors.Is(err, errBrokerDown) {
			t.Fatalf("Join: %v, want the broker's error", err)
		}
	}
	if a.Hub("room") != nil {
		t.Fatal("a topic whose subscription failed is left behind")
	}
}

// TestClusterConcurrent joins, leaves and publishes from many goroutines
// on three nodes; under -race this checks the topic bookkeeping, and at
// the end no subscription is left.
func TestClusterConcurrent(t *testing.T) {
	ctx := testCtx(t)
	b := &hub.MemoryBroker{}
	var nodes []*hub.Cluster
	var urls []string
	for i := range 3 {
		cl := newCluster(t, b, fmt.Sprint("n", i))
		nodes = append(nodes, cl)
		urls = append(urls, clusterServer(t, cl))
	}
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := fmt.Sprint("t", g%3)
			for range 5 {
				c, _, err := conn.Dial(ctx, urls[g%3]+"?t="+topic, nil)
				if err != nil {
					t.Error(err)
					return
				}
				nodes[(g+1)%3].Publish(ctx, topic, conn.MessageText, []byte("x"))
				c.Close(conn.StatusNormalClosure, "")
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, topic := range []string{"t0", "t1", "t2"} {
		for b.Subscriptions(topic) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d subscriptions left", topic, b.Subscriptions(topic))
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestClusterLeaveTwice leaves a topic twice with the same member: the
// second Leave does nothing, so the topic stays subscribed for the member
// that remains.
func TestClusterLeaveTwice(t *testing.T) {
	ctx := testCtx(t)
	b := &hub.MemoryBroker{}
	a, other := newCluster(t, b, "a"), newCluster(t, b, "b")
	url := clusterServer(t, a)
	stay := joinCluster(t, ctx, a, url, "room")
	// A member joined by hand, left twice.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		m, err := a.Join(r.Context(), "room", c)
		if err != nil {
			t.Error(err)
			return
		}
		a.Leave(m)
		a.Leave(m)
		c.Close(conn.StatusNormalClosure, "")
	}))
	defer srv.Close()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); conn.CloseStatus(err) != conn.StatusNormalClosure {
		t.Fatalf("read: %v", err)
	}
	if n := a.Hub("room").Len(); n != 1 {
		t.Fatalf("%d members left, want 1", n)
	}
	if n := b.Subscriptions("room"); n != 1 {
		t.Fatalf("%d subscriptions, want 1 for the member that stays", n)
	}
	other.Publish(ctx, "room", conn.MessageText, []byte("still here"))
	if _, text := readMsg(t, ctx, stay); text != "still here" {
		t.Fatalf("got %q", text)
	}
}

// lossyBroker loses every third message published through it, as a
// broker or a broken connection may.
type lossyBroker struct {
	*hub.MemoryBroker
	n int
}

func (b *lossyBroker) Publish(ctx context.Context, topic string, msg []byte) error {
	b.n++
	if b.n%3 == 2 {
		return nil // lost without a word
	}
	return b.MemoryBroker.Publish(ctx, topic, msg)
}

// TestClusterMissed counts on the receiving node the messages of another
// node that never arrived, and starts again with a node that restarts.
func TestClusterMissed(t *testing.T) {
	ctx := testCtx(t)
	mem := &hub.MemoryBroker{}
	a := newCluster(t, &lossyBroker{MemoryBroker: mem}, "a")
	b := newCluster(t, mem, "b")
	c := joinCluster(t, ctx, b, clusterServer(t, b), "room")
	for i := range 30 {
		a.Publish(ctx, "room", conn.MessageText, []byte(strconv.Itoa(i)))
	}
	// Lost: 1, 4, ..., 28; the last, 29, arrives and shows the gap before it.
	for i := range 30 {
		if i%3 == 1 {
			continue
		}
		if _, text := readMsg(t, ctx, c); text != strconv.Itoa(i) {
			t.Fatalf("got %q, want %d", text, i)
		}
	}
	if s := b.Stats(); s.Missed != 10 || s.Received != 20 {
		t.Fatalf("stats %+v, want 20 received and 10 missed", s)
	}
	// Node a again, from sequence number 1: not a gap.
	a.Close()
	a2 := newCluster(t, mem, "a")
	a2.Publish(ctx, "room", conn.MessageText, []byte("back"))
	if _, text := readMsg(t, ctx, c); text != "back" {
		t.Fatalf("got %q", text)
	}
	if s := b.Stats(); s.Missed != 10 || s.Received != 21 {
		t.Fatalf("stats %+v after node a restarted, want 21 received and still 10 missed", s)
	}
}

// stuckBroker holds every Publish until release is closed, as an adapter
// does under Block when its queue is full.
type stuckBroker struct {
	hub.MemoryBroker
	entered chan struct{}
	release chan struct{}
}

func (b *stuckBroker) Publish(ctx context.Context, topic string, msg []byte) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestClusterPublishWaitsWithContext has one Publish stuck in the broker:
// another, waiting its turn, returns when its own context ends.
func TestClusterPublishWaitsWithContext(t *testing.T) {
	b := &stuckBroker{entered: make(chan struct{}, 1), release: make(chan struct{})}
	a := newCluster(t, b, "a")
	first := make(chan error)
	go func() { first <- a.Publish(context.Background(), "room", conn.MessageText, []byte("1")) }()
	<-b.entered // the first has its turn, stuck in the broker
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Publish(ctx, "room", conn.MessageText, []byte("2")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Publish: %v, want its context's deadline", err)
	}
	select {
	case <-b.entered:
		t.Fatal("the second Publish reached the broker while the first was in it")
	default:
	}
	close(b.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(context.Background(), "room", conn.MessageText, []byte("3")); err != nil {
		t.Fatalf("Publish after the broker moved on: %v", err)
	}
}
