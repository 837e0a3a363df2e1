package conn_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// A server counts its connections, messages, bytes and close codes with
// a Counters, and exports the totals with expvar: published, they are on
// /debug/vars with the runtime's.
func ExampleCounters() {
	var counters conn.Counters
	totals := expvar.Func(func() any { return counters.Totals() })
	// In a program: expvar.Publish("websocket", totals)

	served := make(chan struct{})
	ao := &conn.AcceptOptions{
		Extensions: []extension.Extension{deflate.New(nil)},
		Options:    conn.Options{Observer: &counters},
	}
	srv := httptest.NewServer(conn.Handler(ao, func(ctx context.Context, c *conn.Conn) {
		defer close(served)
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			c.Write(ctx, typ, p)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{
		Extensions: []extension.Extension{deflate.New(nil)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := strings.Repeat("a compressible message ", 100)
	for range 3 {
		c.Write(ctx, conn.MessageText, []byte(msg))
		c.Read(ctx)
	}
	c.Close(conn.StatusNormalClosure, "done")
	<-served // the server's side has ended

	var t conn.Totals
	json.Unmarshal([]byte(totals.String()), &t)
	fmt.Println("connections:", t.Opened, "opened,", t.Closed, "closed, codes", t.Closes)
	fmt.Println("messages:", t.MessagesIn, "in,", t.MessagesOut, "out")
	fmt.Println("bytes in:", t.BytesIn, "as read,", t.WireBytesIn < t.BytesIn, "fewer on the wire")
	// Output:
	// connections: 1 opened, 1 closed, codes map[1000 (normal closure):1]
	// messages: 3 in, 3 out
	// bytes in: 6900 as read, true fewer on the wire
}

// metrics is an Observer adapter in the shape of a metrics library's:
// with Prometheus, messages would be a CounterVec with a "dir" label and
// closes one with a "code" label; with OpenTelemetry, Int64Counters with
// those attributes. Here they are maps, printed at the end.
type metrics struct {
	conn.NopObserver // the events not counted
	mu               sync.Mutex
	messages         map[string]int
	closes           map[string]int
}

func (m *metrics) Message(_ *conn.Conn, e conn.MessageEvent) {
	m.mu.Lock()
	m.messages[e.Dir.String()+" "+e.Type.String()]++
	m.mu.Unlock()
}

func (m *metrics) Closed(_ *conn.Conn, e conn.CloseEvent) {
	m.mu.Lock()
	m.closes[fmt.Sprint(int(e.Received))]++
	m.mu.Unlock()
}

// An Observer counts what a server's connections do; embedding
// NopObserver leaves out the events it does not need.
func ExampleObserver() {
	m := &metrics{messages: map[string]int{}, closes: map[string]int{}}
	served := make(chan struct{})
	srv := httptest.NewServer(conn.Handler(&conn.AcceptOptions{Options: conn.Options{Observer: m}},
		func(ctx context.Context, c *conn.Conn) {
			defer close(served)
			echoServe(ctx, c)
		}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, conn.MessageText, []byte("hello"))
	c.Read(ctx)
	c.Close(4000, "bye")
	<-served

	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Println(m.messages)
	fmt.Println(m.closes)
	// Output:
	// map[in text:1 out text:1]
	// map[4000:1]
}
