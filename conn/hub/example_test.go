package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
)

// A server broadcasts to every connected client: each handler joins the
// hub and reads; Broadcast frames the message once and queues it for all.
func Example() {
	joined := make(chan int, 3)
	h := hub.New(&hub.Options{
		QueueSize:    16,
		SlowConsumer: hub.Disconnect,
		OnJoin:       func(m *hub.Member, members int) { joined <- members },
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		m := h.Add(c)
		defer h.Remove(m)
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*conn.Conn
	for range 3 {
		c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.CloseNow()
		clients = append(clients, c)
	}
	for <-joined < 3 { // wait for the handlers to join
	}

	h.Broadcast(conn.MessageText, []byte("hello, everyone"))
	for i, c := range clients {
		_, p, err := c.Read(ctx)
		fmt.Println(i, string(p), err)
		c.Close(conn.StatusNormalClosure, "")
	}
	// Output:
	// 0 hello, everyone <nil>
	// 1 hello, everyone <nil>
	// 2 hello, everyone <nil>
}
