// Command bench-server runs one library's echo server for the benchmark
// matrix, in a process of its own so that its memory can be measured.
//
//	bench-server -lib hybi -addr 127.0.0.1:0 [-deflate] [-tls]
//
// With -tls it serves HTTPS with a self-signed certificate: HTTP/2 and
// HTTP/1.1, chosen by ALPN. WebSockets over HTTP/2 (RFC 8441) also need
// GODEBUG=http2xconnect=1 in the environment at start (Go 1.24 to 1.27);
// the matrix sets it.
//
// It prints one line, "ws=ADDR ctl=ADDR", once both listeners are open.
// The control listener serves /stats (memory and CPU as JSON; ?gc=1 runs
// the collector and returns freed memory to the OS first) and
// /debug/pprof/.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/hybi-go/hybi/bench/internal/procfs"
	"github.com/hybi-go/hybi/bench/servers"
)

func main() {
	lib := flag.String("lib", "hybi", "library: "+strings.Join(servers.Names(), ", "))
	addr := flag.String("addr", "127.0.0.1:0", "WebSocket listen address (loopback only)")
	ctlAddr := flag.String("ctl", "127.0.0.1:0", "control listen address (stats, pprof)")
	deflate := flag.Bool("deflate", false, "negotiate permessage-deflate")
	useTLS := flag.Bool("tls", false, "serve HTTPS (HTTP/2 and HTTP/1.1) with a self-signed certificate")
	broadcast := flag.Bool("broadcast", false, "serve the library's broadcast server; POST /broadcast on the control address sends the body to every connection")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("bench-server: ")
	if *broadcast {
		serveBroadcast(*lib, *addr, *ctlAddr, *deflate)
		return
	}

	l, err := servers.Get(*lib)
	if err != nil {
		log.Fatal(err)
	}
	if *deflate && !l.Deflate {
		log.Fatalf("%s: permessage-deflate not supported by this adapter", l.Name)
	}
	o := servers.Options{Deflate: *deflate}
	if *useTLS {
		if !l.TLS {
			log.Fatalf("%s: TLS not supported by this adapter", l.Name)
		}
		if o.TLS, err = servers.SelfSigned(); err != nil {
			log.Fatal(err)
		}
	}
	raiseNoFile()
	for _, a := range []string{*addr, *ctlAddr} {
		if h, _, err := net.SplitHostPort(a); err != nil || !net.ParseIP(h).IsLoopback() {
			log.Fatalf("%s: only loopback addresses are allowed", a)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	ctl, err := net.Listen("tcp", *ctlAddr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", stats)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ctl, mux)

	errc := make(chan error, 1)
	go func() { errc <- l.Serve(ln, o) }()
	fmt.Printf("ws=%s ctl=%s\n", ln.Addr(), ctl.Addr())
	log.Fatal(<-errc)
}

// raiseNoFile raises the soft limit on open files to the hard limit.
func raiseNoFile() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// Stats is what /stats reports.
type Stats struct {
	RSS        int64 `json:"rss"`  // VmRSS, bytes
	HWM        int64 `json:"hwm"`  // VmHWM, bytes
	HeapInuse  int64 `json:"heap"` // runtime HeapInuse
	HeapAlloc  int64 `json:"heap_alloc"`
	StackInuse int64 `json:"stack"`
	Sys        int64 `json:"sys"`
	Goroutines int   `json:"goroutines"`
	CPUNanos   int64 `json:"cpu_ns"` // user+system time of the process
	Mallocs    int64 `json:"mallocs"`
	TotalAlloc int64 `json:"total_alloc"`
	NumGC      int64 `json:"num_gc"`
	// Read and write system calls of the process (/proc/self/io).
	SyscR int64 `json:"syscr"`
	SyscW int64 `json:"syscw"`
}

func stats(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Stats{
		HeapInuse:  int64(ms.HeapInuse),
		HeapAlloc:  int64(ms.HeapAlloc),
		StackInuse: int64(ms.StackInuse),
		Sys:        int64(ms.Sys),
		Goroutines: runtime.NumGoroutine(),
		Mallocs:    int64(ms.Mallocs),
		TotalAlloc: int64(ms.TotalAlloc),
		NumGC:      int64(ms.NumGC),
	}
	s.RSS, s.HWM = procStatus()
	s.SyscR, s.SyscW = procIO()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.CPUNanos = ru.Utime.Nano() + ru.Stime.Nano()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

func procStatus() (rss, hwm int64) {
	rss, hwm, _ = procfs.RSS("self")
	return rss, hwm
}

func procIO() (r, w int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			r = n
		case "syscw":
			w = n
		}
	}
	return r, w
}
