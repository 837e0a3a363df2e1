// Command clusterbench measures fan-out across nodes: the delivery latency
// (p50, p99) from Publish on one node to WebSocket clients on every node,
// and the messages per second a burst gets through, for a single hub
// (no broker) and for hub.Cluster on 1 to 3 nodes over NATS and Redis.
//
//	go run ./cmd/clusterbench                        # the whole table
//	go run ./cmd/clusterbench -nodes 3 -brokers nats -clients 900
//
// The brokers are real (a NATS server in this process, a redis-server
// child on a free loopback port); the nodes are in this process, each with
// its own HTTP server, hub.Cluster and broker connection, and the clients
// are WebSocket connections over loopback TCP. Everything shares the
// machine's CPUs: on a busy machine, read the figures as ratios between
// the rows of one run.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/cluster"
	"github.com/hybi-go/hybi/cluster/internal/brokertest"
	"github.com/hybi-go/hybi/cluster/natsbroker"
	"github.com/hybi-go/hybi/cluster/redisbroker"
	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
)

func main() {
	nodesFlag := flag.String("nodes", "1,2,3", "node counts to measure, comma-separated")
	brokersFlag := flag.String("brokers", "hub,nats,redis", "setups: hub (one Hub, no broker), nats, redis")
	clients := flag.Int("clients", 300, "WebSocket clients, spread over the nodes")
	paced := flag.Int("paced", 400, "messages published at -rate for the latency figures")
	rate := flag.Int("rate", 200, "messages per second of the paced run")
	burst := flag.Int("burst", 2000, "messages published at once for the throughput figure")
	size := flag.Int("size", 64, "bytes per message")
	flag.Parse()

	fmt.Printf("clusterbench: %d clients, %d-byte binary messages; latency at %d msg/s, throughput of a %d-message burst; GOMAXPROCS %d\n\n",
		*clients, *size, *rate, *burst, numCPU())
	fmt.Printf("%-6s %5s | %9s %9s | %9s %9s | %8s %12s %14s | %s\n",
		"setup", "nodes", "p50", "p99", "x-p50", "x-p99", "msg/s", "deliveries/s", "CPU/delivery", "dropped")
	for _, b := range strings.Split(*brokersFlag, ",") {
		var br brokertest.Broker
		var err error
		switch b {
		case "nats":
			br, err = brokertest.StartNATS()
		case "redis":
			br, err = brokertest.StartRedis()
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, ns := range strings.Split(*nodesFlag, ",") {
			n, _ := strconv.Atoi(ns)
			if b == "hub" && n != 1 {
				continue
			}
			r, err := measure(b, br, n, *clients, *paced, *rate, *burst, *size)
			if err != nil {
				log.Fatalf("%s, %d nodes: %v", b, n, err)
			}
			xp50, xp99 := "-", "-"
			if n > 1 {
				xp50, xp99 = ms(r.cross.p50), ms(r.cross.p99)
			}
			fmt.Printf("%-6s %5d | %9s %9s | %9s %9s | %8.0f %12.0f %12.2fµs | %d\n",
				b, n, ms(r.all.p50), ms(r.all.p99), xp50, xp99, r.msgsPerSec, r.msgsPerSec*float64(*clients),
				float64(r.cpu)/1e3/float64(*burst**clients), r.dropped)
		}
		if br != nil {
			br.Stop()
		}
	}
	fmt.Println("\np50/p99: Publish on node 0 to a client's read, over all clients; x-: clients on the other nodes only.")
	fmt.Println("msg/s: burst messages / time until every client read the last; deliveries/s = msg/s x clients.")
	fmt.Println("CPU/delivery: this process's user+system CPU during the burst (nodes, clients, NATS server; not redis-server) / deliveries.")
}

func numCPU() int { return runtime.GOMAXPROCS(0) }

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

type quantiles struct{ p50, p99 time.Duration }

func quantilesOf(d []time.Duration) quantiles {
	if len(d) == 0 {
		return quantiles{}
	}
	slices.Sort(d)
	return quantiles{p50: d[len(d)/2], p99: d[len(d)*99/100]}
}

type result struct {
	all, cross quantiles
	msgsPerSec float64
	cpu        time.Duration // of this process during the burst
	dropped    int64
}

// adapter is what both adapters offer.
type adapter interface {
	hub.Broker
	Stats() cluster.Stats
	Close(context.Context) error
}

// benchNode is one node: an HTTP server whose members join the topic.
type benchNode struct {
	srv     *http.Server
	addr    string
	cl      *hub.Cluster // nil for the plain hub
	h       *hub.Hub
	adapter adapter
	joined  atomic.Int64
}

const topic = "bench"

func startNode(kind string, br brokertest.Broker, i int) (*benchNode, error) {
	nd := &benchNode{}
	hopts := &hub.Options{QueueSize: 1 << 14}
	switch kind {
	case "hub":
		nd.h = hub.New(hopts)
	case "nats":
		a, err := natsbroker.Dial(br.URL(), nil)
		if err != nil {
			return nil, err
		}
		nd.adapter = a
	case "redis":
		a, err := redisbroker.Dial(context.Background(), br.URL(), nil)
		if err != nil {
			return nil, err
		}
		nd.adapter = a
	default:
		return nil, fmt.Errorf("unknown setup %q", kind)
	}
	if nd.adapter != nil {
		cl, err := hub.NewCluster(nd.adapter, &hub.ClusterOptions{Node: fmt.Sprint("n", i), Hub: hopts})
		if err != nil {
			return nil, err
		}
		nd.cl = cl
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	nd.addr = ln.Addr().String()
	nd.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		var m *hub.Member
		if nd.cl != nil {
			m, err = nd.cl.Join(r.Context(), topic, c)
			if err != nil {
				return
			}
			defer nd.cl.Leave(m)
		} else {
			m = nd.h.Add(c)
			defer nd.h.Remove(m)
		}
		nd.joined.Add(1)
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	})}
	go nd.srv.Serve(ln)
	return nd, nil
}

func (nd *benchNode) publish(ctx context.Context, msg []byte) error {
	if nd.cl == nil {
		nd.h.Broadcast(conn.MessageBinary, msg)
		return nil
	}
	return nd.cl.Publish(ctx, topic, conn.MessageBinary, msg)
}

func (nd *benchNode) close() {
	if nd.cl != nil {
		nd.cl.Close()
	}
	nd.srv.Close()
	if nd.adapter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		nd.adapter.Close(ctx)
		cancel()
	}
}

// benchClient reads messages and records their latency.
type benchClient struct {
	c        *conn.Conn
	node     int
	lat      []time.Duration // of the paced run
	count    atomic.Int64
	lastSeen atomic.Int64 // UnixNano of the last read
}

func measure(kind string, br brokertest.Broker, nodes, clients, paced, rate, burst, size int) (result, error) {
	var res result
	var ns []*benchNode
	defer func() {
		for _, nd := range ns {
			nd.close()
		}
	}()
	for i := range nodes {
		nd, err := startNode(kind, br, i)
		if err != nil {
			return res, err
		}
		ns = append(ns, nd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs := make([]*benchClient, clients)
	for i := range cs {
		nd := i % nodes
		c, _, err := conn.Dial(ctx, "ws://"+ns[nd].addr+"/", nil)
		if err != nil {
			return res, err
		}
		defer c.CloseNow()
		cs[i] = &benchClient{c: c, node: nd, lat: make([]time.Duration, 0, paced)}
	}
	for i, nd := range ns {
		for nd.joined.Load() < int64((clients-i+nodes-1)/nodes) {
			time.Sleep(time.Millisecond)
		}
	}
	var readers sync.WaitGroup
	var phase atomic.Int32 // 0 paced, 1 burst
	for _, bc := range cs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, p, err := bc.c.Read(ctx)
				if err != nil {
					return
				}
				now := time.Now().UnixNano()
				if phase.Load() == 0 && len(p) >= 8 {
					bc.lat = append(bc.lat, time.Duration(now-int64(binary.LittleEndian.Uint64(p))))
				}
				bc.lastSeen.Store(now)
				bc.count.Add(1)
			}
		}()
	}
	waitAll := func(want int64) error {
		deadline := time.Now().Add(2 * time.Minute)
		for _, bc := range cs {
			for bc.count.Load() < want {
				if time.Now().After(deadline) {
					return fmt.Errorf("a client on node %d got %d of %d messages", bc.node, bc.count.Load(), want)
				}
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}
	msg := make([]byte, max(size, 8))
	// Paced: latency.
	tick := time.Second / time.Duration(rate)
	next := time.Now()
	for range paced {
		binary.LittleEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
		if err := ns[0].publish(ctx, slices.Clone(msg)); err != nil {
			return res, err
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	if err := waitAll(int64(paced)); err != nil {
		return res, err
	}
	phase.Store(1)
	var all, cross []time.Duration
	for _, bc := range cs {
		all = append(all, bc.lat...)
		if bc.node != 0 {
			cross = append(cross, bc.lat...)
		}
	}
	res.all, res.cross = quantilesOf(all), quantilesOf(cross)
	// Burst: throughput.
	cpu0 := cpuTime()
	start := time.Now()
	for range burst {
		if err := ns[0].publish(ctx, slices.Clone(msg)); err != nil {
			return res, err
		}
	}
	if err := waitAll(int64(paced + burst)); err != nil {
		return res, err
	}
	res.cpu = cpuTime() - cpu0
	var last int64
	for _, bc := range cs {
		last = max(last, bc.lastSeen.Load())
	}
	res.msgsPerSec = float64(burst) / time.Duration(last-start.UnixNano()).Seconds()
	for _, nd := range ns {
		if nd.adapter != nil {
			res.dropped += nd.adapter.Stats().Dropped
		}
	}
	for _, bc := range cs {
		bc.c.Close(conn.StatusNormalClosure, "")
	}
	cancel()
	readers.Wait()
	return res, nil
}
