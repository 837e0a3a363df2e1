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

// Two nodes share a topic through a broker (here in memory; NATS and
// Redis adapters are in github.com/hybi-go/hybi/cluster): a message
// published on one reaches the members of both, each once.
func ExampleCluster() {
	broker := &hub.MemoryBroker{}
	var urls []string
	var nodes []*hub.Cluster
	for _, name := range []string{"node-1", "node-2"} {
		cl, _ := hub.NewCluster(broker, &hub.ClusterOptions{Node: name})
		defer cl.Close()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := conn.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			m, err := cl.Join(r.Context(), "lobby", c)
			if err != nil {
				return
			}
			defer cl.Leave(m)
			for _, err := range c.Messages(context.Background()) {
				if err != nil {
					return
				}
			}
		}))
		defer srv.Close()
		nodes = append(nodes, cl)
		urls = append(urls, "ws"+strings.TrimPrefix(srv.URL, "http"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var clients []*conn.Conn
	for i, url := range urls {
		c, _, err := conn.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.CloseNow()
		clients = append(clients, c)
		for h := nodes[i].Hub("lobby"); h == nil || h.Len() == 0; h = nodes[i].Hub("lobby") {
			time.Sleep(time.Millisecond) // wait for the handler to join
		}
	}

	nodes[0].Publish(ctx, "lobby", conn.MessageText, []byte("hello from node-1"))
	for i, c := range clients {
		_, p, err := c.Read(ctx)
		fmt.Println("client on", nodes[i].Node()+":", string(p), err)
	}
	// Output:
	// client on node-1: hello from node-1 <nil>
	// client on node-2: hello from node-1 <nil>
}
