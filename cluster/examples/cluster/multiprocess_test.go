//go:build !race

// The multi-process test runs without the race detector (CI runs it in a
// step of its own): 3,000 clients and three node processes are too slow
// under -race on a shared 2-core machine. The race run covers the same
// code through the adapters' and hub's tests.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/cluster/internal/brokertest"
	"github.com/hybi-go/hybi/conn"
)

const (
	numClients    = 3000
	numNodes      = 3
	numPublishers = 3 // clients 0..2, one on each node at first
	numPhases     = 5
)

// buildNode builds this command once per test binary.
var buildNode = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hybi-cluster-node")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "node")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// TestMultiProcess runs three node processes on each broker with 3,000
// WebSocket clients spread over them, three of which publish. Through
// five phases it checks that every message reaches every client once and
// in order per publisher, or, where a client or the broker was cut off,
// in order and never twice:
//
//	0 all up: every client gets every message
//	1 the broker stops for 2 s: nodes reconnect and report drops
//	2 all up again: every client gets every message
//	3 SIGKILL of node 2: its clients see 1006 and move; others lose nothing
//	4 SIGTERM of node 1: its clients see 1001 and move; others lose nothing
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 clients and three processes per broker")
	}
	bin, err := buildNode()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"nats", "redis"} {
		t.Run(kind, func(t *testing.T) { runMultiProcess(t, bin, kind) })
	}
}

// nodeProc is one node process.
type nodeProc struct {
	name, addr string
	cmd        *exec.Cmd
	log        *os.File
	done       chan struct{}
}

func startNode(t *testing.T, bin, name, brokerURL string) *nodeProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-node", name, "-addr", addr, "-broker", brokerURL, "-presence=false", "-queue", "2048")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nodeProc{name: name, addr: addr, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("log of %s:\n%s", name, lastLines(b, 30))
		}
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := n.stats(); err == nil {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not serving in 20s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(b []byte, n int) []byte {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

func (n *nodeProc) stats() (Stats, error) {
	var s Stats
	resp, err := http.Get("http://" + n.addr + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// tclient is one WebSocket client of the test.
type tclient struct {
	id    int
	mu    sync.Mutex
	c     *conn.Conn
	phase *atomic.Int32
	// last[k] is the last sequence number received from publisher k.
	last [numPublishers]int
	// got[p][k] counts messages of publisher k received in phase p.
	got [numPhases][numPublishers]int
	// cut[p] is set when the client lost its connection in phase p, and
	// code[p] is the close code it saw.
	cut  [numPhases]bool
	code [numPhases]conn.StatusCode
	bad  error // first broken promise: a duplicate or out of order
	node atomic.Int32
}

// cluster is the test's view of the nodes: which are up, for redials.
type testCluster struct {
	nodes []*nodeProc
	up    [numNodes]atomic.Bool
}

func (tc *testCluster) dial(ctx context.Context, cl *tclient, prefer int) error {
	for attempt := 0; ; attempt++ {
		i := prefer
		for !tc.up[i].Load() {
			i = (i + 1) % numNodes
		}
		c, _, err := conn.Dial(ctx, "ws://"+tc.nodes[i].addr+"/ws?name=c"+strconv.Itoa(cl.id), nil)
		if err == nil {
			// The welcome says this member joined its room; a message
			// broadcast as it joined may come first.
			for {
				_, p, err := c.Read(ctx)
				if err != nil {
					c.CloseNow()
					return fmt.Errorf("client %d: no welcome: %v", cl.id, err)
				}
				if bytes.Contains(p, []byte(`"welcome"`)) {
					break
				}
				cl.record(p)
			}
			cl.mu.Lock()
			cl.c = c
			cl.mu.Unlock()
			cl.node.Store(int32(i))
			return nil
		}
		if ctx.Err() != nil || attempt > 50 {
			return err
		}
		time.Sleep(time.Duration(10+attempt*10) * time.Millisecond)
	}
}

// readLoop reads until ctx ends, redialling a node that is up when its
// connection is lost.
func (tc *testCluster) readLoop(ctx context.Context, cl *tclient) {
	for {
		cl.mu.Lock()
		c := cl.c
		cl.mu.Unlock()
		for {
			_, p, err := c.Read(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				ph := cl.phase.Load()
				cl.mu.Lock()
				if !cl.cut[ph] {
					cl.cut[ph], cl.code[ph] = true, conn.CloseStatus(err)
				}
				cl.mu.Unlock()
				break
			}
			cl.record(p)
		}
		c.CloseNow()
		if err := tc.dial(ctx, cl, (int(cl.node.Load())+1+cl.id)%numNodes); err != nil {
			cl.mu.Lock()
			if cl.bad == nil && ctx.Err() == nil {
				cl.bad = fmt.Errorf("redial: %w", err)
			}
			cl.mu.Unlock()
			return
		}
	}
}

// record checks one chat event: {"kind":"msg","name":"pub-K","text":"SEQ",...}.
func (cl *tclient) record(p []byte) {
	k, seq, ok := parseMsg(p)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if !ok {
		if cl.bad == nil {
			cl.bad = fmt.Errorf("client %d: unexpected message %q", cl.id, p)
		}
		return
	}
	if seq <= cl.last[k] && cl.bad == nil {
		cl.bad = fmt.Errorf("client %d: from publisher %d got %d after %d (twice or out of order)", cl.id, k, seq, cl.last[k])
	}
	cl.last[k] = seq
	cl.got[seqPhase(seq)][k]++
}

// Sequence numbers: phase p's messages are p*1e6+1, p*1e6+2, ...
func seqPhase(seq int) int { return seq / 1e6 }

func parseMsg(p []byte) (publisher, seq int, ok bool) {
	const name, text = `"name":"pub-`, `"text":"`
	i := bytes.Index(p, []byte(name))
	j := bytes.Index(p, []byte(text))
	if i < 0 || j < 0 {
		return 0, 0, false
	}
	i += len(name)
	j += len(text)
	if i >= len(p) || p[i] < '0' || p[i] >= '0'+numPublishers {
		return 0, 0, false
	}
	e := bytes.IndexByte(p[j:], '"')
	if e < 0 {
		return 0, 0, false
	}
	seq, err := strconv.Atoi(string(p[j : j+e]))
	return int(p[i] - '0'), seq, err == nil
}

// publisher sends chat posts over its own connection, which is also a
// member and moves on when its node goes away.
type publisher struct {
	k    int
	node int
	c    *conn.Conn
	tc   *testCluster
}

func (pb *publisher) dial(ctx context.Context) error {
	for !pb.tc.up[pb.node].Load() {
		pb.node = (pb.node + 1) % numNodes
	}
	c, _, err := conn.Dial(ctx, "ws://"+pb.tc.nodes[pb.node].addr+"/ws?name=pub-"+strconv.Itoa(pb.k), nil)
	if err != nil {
		return err
	}
	if _, _, err := c.Read(ctx); err != nil { // welcome
		return err
	}
	pb.c = c
	// Drain: the publisher is a member too.
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return nil
}

// send sends n posts numbered from phase*1e6+1, one every gap.
func (pb *publisher) send(ctx context.Context, phase, n int, gap time.Duration) (sent int, err error) {
	for i := 1; i <= n; i++ {
		msg := fmt.Sprintf(`{"text":"%d"}`, phase*1e6+i)
		if err := pb.c.Write(ctx, conn.MessageText, []byte(msg)); err != nil {
			return sent, err
		}
		sent++
		time.Sleep(gap)
	}
	return sent, nil
}

func runMultiProcess(t *testing.T, bin, kind string) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	br := brokertest.Start(t, kind)
	tc := &testCluster{}
	for i := range numNodes {
		tc.nodes = append(tc.nodes, startNode(t, bin, fmt.Sprint("n", i), br.URL()))
		tc.up[i].Store(true)
	}

	t.Logf("%v start", time.Now().Format("05.000"))
	var phase atomic.Int32
	clients := make([]*tclient, numClients)
	sem := make(chan struct{}, 64)
	var dials sync.WaitGroup
	var dialErr atomic.Value
	for i := range clients {
		cl := &tclient{id: i, phase: &phase}
		clients[i] = cl
		dials.Add(1)
		sem <- struct{}{}
		go func() {
			defer dials.Done()
			defer func() { <-sem }()
			if err := tc.dial(ctx, cl, i%numNodes); err != nil {
				dialErr.Store(err)
			}
		}()
	}
	dials.Wait()
	if err, _ := dialErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	rctx, stopReading := context.WithCancel(ctx)
	var readers sync.WaitGroup
	for _, cl := range clients {
		readers.Add(1)
		go func() { defer readers.Done(); tc.readLoop(rctx, cl) }()
	}
	defer func() { stopReading(); readers.Wait() }()
	pubs := make([]*publisher, numPublishers)
	for k := range pubs {
		pubs[k] = &publisher{k: k, node: k, tc: tc}
		if err := pubs[k].dial(ctx); err != nil {
			t.Fatal(err)
		}
		defer pubs[k].c.CloseNow()
	}
	t.Logf("%s: %d clients on %d nodes in %v", kind, numClients, numNodes, time.Since(start).Round(time.Millisecond))

	// sendAll has the publishers in ks send n messages each in phase p,
	// concurrently, and returns how many each sent.
	sendAll := func(p, n int, gap time.Duration, ks ...int) [numPublishers]int {
		var sent [numPublishers]int
		var wg sync.WaitGroup
		for _, k := range ks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := pubs[k].send(ctx, p, n, gap)
				sent[k] = s
				if err != nil {
					t.Errorf("publisher %d in phase %d: %v", k, p, err)
				}
			}()
		}
		wg.Wait()
		return sent
	}
	// expect waits until every client that kept its connection through
	// phase p (and, when onNodes is given, was on one of those nodes) has
	// received want[k] messages of publisher k in phase p.
	expect := func(p int, want [numPublishers]int, onNodes ...int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			short, checked := 0, 0
			var example string
			for _, cl := range clients {
				cl.mu.Lock()
				if cl.bad != nil {
					t.Fatal(cl.bad)
				}
				skip := cl.cut[p]
				if len(onNodes) > 0 {
					skip = skip || !contains(onNodes, int(cl.node.Load()))
				}
				if !skip {
					checked++
					if cl.got[p] != want {
						short++
						if example == "" {
							example = fmt.Sprintf("client %d on n%d has %v", cl.id, cl.node.Load(), cl.got[p])
						}
					}
				}
				cl.mu.Unlock()
			}
			if short == 0 {
				t.Logf("%v phase %d: %d clients got exactly %v", time.Now().Format("05.000"), p, checked, want)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("phase %d: %d of %d clients did not get exactly %v messages: %s", p, short, checked, want, example)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	nodeStats := func() []Stats {
		var all []Stats
		for i, n := range tc.nodes {
			if !tc.up[i].Load() {
				continue
			}
			s, err := n.stats()
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, s)
		}
		return all
	}
	const gap = 10 * time.Millisecond

	// Phase 0: all up.
	phase.Store(0)
	expect(0, sendAll(0, 10, gap, 0, 1, 2))

	// Phase 1: the broker is away for 2 s while the publishers go on.
	phase.Store(1)
	pubDone := make(chan [numPublishers]int)
	go func() { pubDone <- sendAll(1, 30, 100*time.Millisecond, 0, 1, 2) }()
	time.Sleep(300 * time.Millisecond)
	br.Stop()
	time.Sleep(2 * time.Second)
	if err := br.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, s := range nodeStats() {
			ok = ok && s.Broker.Connected && s.Broker.Reconnects > 0
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not reconnect to the broker: %+v", nodeStats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent1 := <-pubDone
	var dropped int64
	for _, s := range nodeStats() {
		t.Logf("after the outage, %s: %d reconnections, %d messages dropped, %d published", s.Node, s.Broker.Reconnects, s.Broker.Dropped, s.Broker.Published)
		dropped += s.Broker.Dropped
	}
	if dropped == 0 {
		t.Errorf("no node reports a dropped message after a 2 s outage")
	}
	time.Sleep(300 * time.Millisecond) // let the last messages arrive
	minGot, maxGot := 1<<30, 0
	for _, cl := range clients {
		cl.mu.Lock()
		for k := range numPublishers {
			minGot, maxGot = min(minGot, cl.got[1][k]), max(maxGot, cl.got[1][k])
		}
		cl.mu.Unlock()
	}
	t.Logf("phase 1: each publisher sent %v; a client got between %d and %d of one publisher's (at most once)", sent1, minGot, maxGot)

	// Phase 2: all up again, nothing is lost.
	time.Sleep(200 * time.Millisecond)
	phase.Store(2)
	expect(2, sendAll(2, 10, gap, 0, 1, 2))
	// Each node counted, from the gaps in the other nodes' sequence
	// numbers, exactly the messages its clients did not get in phase 1
	// (phase 2's messages showed the last gaps).
	for _, s := range nodeStats() {
		x, _ := strconv.Atoi(strings.TrimPrefix(s.Node, "n"))
		checked := 0
		for _, cl := range clients {
			cl.mu.Lock()
			if int(cl.node.Load()) == x && !cl.cut[1] && !cl.cut[2] {
				var missed int64
				for k := range numPublishers {
					if pubs[k].node != x {
						missed += int64(sent1[k] - cl.got[1][k])
					}
				}
				if missed != s.Cluster.Missed {
					t.Errorf("client %d on %s missed %d messages in phase 1; the node counted %d", cl.id, s.Node, missed, s.Cluster.Missed)
				}
				checked++
			}
			cl.mu.Unlock()
		}
		t.Logf("%s counted %d messages of other nodes missed, as its %d clients saw", s.Node, s.Cluster.Missed, checked)
	}

	// Phase 3: node 2 is killed while publishers 0 and 1 (on nodes 0 and
	// 1) send. Its clients see 1006 and move to the others; the clients
	// of nodes 0 and 1 get every message.
	phase.Store(3)
	go func() {
		time.Sleep(100 * time.Millisecond)
		tc.up[2].Store(false)
		tc.nodes[2].cmd.Process.Signal(syscall.SIGKILL)
	}()
	sent3 := sendAll(3, 20, gap, 0, 1)
	<-tc.nodes[2].done
	expect(3, sent3, 0, 1)
	waitMoved(t, clients, 3, conn.StatusAbnormalClosure, 2)

	// Phase 4: node 1 stops gracefully while publisher 0 (on node 0)
	// sends. Its clients see 1001 and move to node 0.
	phase.Store(4)
	pubs[1].c.CloseNow() // publisher 1 is on node 1; it stays quiet
	go func() {
		time.Sleep(100 * time.Millisecond)
		tc.up[1].Store(false)
		tc.nodes[1].cmd.Process.Signal(syscall.SIGTERM)
	}()
	sent4 := sendAll(4, 20, gap, 0)
	select {
	case <-tc.nodes[1].done:
	case <-time.After(15 * time.Second):
		t.Fatal("node 1 did not stop in 15 s after SIGTERM")
	}
	if code := tc.nodes[1].cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("node 1 exited with %d after SIGTERM", code)
	}
	expect(4, sent4, 0)
	waitMoved(t, clients, 4, conn.StatusGoingAway, 1)
	t.Logf("%s: done in %v", kind, time.Since(start).Round(time.Millisecond))
}

// waitMoved checks that the clients cut in phase p saw code, and waits
// until all of them are connected again, away from node gone.
func waitMoved(t *testing.T, clients []*tclient, p int, code conn.StatusCode, gone int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cut, moved := 0, 0
		for _, cl := range clients {
			cl.mu.Lock()
			if cl.cut[p] {
				c := cl.code[p]
				cut++
				if c != code {
					t.Fatalf("client %d saw close %d in phase %d, want %d", cl.id, c, p, code)
				}
				if int(cl.node.Load()) != gone {
					moved++
				}
			}
			cl.mu.Unlock()
		}
		if cut > 0 && moved == cut {
			t.Logf("%v phase %d: %d clients saw %d and reconnected to other nodes", time.Now().Format("05.000"), p, cut, code)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("phase %d: %d clients cut, %d reconnected", p, cut, moved)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
