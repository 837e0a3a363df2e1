// Command scale-server is one shard of the matrix's scale scenario: a
// WebSocket server that accepts connections, holds them idle, and
// broadcasts one message to all of them when told to.
//
//	scale-server -lib hybi-poll|hybi|gws -addr 127.0.0.1:0
//
// It raises its open-file limit as far as the hard limit allows, prints
// "ws=ADDR nofile=N" once listening, then answers commands read from
// stdin, one JSON line on stdout each:
//
//	stats      conns held, Go heap and stack after a collection that
//	           returns free memory to the OS (the parent reads RSS from
//	           /proc/PID/status)
//	heapprofile PATH
//	           writes a heap profile (with GODEBUG=memprofilerate=1, of
//	           every object: where each byte of a held connection goes)
//	broadcast  writes one 16-byte text message to every connection, the
//	           library's own way (hybi: a PreparedMessage written by a few
//	           goroutines; gws: its Broadcaster); answers with the time the
//	           fan-out took on the server
//
// It exits when stdin closes. Only loopback addresses are served.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lxzan/gws"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
)

// Payload is the broadcast message; the clients expect exactly it.
var Payload = []byte("scale broadcast!")

type registry[T any] struct {
	mu    sync.Mutex
	conns []T
}

func (r *registry[T]) add(c T) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *registry[T]) snapshot() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[:len(r.conns):len(r.conns)]
}

// server is what a library offers the scenario.
type server interface {
	handler() (http.Handler, error)
	len() int
	broadcast() error
}

type hybiServer struct {
	poll bool
	p    *poll.Poller
	reg  registry[*conn.Conn]
}

func (s *hybiServer) handler() (http.Handler, error) {
	if !s.poll {
		// conn.Handler: a goroutine per connection, waiting in Reader.
		return conn.Handler(nil, func(ctx context.Context, c *conn.Conn) {
			s.reg.add(c)
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
			}
		}), nil
	}
	p, err := poll.New(nil)
	if err != nil {
		return nil, err
	}
	s.p = p
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		if p.Serve(c, func(context.Context, *conn.Conn, conn.MessageType, io.Reader) error { return nil }) == nil {
			s.reg.add(c)
		}
	}), nil
}

func (s *hybiServer) len() int { return len(s.reg.snapshot()) }

// broadcast writes one PreparedMessage to every connection from
// GOMAXPROCS goroutines, each taking a contiguous share.
func (s *hybiServer) broadcast() error {
	conns := s.reg.snapshot()
	pm := conn.NewPreparedMessage(conn.MessageText, Payload)
	ctx := context.Background()
	return fanOut(len(conns), func(i int) error { return conns[i].WritePrepared(ctx, pm) })
}

func fanOut(n int, write func(int) error) error {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				if err := write(i); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type gwsServer struct{ reg registry[*gws.Conn] }

type gwsIdle struct{ gws.BuiltinEventHandler }

func (s *gwsServer) handler() (http.Handler, error) {
	up := gws.NewUpgrader(gwsIdle{}, &gws.ServerOption{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		s.reg.add(c)
		go c.ReadLoop()
	}), nil
}

func (s *gwsServer) len() int { return len(s.reg.snapshot()) }

// broadcast is gws's documented way: one Broadcaster, Broadcast to each
// connection (queued on the connection's own writer), then Close.
func (s *gwsServer) broadcast() error {
	conns := s.reg.snapshot()
	b := gws.NewBroadcaster(gws.OpcodeText, Payload)
	defer b.Close()
	for _, c := range conns {
		_ = b.Broadcast(c) // a closed connection is the client's to count
	}
	return nil
}

// netConnServer is not a library but the floor under every library that
// serves on net/http: it hijacks the connection, answers 101 by hand
// (the scale client checks only the status line), and keeps the net.Conn.
// What it holds per connection (the net.Conn, its netFD and addresses,
// the runtime's poll descriptor) any such library holds too.
type netConnServer struct{ reg registry[net.Conn] }

func (s *netConnServer) handler() (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		c, brw, err := hj.Hijack()
		if err != nil {
			return
		}
		if _, err := c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")); err != nil || brw.Reader.Buffered() > 0 {
			c.Close()
			return
		}
		s.reg.add(c)
	}), nil
}

func (s *netConnServer) len() int { return len(s.reg.snapshot()) }

func (s *netConnServer) broadcast() error {
	conns := s.reg.snapshot()
	frame := append([]byte{0x81, byte(len(Payload))}, Payload...)
	return fanOut(len(conns), func(i int) error {
		_, err := conns[i].Write(frame)
		return err
	})
}

type statsReply struct {
	Conns      int    `json:"conns"`
	HeapInuse  uint64 `json:"heap"`
	StackInuse uint64 `json:"stack"`
	Goroutines int    `json:"goroutines"`
	NoFile     uint64 `json:"nofile"`
	FanOutNs   int64  `json:"fanout_ns,omitempty"`
	// Classes are runtime/metrics' /memory/classes/ figures, in bytes:
	// where the process's memory goes (heap objects, stacks, runtime
	// metadata, ...).
	Classes map[string]uint64 `json:"classes,omitempty"`
	Err     string            `json:"err,omitempty"`
}

func main() {
	lib := flag.String("lib", "hybi-poll", "hybi-poll, hybi, gws, or netconn (not a library: the floor under any on net/http)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	cpuProfile := flag.String("broadcast-cpuprofile", "", "write a CPU profile of the broadcast to this file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("scale-server: ")

	nofile := raiseNoFile()
	var s server
	switch *lib {
	case "hybi-poll":
		s = &hybiServer{poll: true}
	case "hybi":
		s = &hybiServer{}
	case "gws":
		s = &gwsServer{}
	case "netconn":
		s = &netConnServer{}
	default:
		log.Fatalf("unknown lib %q", *lib)
	}
	h, err := s.handler()
	if err != nil {
		log.Fatal(err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("-addr %q: loopback only", *addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	fmt.Printf("ws=%s nofile=%d\n", ln.Addr(), nofile)

	out := json.NewEncoder(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var r statsReply
		switch sc.Text() {
		case "stats":
			runtime.GC()
			debug.FreeOSMemory()
		case "broadcast":
			var prof *os.File
			if *cpuProfile != "" {
				if prof, err = os.Create(*cpuProfile); err == nil {
					pprof.StartCPUProfile(prof)
				}
			}
			t := time.Now()
			if err := s.broadcast(); err != nil {
				r.Err = err.Error()
			}
			r.FanOutNs = int64(time.Since(t))
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
			}
		default:
			if path, ok := strings.CutPrefix(sc.Text(), "heapprofile "); ok {
				// Run with GODEBUG=memprofilerate=1 for every object.
				runtime.GC()
				if f, err := os.Create(path); err != nil {
					r.Err = err.Error()
				} else {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
				break
			}
			r.Err = "unknown command " + sc.Text()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if sc.Text() == "stats" {
			r.Classes = memoryClasses()
		}
		r.Conns, r.HeapInuse, r.StackInuse, r.Goroutines, r.NoFile = s.len(), ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine(), nofile
		out.Encode(r)
	}
}

// memoryClasses reads the leaves of runtime/metrics' /memory/classes/.
func memoryClasses() map[string]uint64 {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if name, ok := strings.CutPrefix(d.Name, "/memory/classes/"); ok && name != "total:bytes" && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	m := make(map[string]uint64, len(samples))
	for _, s := range samples {
		m[strings.TrimSuffix(strings.TrimPrefix(s.Name, "/memory/classes/"), ":bytes")] = s.Value.Uint64()
	}
	return m
}

// raiseNoFile lifts the soft open-file limit to the hard one and returns
// the limit in force.
func raiseNoFile() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		}
	}
	return rl.Cur
}
