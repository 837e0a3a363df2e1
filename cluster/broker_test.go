package cluster_test

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

	"github.com/redis/go-redis/v9"

	"github.com/hybi-go/hybi/cluster"
	"github.com/hybi-go/hybi/cluster/internal/brokertest"
	"github.com/hybi-go/hybi/cluster/natsbroker"
	"github.com/hybi-go/hybi/cluster/redisbroker"
	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
)

// adapter is what both adapters offer beyond hub.Broker.
type adapter interface {
	hub.Broker
	Stats() cluster.Stats
	Close(context.Context) error
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects an adapter of kind to url, closed at the end of the test.
func dial(t *testing.T, kind, url string, full cluster.Policy, queue int) adapter {
	t.Helper()
	var a adapter
	var err error
	switch kind {
	case "nats":
		a, err = natsbroker.Dial(url, &natsbroker.Options{Full: full, QueueSize: queue, Logf: t.Logf})
	case "redis":
		a, err = redisbroker.Dial(testCtx(t), url, &redisbroker.Options{Full: full, QueueSize: queue, Logf: t.Logf})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

var kinds = []string{"nats", "redis"}

// recorder collects what a subscription delivers.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) deliver(msg []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, string(msg))
	r.mu.Unlock()
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pair connects a publishing node (under policy, with a publish queue of
// queue) and a subscribing node, subscribed to "room" until the test ends
// or unsub is called.
func pair(t *testing.T, kind string, b brokertest.Broker, policy cluster.Policy, queue int) (pub, sub adapter, rec *recorder, unsub func()) {
	t.Helper()
	pub, sub = dial(t, kind, b.URL(), policy, queue), dial(t, kind, b.URL(), cluster.Block, 0)
	rec = &recorder{}
	unsub, err := sub.Subscribe(testCtx(t), "room", rec.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return pub, sub, rec, unsub
}

// TestOrder publishes 2,000 messages from one node: another node's
// subscription gets them all, once each, in order.
func TestOrder(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := testCtx(t)
			b := brokertest.Start(t, kind)
			pub, sub, rec, unsub := pair(t, kind, b, cluster.Block, 0)
			const n = 2000
			for i := range n {
				if err := pub.Publish(ctx, "room", []byte(strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "all messages", func() bool { return len(rec.snapshot()) >= n })
			time.Sleep(50 * time.Millisecond) // room for a duplicate to show
			got := rec.snapshot()
			if len(got) != n {
				t.Fatalf("got %d messages, want %d", len(got), n)
			}
			for i, m := range got {
				if m != strconv.Itoa(i) {
					t.Fatalf("message %d is %q", i, m)
				}
			}
			if s := pub.Stats(); s.Published != n || s.Dropped != 0 {
				t.Errorf("publisher stats %+v", s)
			}
			if s := sub.Stats(); s.Received != n {
				t.Errorf("subscriber stats %+v", s)
			}
			unsub()
			pub.Publish(ctx, "room", []byte("after"))
			time.Sleep(100 * time.Millisecond)
			if got := rec.snapshot(); len(got) != n {
				t.Fatalf("%d messages after unsubscribing", len(got)-n)
			}
		})
	}
}

// TestBrokerOutage stops the broker: publishes fail and are counted as
// dropped, the adapters reconnect once it is back, the subscription is
// restored, and no message is delivered twice.
func TestBrokerOutage(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := testCtx(t)
			b := brokertest.Start(t, kind)
			pub, sub, rec, _ := pair(t, kind, b, cluster.Block, 0)
			pub.Publish(ctx, "room", []byte("before"))
			waitFor(t, "the first message", func() bool { return len(rec.snapshot()) == 1 })

			b.Stop()
			waitFor(t, "the subscriber to see the outage", func() bool { return !sub.Stats().Connected })
			i := 0
			for ; pub.Stats().Dropped == 0; i++ {
				pub.Publish(ctx, "room", []byte("during "+strconv.Itoa(i)))
				time.Sleep(5 * time.Millisecond)
				if i > 2000 {
					t.Fatalf("no publish dropped in 10 s without a broker: %+v", pub.Stats())
				}
			}
			if err := b.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "both to reconnect", func() bool {
				return pub.Stats().Connected && sub.Stats().Connected && sub.Stats().Reconnects > 0
			})
			// The subscription is restored: a message published now
			// arrives (retried, since the server may still be taking the
			// resubscription).
			waitFor(t, "a message after the outage", func() bool {
				pub.Publish(ctx, "room", []byte("after"))
				time.Sleep(20 * time.Millisecond)
				got := rec.snapshot()
				return got[len(got)-1] == "after"
			})
			seen := map[string]bool{}
			for _, m := range rec.snapshot() {
				if seen[m] && m != "after" {
					t.Fatalf("%q delivered twice", m)
				}
				seen[m] = true
			}
			ps, ss := pub.Stats(), sub.Stats()
			t.Logf("publisher %+v; subscriber %+v", ps, ss)
			if ps.Dropped == 0 || ss.Disconnects == 0 || ss.Reconnects == 0 {
				t.Fatalf("stats do not show the outage: publisher %+v, subscriber %+v", ps, ss)
			}
		})
	}
}

// TestClusterNodes runs hub.Cluster on two adapters with WebSocket
// members: each member gets every message once, with its type, including
// those its own node published (which the broker echoes back).
func TestClusterNodes(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := testCtx(t)
			b := brokertest.Start(t, kind)
			var clients []*conn.Conn
			var nodes []*hub.Cluster
			for i := range 2 {
				cl, err := hub.NewCluster(dial(t, kind, b.URL(), cluster.Block, 0), &hub.ClusterOptions{Node: fmt.Sprint("n", i)})
				if err != nil {
					t.Fatal(err)
				}
				defer cl.Close()
				nodes = append(nodes, cl)
				joined := make(chan struct{}, 1)
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c, err := conn.Accept(w, r, nil)
					if err != nil {
						return
					}
					defer c.CloseNow()
					m, err := cl.Join(r.Context(), "room", c)
					if err != nil {
						t.Error(err)
						return
					}
					defer cl.Leave(m)
					joined <- struct{}{}
					for _, err := range c.Messages(context.Background()) {
						if err != nil {
							return
						}
					}
				}))
				defer srv.Close()
				c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				<-joined
				clients = append(clients, c)
			}
			nodes[0].Publish(ctx, "room", conn.MessageText, []byte("text from n0"))
			nodes[1].Publish(ctx, "room", conn.MessageBinary, []byte("binary from n1"))
			nodes[0].Publish(ctx, "room", conn.MessageText, []byte("end"))
			for i, c := range clients {
				var got []string
				for range 3 {
					typ, p, err := c.Read(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, typ.String()+" "+string(p))
				}
				// n0's two messages in order; n1's anywhere between.
				if got[2] != "text end" && got[1] != "text end" || !contains(got, "binary binary from n1") || got[0] == "text end" {
					t.Fatalf("client on n%d got %q", i, got)
				}
			}
			// Nothing more: no echo was delivered a second time.
			nodes[1].Publish(ctx, "room", conn.MessageText, []byte("last"))
			for i, c := range clients {
				if _, p, err := c.Read(ctx); err != nil || string(p) != "last" {
					t.Fatalf("client on n%d: %q %v, want \"last\"", i, p, err)
				}
			}
		})
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestQueuePolicy fills the publish queue while its sender is stuck, as
// when the broker is slower than the publishers.
func TestQueuePolicy(t *testing.T) {
	for _, policy := range []cluster.Policy{cluster.Block, cluster.DropNewest} {
		t.Run(policy.String(), func(t *testing.T) {
			q := cluster.NewQueue(2, policy)
			release := make(chan struct{})
			var mu sync.Mutex
			var sent []string
			ran := make(chan struct{})
			go func() {
				defer close(ran)
				q.Run(8, func(batch []cluster.Item) int {
					<-release
					mu.Lock()
					for _, it := range batch {
						sent = append(sent, string(it.Msg))
					}
					mu.Unlock()
					return 0
				})
			}()
			ctx := context.Background()
			q.Put(ctx, "t", []byte("0")) // taken by the sender, which is stuck
			waitFor(t, "the sender to take a message", func() bool { return q.Len() == 0 })
			q.Put(ctx, "t", []byte("1"))
			q.Put(ctx, "t", []byte("2"))
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			err := q.Put(short, "t", []byte("3"))
			cancel()
			switch policy {
			case cluster.DropNewest:
				if !errors.Is(err, cluster.ErrQueueFull) {
					t.Fatalf("Put on a full queue: %v, want ErrQueueFull", err)
				}
			case cluster.Block:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Put on a full queue: %v, want to wait until the deadline", err)
				}
				// With room made while it waits, a Put goes through.
				done := make(chan error)
				go func() { done <- q.Put(ctx, "t", []byte("4")) }()
				time.Sleep(20 * time.Millisecond)
				release <- struct{}{} // the sender finishes "0", takes 1 and 2
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			if d := q.Stats().Dropped; d != 1 {
				t.Fatalf("Dropped = %d, want 1", d)
			}
			close(release)
			q.Close()
			<-ran
			if err := q.Put(ctx, "t", nil); !errors.Is(err, cluster.ErrClosed) {
				t.Fatalf("Put after Close: %v", err)
			}
			want := "0 1 2"
			if policy == cluster.Block {
				want += " 4"
			}
			if got := strings.Join(sent, " "); got != want {
				t.Fatalf("sent %q, want %q", got, want)
			}
		})
	}
}

// TestBackpressureRedis makes Redis slower than the publisher (CLIENT
// PAUSE WRITE holds every PUBLISH for a while): under DropNewest the
// publish queue fills and Publish fails at once, counting each drop;
// under Block, Publish waits and nothing is lost. What was queued arrives
// in order either way.
func TestBackpressureRedis(t *testing.T) {
	for _, policy := range []cluster.Policy{cluster.DropNewest, cluster.Block} {
		t.Run(policy.String(), func(t *testing.T) {
			ctx := testCtx(t)
			b := brokertest.Start(t, "redis")
			pub, _, rec, _ := pair(t, "redis", b, policy, 4)
			admin := redis.NewClient(&redis.Options{Addr: strings.TrimPrefix(b.URL(), "redis://")})
			defer admin.Close()
			if err := admin.Do(ctx, "CLIENT", "PAUSE", "600", "WRITE").Err(); err != nil {
				t.Fatal(err)
			}
			const n = 40
			var failed int
			var longest time.Duration
			for i := range n {
				start := time.Now()
				err := pub.Publish(ctx, "room", []byte(strconv.Itoa(i)))
				longest = max(longest, time.Since(start))
				switch {
				case err == nil:
				case policy == cluster.DropNewest && errors.Is(err, cluster.ErrQueueFull):
					failed++
				default:
					t.Fatalf("Publish %d: %v", i, err)
				}
			}
			s := pub.Stats()
			t.Logf("%d of %d refused, longest Publish %v, stats %+v", failed, n, longest, s)
			switch policy {
			case cluster.DropNewest:
				if failed == 0 || s.Dropped != int64(failed) {
					t.Fatalf("%d refused, %d counted: want some, all counted", failed, s.Dropped)
				}
				if longest > 300*time.Millisecond {
					t.Fatalf("a Publish waited %v under DropNewest", longest)
				}
			case cluster.Block:
				if longest < 200*time.Millisecond {
					t.Fatalf("no Publish waited for the paused broker (longest %v)", longest)
				}
			}
			want := n - failed
			waitFor(t, "the queued messages", func() bool { return len(rec.snapshot()) >= want })
			got := rec.snapshot()
			if len(got) != want {
				t.Fatalf("received %d, want %d", len(got), want)
			}
			last := -1
			for _, m := range got {
				i, _ := strconv.Atoi(m)
				if i <= last {
					t.Fatalf("received %q after %d", m, last)
				}
				last = i
			}
		})
	}
}
