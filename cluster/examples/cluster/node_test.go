package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/cluster/internal/brokertest"
	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/wsjson"
	"github.com/hybi-go/hybi/internal/syncbuf"
)

// startInProcess runs a node in this process until the test ends or stop
// is called; it returns the node's address and a stop that returns run's
// exit code.
func startInProcess(t *testing.T, name, brokerURL string) (addr string, stop func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncbuf.Buffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"-node", name, "-addr", addr, "-broker", brokerURL}, &logs) }()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		c := <-code
		t.Logf("log of %s:\n%s", name, logs.String())
		return c
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/stats")
		if err == nil {
			resp.Body.Close()
			return addr, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not serving: %v\n%s", name, err, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readUntil reads events until one of kind, returning those read.
func readUntil(t *testing.T, ctx context.Context, c *conn.Conn, kind string) []event {
	t.Helper()
	var evs []event
	for {
		var ev event
		if err := wsjson.Read(ctx, c, &ev); err != nil {
			t.Fatalf("reading until %q after %+v: %v", kind, evs, err)
		}
		evs = append(evs, ev)
		if ev.Kind == kind {
			return evs
		}
	}
}

// TestTwoNodes runs two nodes in process on each real broker: the page
// shows the node, a member on one node sees the other's joins and
// messages with the node they came through, and a node that stops closes
// its members with 1001.
func TestTwoNodes(t *testing.T) {
	for _, kind := range []string{"nats", "redis"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			br := brokertest.Start(t, kind)
			addrA, _ := startInProcess(t, "node-a", br.URL())
			addrB, stopB := startInProcess(t, "node-b", br.URL())

			resp, err := http.Get("http://" + addrA + "/")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(page), `id="node"`) {
				t.Fatal("the page has no place for the node's name")
			}

			alice, _, err := conn.Dial(ctx, "ws://"+addrA+"/ws?name=alice&room=Dev", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer alice.CloseNow()
			if w := readUntil(t, ctx, alice, "welcome"); w[0].Node != "node-a" || w[0].Room != "dev" {
				t.Fatalf("alice's welcome: %+v", w[0])
			}
			readUntil(t, ctx, alice, "join") // her own
			bob, _, err := conn.Dial(ctx, "ws://"+addrB+"/ws?name=bob&room=dev", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer bob.CloseNow()
			if w := readUntil(t, ctx, bob, "welcome"); w[len(w)-1].Node != "node-b" {
				t.Fatalf("bob's welcome: %+v", w)
			}
			if j := readUntil(t, ctx, alice, "join"); j[len(j)-1].Name != "bob" || j[len(j)-1].Node != "node-b" {
				t.Fatalf("alice saw %+v, want bob joining on node-b", j)
			}
			if err := wsjson.Write(ctx, alice, post{Text: "hi"}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*conn.Conn{alice, bob} {
				m := readUntil(t, ctx, c, "msg")
				if ev := m[len(m)-1]; ev.Name != "alice" || ev.Text != "hi" || ev.Node != "node-a" {
					t.Fatalf("got %+v", ev)
				}
			}

			if code := stopB(); code != 0 {
				t.Fatalf("node-b exited with %d", code)
			}
			_, _, err = bob.Read(ctx)
			if s := conn.CloseStatus(err); s != conn.StatusGoingAway {
				t.Fatalf("bob's read after node-b stopped: %v, want 1001", err)
			}
			if l := readUntil(t, ctx, alice, "leave"); l[len(l)-1].Name != "bob" {
				t.Fatalf("alice saw %+v, want bob leaving", l)
			}
		})
	}
}
