package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/hybi-go/hybi/bench/load"
)

// The h2 scenario measures hybi's WebSockets over HTTP/2 (RFC 8441) beside
// its own over HTTP/1.1, cleartext and TLS: no peer serves WebSockets over
// HTTP/2, so hybi over HTTP/1.1 is the reference.
const (
	transH1  = "hybi"     // ws://, a TCP connection per WebSocket
	transTLS = "hybi-tls" // wss:// over HTTP/1.1, a TLS connection per WebSocket
	transH2  = "hybi-h2"  // wss:// over HTTP/2, WebSockets spread over TCPConns connections
)

// h2Cell is one echo cell of the h2 scenario.
type h2Cell struct {
	Transport   string  `json:"transport"`
	Size        int     `json:"size"`
	WebSockets  int     `json:"websockets"`
	TCPConns    int     `json:"tcp_conns"`
	Rate        float64 `json:"msgs_per_s"`
	MBps        float64 `json:"mb_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	CPUPerMsgUs float64 `json:"server_cpu_us_per_msg"`
	AllocPerMsg float64 `json:"server_alloc_bytes_per_msg"`
	// Read and write system calls of the server per message.
	ReadsPerMsg  float64 `json:"server_reads_per_msg"`
	WritesPerMsg float64 `json:"server_writes_per_msg"`
	Err          string  `json:"error,omitempty"`
}

// h2IdleCell is the server's memory per idle WebSocket.
type h2IdleCell struct {
	Transport  string  `json:"transport"`
	WebSockets int     `json:"websockets"`
	TCPConns   int     `json:"tcp_conns"`
	RSSPerWS   float64 `json:"rss_bytes_per_websocket"`
	HeapPerWS  float64 `json:"heap_bytes_per_websocket"`
	StackPerWS float64 `json:"stack_bytes_per_websocket"`
	Goroutines int     `json:"goroutines"`
	Err        string  `json:"error,omitempty"`
}

// h2Plan is what the h2 scenario runs.
type h2Plan struct {
	sizes, websockets, tcpConns []int
	transports                  []string
	idleWS                      int
	idleTCP                     []int
	idleTransports              []string
}

func (c *config) h2Plan() h2Plan {
	p := h2Plan{sizes: []int{16, 1 << 10, 16 << 10}, websockets: []int{16, 256}, tcpConns: []int{1, 16},
		transports: []string{transH1, transTLS, transH2}, idleWS: 1000, idleTCP: []int{1, 16},
		idleTransports: []string{transH1, transTLS, transH2}}
	if c.quick {
		// A smoke test of the HTTP/2 path: one echo cell and one idle
		// measurement, with hybi over HTTP/1.1 for the ratio.
		p = h2Plan{sizes: []int{1 << 10}, websockets: []int{16}, tcpConns: []int{1},
			transports: []string{transH1, transH2}, idleWS: 100, idleTCP: []int{1}, idleTransports: []string{transH2}}
	}
	if c.sizesSet {
		p.sizes = c.sizes
	}
	if c.connsSet {
		p.websockets = c.conns
	}
	return p
}

// runH2 runs the h2 scenario, if hybi is among the libraries.
func runH2(ctx context.Context, c *config, res *results) {
	if !slices.Contains(c.libs, "hybi") {
		log.Print("h2: skipped, hybi is not among -libs")
		return
	}
	p := c.h2Plan()
	for _, t := range p.transports {
		s, err := startServerTLS(ctx, c.bin, "hybi", t != transH1)
		for _, size := range p.sizes {
			msg := load.NewMessage(load.OpBinary, payload(size), false)
			for _, ws := range p.websockets {
				tcps := []int{ws}
				if t == transH2 {
					tcps = p.tcpConns
				}
				for _, n := range tcps {
					if ctx.Err() != nil {
						break
					}
					cell := h2Cell{Transport: t, Size: size, WebSockets: ws, TCPConns: n}
					if err != nil {
						cell.Err = err.Error()
					} else {
						h2EchoOne(ctx, c, s, msg, &cell)
					}
					log.Printf("h2 %-8s %6s x%-3d over %3d TCP %10.0f msg/s p50 %7.3f ms p99 %7.3f ms cpu %6.1f us/msg %7.0f B/msg %.2f+%.2f syscalls/msg %s",
						t, sizeName(size), ws, n, cell.Rate, cell.P50Ms, cell.P99Ms, cell.CPUPerMsgUs, cell.AllocPerMsg, cell.ReadsPerMsg, cell.WritesPerMsg, cell.Err)
					res.H2 = append(res.H2, cell)
				}
			}
		}
		s.stop()
	}
	for _, t := range p.idleTransports {
		tcps := []int{p.idleWS}
		if t == transH2 {
			tcps = p.idleTCP
		}
		for _, n := range tcps {
			if ctx.Err() != nil {
				break
			}
			cell := h2IdleCell{Transport: t, WebSockets: p.idleWS, TCPConns: n}
			h2IdleOne(ctx, c, &cell)
			log.Printf("h2 idle %-8s x%d over %d TCP: %.0f B/WebSocket RSS, %.0f heap, %.0f stack, %d goroutines %s",
				t, cell.WebSockets, n, cell.RSSPerWS, cell.HeapPerWS, cell.StackPerWS, cell.Goroutines, cell.Err)
			res.H2Idle = append(res.H2Idle, cell)
		}
	}
}

// h2Clients holds the load client's connections of one transport.
type h2Clients struct {
	h1 []*load.Conn
	h2 []*load.H2Conn
}

func (k *h2Clients) close() {
	load.CloseAll(k.h1)
	for _, c := range k.h2 {
		c.Close()
	}
}

// dialH2Cell opens ws WebSockets over the transport t, spread evenly over
// tcp connections for HTTP/2.
func dialH2Cell(ctx context.Context, c *config, addr, t string, ws, tcp, bufSize int) (*h2Clients, error) {
	k := &h2Clients{}
	if t != transH2 {
		o := c.dialOpts(bufSize, false)
		o.TLS = t == transTLS
		var err error
		k.h1, err = load.DialMany(ctx, addr, ws, 32, load.SourceIPs(c.sourceIPs), o)
		return k, err
	}
	ips := load.SourceIPs(c.sourceIPs)
	for i := range tcp {
		o := c.dialOpts(bufSize, false)
		o.LocalIP = ips[i%len(ips)]
		n := ws/tcp + btoi(i < ws%tcp)
		hc, err := load.DialH2(ctx, addr, n, o)
		if err != nil {
			k.close()
			return nil, fmt.Errorf("HTTP/2 connection %d of %d: %w", i, tcp, err)
		}
		k.h2 = append(k.h2, hc)
	}
	return k, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (k *h2Clients) check(m *load.Message) error {
	if k.h2 != nil {
		return load.CheckH2(k.h2, m, 10*time.Second)
	}
	return load.CheckAll(k.h1, m, min(32, len(k.h1)))
}

func h2EchoOne(ctx context.Context, c *config, s *server, msg *load.Message, cell *h2Cell) {
	k, err := dialH2Cell(ctx, c, s.ws, cell.Transport, cell.WebSockets, cell.TCPConns, 32<<10)
	if err == nil {
		defer k.close()
		err = k.check(msg)
	}
	if err != nil {
		cell.Err = err.Error()
		return
	}
	before, err := s.stats(false)
	if err != nil {
		cell.Err = err.Error()
		return
	}
	var wait func()
	if c.profiled("hybi") {
		// Files are named hybi-h2-TRANSPORT-SIZE-Nws-Ntcp.
		tag := map[string]string{transH1: "h1", transTLS: "tls", transH2: "h2"}[cell.Transport]
		name := fmt.Sprintf("h2-%s-%s-%dws-%dtcp", tag, sizeName(cell.Size), cell.WebSockets, cell.TCPConns)
		ch := make(chan func(), 1)
		go func() {
			time.Sleep(c.warmup)
			ch <- s.profile(c.pprofDir, name, c.d)
		}()
		wait = func() { (<-ch)() }
	}
	var r load.Result
	if k.h2 != nil {
		r = load.EchoH2(k.h2, msg, c.warmup, c.d)
	} else {
		r = load.Echo(k.h1, msg, c.warmup, c.d)
	}
	if wait != nil {
		wait()
	}
	after, err := s.stats(false)
	cell.Rate = r.Rate()
	cell.MBps = cell.Rate * float64(len(msg.Payload)) / 1e6
	cell.P50Ms, cell.P99Ms = ms(r.P50), ms(r.P99)
	if err == nil && r.Count > 0 {
		// As in echoOne: the server's CPU over warmup and window, per
		// message of the window scaled up to both.
		msgs := float64(r.Count) * float64(c.warmup+r.Elapsed) / float64(r.Elapsed)
		cell.CPUPerMsgUs = float64(after.CPUNanos-before.CPUNanos) / 1e3 / msgs
		cell.AllocPerMsg = float64(after.TotalAlloc-before.TotalAlloc) / msgs
		cell.ReadsPerMsg = float64(after.SyscR-before.SyscR) / msgs
		cell.WritesPerMsg = float64(after.SyscW-before.SyscW) / msgs
	}
	if r.Err != nil {
		cell.Err = fmt.Sprintf("%d errors, first: %v", r.Errors, r.Err)
	}
}

// h2IdleOne measures a fresh server's memory over its baseline once every
// WebSocket has echoed one 16 B message.
func h2IdleOne(ctx context.Context, c *config, cell *h2IdleCell) {
	s, err := startServerTLS(ctx, c.bin, "hybi", cell.Transport != transH1)
	if err != nil {
		cell.Err = err.Error()
		return
	}
	defer s.stop()
	time.Sleep(200 * time.Millisecond)
	base, err := s.stats(true)
	if err == nil {
		var k *h2Clients
		if k, err = dialH2Cell(ctx, c, s.ws, cell.Transport, cell.WebSockets, cell.TCPConns, 512); err == nil {
			defer k.close()
			err = k.check(load.NewMessage(load.OpBinary, payload(16), false))
		}
	}
	if err != nil {
		cell.Err = err.Error()
		return
	}
	time.Sleep(500 * time.Millisecond)
	st, err := s.stats(true)
	if c.profiled("hybi") {
		s.fetch("/debug/pprof/heap?gc=1", fmt.Sprintf("%s/%s-idle-%d.heap.pprof", c.pprofDir, cell.Transport, cell.TCPConns))
	}
	if err != nil {
		cell.Err = err.Error()
		return
	}
	n := float64(cell.WebSockets)
	cell.RSSPerWS = float64(st.RSS-base.RSS) / n
	cell.HeapPerWS = float64(st.HeapInuse-base.HeapInuse) / n
	cell.StackPerWS = float64(st.StackInuse-base.StackInuse) / n
	cell.Goroutines = st.Goroutines - base.Goroutines
}

// h2Markdown renders the h2 scenario.
func (r *results) h2Markdown(p func(string, ...any)) {
	if len(r.H2) > 0 {
		p("## WebSockets over HTTP/2\n\n")
		p("hybi's echo server (`conn.Handler`) over HTTP/2 (RFC 8441 extended CONNECT, `bench-server -tls` with `GODEBUG=http2xconnect=1`), beside the same server over HTTP/1.1, in cleartext (`hybi`, the reference of the ratios) and over TLS (`hybi-tls`, a TLS connection per WebSocket). No peer serves WebSockets over HTTP/2. The HTTP/2 load client (`load.H2Conn`, golang.org/x/net/http2's Framer) spreads the WebSockets evenly over the TCP connections, one closed-loop echo in flight on each; it grants the server 1 GiB windows. Server CPU, allocation and system calls are per echoed message. The load client shares the machine's cores, and costs less over HTTP/2 (two goroutines per TCP connection) than over HTTP/1.1 (one per WebSocket), so msg/s and latency flatter the cells with few TCP connections; server CPU per message is the fair comparison.\n\n")
		for _, size := range uniq(r.H2, func(c h2Cell) int { return c.Size }) {
			p("### %s\n\n| WebSockets | Transport | TCP conns | msg/s | × HTTP/1.1 | MB/s | p50 ms | p99 ms | p99 × HTTP/1.1 | server CPU µs/msg | CPU × HTTP/1.1 | server alloc B/msg | server syscalls/msg (read+write) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n", sizeName(size))
			for _, ws := range uniq(r.H2, func(c h2Cell) int { return c.WebSockets }) {
				cells := filter(r.H2, func(c h2Cell) bool { return c.Size == size && c.WebSockets == ws })
				ref, _ := find(cells, func(c h2Cell) bool { return c.Transport == transH1 && c.Err == "" && c.Rate > 0 })
				for _, c := range cells {
					if c.Err != "" {
						p("| %d | %s | %d | error: %s | | | | | | | | | |\n", ws, c.Transport, c.TCPConns, mdEscape(c.Err))
						continue
					}
					p("| %d | %s | %d | %s | %s | %s | %.3f | %.3f | %s | %.1f | %s | %s | %.2f + %.2f |\n", ws, c.Transport, c.TCPConns, num(c.Rate), ratio(c.Rate, ref.Rate),
						num(c.MBps), c.P50Ms, c.P99Ms, ratio(c.P99Ms, ref.P99Ms), c.CPUPerMsgUs, ratio(c.CPUPerMsgUs, ref.CPUPerMsgUs), num(c.AllocPerMsg),
						c.ReadsPerMsg, c.WritesPerMsg)
				}
			}
			p("\n")
		}
	}
	if len(r.H2Idle) > 0 {
		p("### Idle WebSockets over HTTP/2\n\nEach WebSocket echoes one 16 B message, then stays open. Memory of a fresh server process over its baseline (after a GC and returning free memory to the OS), per WebSocket: what a server operator pays.\n\n")
		p("| Transport | WebSockets | TCP conns | RSS B/WebSocket | × HTTP/1.1 | Go heap B/WebSocket | × HTTP/1.1 | stack B/WebSocket | goroutines/WebSocket |\n|---|---|---|---|---|---|---|---|---|\n")
		ref, _ := find(r.H2Idle, func(c h2IdleCell) bool { return c.Transport == transH1 && c.Err == "" })
		for _, c := range r.H2Idle {
			if c.Err != "" {
				p("| %s | %d | %d | error: %s | | | | | |\n", c.Transport, c.WebSockets, c.TCPConns, mdEscape(c.Err))
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n", c.Transport, commas(int64(c.WebSockets)), commas(int64(c.TCPConns)),
				num(c.RSSPerWS), ratio(c.RSSPerWS, ref.RSSPerWS), num(c.HeapPerWS), ratio(c.HeapPerWS, ref.HeapPerWS),
				num(c.StackPerWS), float64(c.Goroutines)/float64(c.WebSockets))
		}
		p("\n")
	}
}

// h2Errors lists the h2 cells that failed to run.
func (r *results) h2Errors() []string {
	var e []string
	for _, c := range r.H2 {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("h2 %s %s×%d/%d: %s", c.Transport, sizeName(c.Size), c.WebSockets, c.TCPConns, c.Err))
		}
	}
	for _, c := range r.H2Idle {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("h2 idle %s ×%d/%d: %s", c.Transport, c.WebSockets, c.TCPConns, c.Err))
		}
	}
	return e
}
