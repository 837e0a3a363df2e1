package conn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// A server pushing a feed through a SendQueue: Enqueue never waits for
// the client, at most 64 KiB wait for it, and a client that falls
// further behind is closed with 1013 (try again later).
func ExampleSendQueue() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := conn.NewSendQueue(c, &conn.QueueOptions{MaxBytes: 64 << 10, Overflow: conn.OverflowTryAgain})
		defer q.Close()
		for i := range 3 {
			pm := conn.NewPreparedMessage(conn.MessageText, fmt.Appendf(nil, "tick %d", i))
			if err := q.Enqueue(r.Context(), pm); err != nil {
				return
			}
		}
		c.Read(r.Context()) // until the client closes
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for range 3 {
		_, msg, err := c.Read(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(msg))
	}
	c.Close(conn.StatusNormalClosure, "")
	// Output:
	// tick 0
	// tick 1
	// tick 2
}
