// Command memprobe is the victim of conn's memory ceiling test
// (TestMemoryCeiling in conn/memory_test.go). It runs in a process of its
// own, so that a heap an earlier scenario freed cannot hide what the next
// one costs: it opens connections with package conn, as a server or a
// client, reads what the hostile peer (the test) sends, and reports how
// much its memory grew while it did.
//
// Protocol, on standard output: "listen ADDR" (server role) once it
// listens, "ready" once every connection is open and the baseline is
// taken, then one "result JSON" line (see report) when every read has
// ended, or when a line arrives on standard input, whichever is first.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// report is what the probe prints as its result.
type report struct {
	// HWMGrowth is how far the peak resident set (VmHWM) rose above the
	// resident set at the baseline, in bytes; -1 where it cannot be read.
	HWMGrowth int64 `json:"hwm_growth"`
	// HeapGrowth is the live heap at the end (after a GC) less the live
	// heap at the baseline: what the open reads hold.
	HeapGrowth int64 `json:"heap_growth"`
	// TotalAlloc is the heap allocated since the baseline.
	TotalAlloc uint64   `json:"total_alloc"`
	Reads      []result `json:"reads"`
}

// result is how the reads of one connection ended; Done is false for a
// read still blocked when the report was asked for.
type result struct {
	Done  bool   `json:"done"`
	Bytes int64  `json:"bytes"` // message bytes read
	Code  int    `json:"code"`  // conn.CloseStatus of the error
	Err   string `json:"err"`
}

func main() {
	role := flag.String("role", "server", "server or client")
	addr := flag.String("addr", "", "the URL to dial (client role)")
	conns := flag.Int("conns", 1, "connections to open")
	mode := flag.String("read", "whole", "whole (Read) or stream (Reader and io.Copy)")
	limit := flag.Int64("limit", 0, "conn.Options.ReadLimit")
	compress := flag.Bool("deflate", false, "negotiate permessage-deflate")
	flag.Parse()

	// A short CloseTimeout: the peer does not answer a close of ours.
	opts := conn.Options{ReadLimit: *limit, CloseTimeout: 100 * time.Millisecond}
	var exts []extension.Extension
	if *compress {
		exts = []extension.Extension{deflate.New(nil)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var cs []*conn.Conn
	switch *role {
	case "server":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		check(err)
		accepted := make(chan *conn.Conn)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := conn.Accept(w, r, &conn.AcceptOptions{Options: opts, Extensions: exts})
			check(err)
			accepted <- c
		})}
		go srv.Serve(ln)
		fmt.Println("listen", ln.Addr())
		for range *conns {
			cs = append(cs, <-accepted)
		}
	case "client":
		for range *conns {
			c, _, err := conn.Dial(ctx, *addr, &conn.DialOptions{Options: opts, Extensions: exts})
			check(err)
			cs = append(cs, c)
		}
	default:
		check(fmt.Errorf("unknown role %q", *role))
	}

	rss0 := resetPeak()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, total0 := ms.HeapAlloc, ms.TotalAlloc
	fmt.Println("ready")

	rep := report{Reads: make([]result, len(cs))}
	var mu sync.Mutex // guards rep.Reads
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := readAll(ctx, c, *mode)
			mu.Lock()
			rep.Reads[i] = result{Done: true, Bytes: n, Code: int(conn.CloseStatus(err)), Err: fmt.Sprint(err)}
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	asked := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		close(asked)
	}()
	select {
	case <-done:
	case <-asked:
	}

	runtime.GC()
	runtime.ReadMemStats(&ms)
	rep.HeapGrowth = int64(ms.HeapAlloc) - int64(heap0)
	rep.TotalAlloc = ms.TotalAlloc - total0
	rep.HWMGrowth = -1
	if hwm := status("VmHWM"); hwm >= 0 && rss0 >= 0 {
		rep.HWMGrowth = hwm - rss0
	}
	mu.Lock()
	b, err := json.Marshal(rep)
	mu.Unlock()
	check(err)
	fmt.Printf("result %s\n", b)
	// The reads still blocked hold their buffers until here.
	runtime.KeepAlive(cs)
}

// readAll reads messages from c until an error, and returns the bytes of
// the messages it read.
func readAll(ctx context.Context, c *conn.Conn, mode string) (int64, error) {
	var total int64
	for {
		if mode == "stream" {
			_, r, err := c.Reader(ctx)
			if err != nil {
				return total, err
			}
			n, err := io.Copy(io.Discard, r)
			total += n
			if err != nil {
				return total, err
			}
			continue
		}
		_, p, err := c.Read(ctx)
		if err != nil {
			return total, err
		}
		total += int64(len(p))
	}
}

// resetPeak resets the process's peak resident set to its current one
// (proc(5), /proc/pid/clear_refs) and returns that, in bytes; -1 if either
// fails.
func resetPeak() int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return -1
	}
	return status("VmRSS")
}

// status returns the field of /proc/self/status given in kB, in bytes; -1
// if it cannot be read.
func status(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "memprobe:", err)
		os.Exit(1)
	}
}
