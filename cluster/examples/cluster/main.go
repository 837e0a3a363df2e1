// Command cluster is the chat example (examples/chat in hybi) on several
// server processes, the nodes, joined by a broker: a message sent to one
// node reaches the members of its room on every node. The page shows which
// node it is on, and which node each message came through.
//
//	nats-server &                       # or: redis-server &
//	go run ./examples/cluster -node n1 -addr 127.0.0.1:8081 -broker nats://127.0.0.1:4222 &
//	go run ./examples/cluster -node n2 -addr 127.0.0.1:8082 -broker nats://127.0.0.1:4222 &
//	# open http://127.0.0.1:8081/ and http://127.0.0.1:8082/ (add ?name=alice&room=dev)
//
// -broker redis://127.0.0.1:6379 uses Redis pub/sub instead; without
// -broker the node is alone. Each room is a topic of a hub.Cluster, whose
// local hub frames a message once per node and queues it for each member;
// a slow member is disconnected with 1008. /stats gives the node's
// counters as JSON, among them the messages dropped while the broker was
// unreachable (delivery is at most once; see package cluster). On SIGINT
// or SIGTERM every member is closed with 1001 (going away), so that its
// page can reconnect to another node.
//
// The protocol is that of examples/chat, plus the node: a page sends
// {"text": "..."}; the server sends {"kind": "welcome"|"join"|"leave"|"msg",
// "name", "text", "node", "room", "count"}.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/hybi-go/hybi/cluster"
	"github.com/hybi-go/hybi/cluster/natsbroker"
	"github.com/hybi-go/hybi/cluster/redisbroker"
	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/conn/wsjson"
)

//go:embed index.html
var indexHTML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// broker is what both adapters offer.
type broker interface {
	hub.Broker
	Stats() cluster.Stats
	Close(context.Context) error
}

// alone is the broker of a node without -broker.
type alone struct{ hub.MemoryBroker }

func (*alone) Stats() cluster.Stats        { return cluster.Stats{Connected: true} }
func (*alone) Close(context.Context) error { return nil }

func openBroker(ctx context.Context, url, node string, logf func(string, ...any)) (broker, error) {
	switch {
	case url == "":
		return &alone{}, nil
	case strings.HasPrefix(url, "nats://"):
		return natsbroker.Dial(url, &natsbroker.Options{Name: node, Logf: logf})
	case strings.HasPrefix(url, "redis://"):
		return redisbroker.Dial(ctx, url, &redisbroker.Options{Logf: logf})
	}
	return nil, fmt.Errorf("-broker %q: want nats://host:port or redis://host:port", url)
}

// run is main without the process: it parses args and serves until ctx is
// done, then shuts down, and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "serve on this `host:port`")
	host, _ := os.Hostname()
	node := fs.String("node", fmt.Sprintf("%s-%d", host, os.Getpid()), "this node's `name`, unique in the cluster")
	brokerURL := fs.String("broker", "", "the broker: nats://host:port or redis://host:port; none: a single node")
	presence := fs.Bool("presence", true, "announce joins and leaves to the room")
	queue := fs.Int("queue", hub.DefaultQueueSize, "messages that may wait for each member before it is disconnected as slow")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(stderr, *node+": ", log.LstdFlags)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	b, err := openBroker(dctx, *brokerURL, *node, logger.Printf)
	cancel()
	if err != nil {
		logger.Print(err)
		return 1
	}
	cl, err := hub.NewCluster(b, &hub.ClusterOptions{Node: *node, Hub: &hub.Options{QueueSize: *queue}})
	if err != nil {
		logger.Print(err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("serving http://%s/ with broker %q", ln.Addr(), *brokerURL)
	nd := newNode(cl, b, *presence, logger)
	err = serve(ctx, ln, nd)
	cl.Close()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = errors.Join(err, b.Close(cctx))
	cancel()
	logger.Printf("stopped: broker %+v; from other nodes %+v", b.Stats(), cl.Stats())
	if err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}

// serve serves nd on ln until ctx is done, then shuts down: HTTP first,
// then every WebSocket with 1001, waiting for the handlers.
func serve(ctx context.Context, ln net.Listener, nd *node) error {
	srv := &http.Server{
		Handler:           nd.mux,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := nd.tracker.Shutdown(sctx) // http.Server.Shutdown does not close WebSockets
	nd.members.Wait()
	err = errors.Join(err, srv.Shutdown(sctx))
	<-errc
	return err
}

// node is the chat server of one node: the page on /, members on /ws,
// counters on /stats.
type node struct {
	mux      *http.ServeMux
	cl       *hub.Cluster
	broker   broker
	presence bool
	tracker  conn.Tracker
	logger   *log.Logger
	guests   atomic.Int64
	joined   atomic.Int64   // members now
	members  sync.WaitGroup // running WebSocket handlers
}

func newNode(cl *hub.Cluster, b broker, presence bool, logger *log.Logger) *node {
	nd := &node{mux: http.NewServeMux(), cl: cl, broker: b, presence: presence, logger: logger}
	nd.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	nd.mux.HandleFunc("GET /ws", nd.join)
	nd.mux.HandleFunc("GET /stats", nd.stats)
	return nd
}

// Stats is what /stats reports.
type Stats struct {
	Node    string           `json:"node"`
	Members int64            `json:"members"`
	Broker  cluster.Stats    `json:"broker"`
	Cluster hub.ClusterStats `json:"cluster"`
}

func (nd *node) stats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(Stats{Node: nd.cl.Node(), Members: nd.joined.Load(), Broker: nd.broker.Stats(), Cluster: nd.cl.Stats()})
}

// event is what the server sends.
type event struct {
	Kind  string `json:"kind"` // welcome, join, leave, msg
	Name  string `json:"name"`
	Text  string `json:"text,omitempty"`
	Node  string `json:"node"`            // where the sender is
	Room  string `json:"room,omitempty"`  // on welcome
	Count int    `json:"count,omitempty"` // members of the room on this node, on welcome
}

// post is what a page sends.
type post struct {
	Text string `json:"text"`
}

const maxText = 1000 // runes in one chat message

// publish encodes ev once and sends it to the room on every node.
func (nd *node) publish(room string, ev event) {
	b, err := json.Marshal(ev)
	if err != nil {
		nd.logger.Print(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := nd.cl.Publish(ctx, topic(room), conn.MessageText, b); err != nil {
		nd.logger.Printf("room %s: %v", room, err)
	}
}

// topic is a room's topic: a word that every broker takes.
func topic(room string) string { return "chat." + room }

// join runs one member: it accepts the WebSocket, adds it to its room and
// publishes what it sends until it leaves.
func (nd *node) join(w http.ResponseWriter, r *http.Request) {
	nd.members.Add(1)
	defer nd.members.Done()
	c, err := nd.tracker.Accept(w, r, &conn.AcceptOptions{Options: conn.Options{ReadLimit: 16 << 10}})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	defer c.CloseNow()
	name := cleanName(r.URL.Query().Get("name"))
	if name == "" {
		name = fmt.Sprintf("guest-%d@%s", nd.guests.Add(1), nd.cl.Node())
	}
	room := cleanRoom(r.URL.Query().Get("room"))
	m, err := nd.cl.Join(r.Context(), topic(room), c)
	if err != nil {
		nd.logger.Print(err)
		c.Close(conn.StatusCode(1013), "broker unavailable, try again later")
		return
	}
	nd.joined.Add(1)
	welcome, _ := json.Marshal(event{Kind: "welcome", Name: name, Node: nd.cl.Node(), Room: room, Count: nd.cl.Hub(topic(room)).Len()})
	m.Send(conn.NewPreparedMessage(conn.MessageText, welcome))
	if nd.presence {
		nd.publish(room, event{Kind: "join", Name: name, Node: nd.cl.Node()})
	}
	defer func() {
		nd.cl.Leave(m)
		nd.joined.Add(-1)
		if nd.presence {
			nd.publish(room, event{Kind: "leave", Name: name, Node: nd.cl.Node()})
		}
	}()

	ctx := context.Background() // the Tracker ends the connection at shutdown
	for {
		var p post
		err := wsjson.Read(ctx, c, &p)
		if errors.Is(err, wsjson.ErrBadMessage) {
			continue // ignore what is not a post; the connection is fine
		}
		if err != nil {
			if s := conn.CloseStatus(err); s != conn.StatusNormalClosure && s != conn.StatusGoingAway {
				nd.logger.Printf("%s (%s): %v", name, r.RemoteAddr, err)
			}
			return
		}
		text := strings.TrimSpace(p.Text)
		if text == "" {
			continue
		}
		if rs := []rune(text); len(rs) > maxText {
			text = string(rs[:maxText])
		}
		nd.publish(room, event{Kind: "msg", Name: name, Text: text, Node: nd.cl.Node()})
	}
}

// cleanName keeps a name short and printable.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if rs := []rune(s); len(rs) > 24 {
		s = string(rs[:24])
	}
	return s
}

// cleanRoom keeps a room name to lower-case letters, digits and '-', up to
// 32 of them; "" is the lobby.
func cleanRoom(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s)
	if len(s) > 32 {
		s = s[:32]
	}
	if s == "" {
		s = "lobby"
	}
	return s
}
