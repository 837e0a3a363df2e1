package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hybi-go/hybi/bench/servers"
)

type machineInfo struct {
	NProc     int    `json:"nproc"`
	CPU       string `json:"cpu"`
	GoVersion string `json:"go"`
	Kernel    string `json:"kernel"`
}

type libInfo struct {
	Name, Notes, DeflateMode string
}

type echoCell struct {
	Lib          string  `json:"lib"`
	Size         int     `json:"size"`
	Conns        int     `json:"conns"`
	Rate         float64 `json:"msgs_per_s"`
	MBps         float64 `json:"mb_per_s"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	CPUPerMsgUs  float64 `json:"server_cpu_us_per_msg"`
	AllocPerMsg  float64 `json:"server_alloc_bytes_per_msg"`
	ReadsPerMsg  float64 `json:"server_reads_per_msg"`
	WritesPerMsg float64 `json:"server_writes_per_msg"`
	Err          string  `json:"error,omitempty"`
}

type idleCell struct {
	Lib          string  `json:"lib"`
	Conns        int     `json:"conns"`
	RSSPerConn   float64 `json:"rss_bytes_per_conn"`
	HeapPerConn  float64 `json:"heap_bytes_per_conn"`
	StackPerConn float64 `json:"stack_bytes_per_conn"`
	Goroutines   int     `json:"goroutines"`
	ConnectSecs  float64 `json:"connect_s"`
	Err          string  `json:"error,omitempty"`
}

type loadCell struct {
	Lib        string  `json:"lib"`
	Conns      int     `json:"conns"`
	TargetRate float64 `json:"target_msgs_per_s"`
	Rate       float64 `json:"msgs_per_s"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	RSSMB      float64 `json:"rss_mb"`
	HWMMB      float64 `json:"peak_rss_mb"`
	HeapMB     float64 `json:"heap_mb"` // Go heap in use at the end
	Err        string  `json:"error,omitempty"`
}

type startCell struct {
	Lib         string  `json:"lib"`
	Samples     int     `json:"samples"`
	FirstEchoMs float64 `json:"first_echo_ms"`
	ListenMs    float64 `json:"listen_ms"`
	Err         string  `json:"error,omitempty"`
}

type deflateCell struct {
	Lib         string  `json:"lib"`
	Mode        string  `json:"mode"`
	Ratio       float64 `json:"client_compression_ratio"`
	Conns       int     `json:"conns"`
	Rate        float64 `json:"msgs_per_s"`
	MBps        float64 `json:"mb_per_s"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	CPUPerMsgUs float64 `json:"server_cpu_us_per_msg"`
	MemConns    int     `json:"mem_conns"`
	RSSPerConn  float64 `json:"rss_bytes_per_conn"`
	HeapPerConn float64 `json:"heap_bytes_per_conn"`
	// StackPerConn is the goroutine stack memory per connection.
	StackPerConn float64 `json:"stack_bytes_per_conn"`
	Err          string  `json:"error,omitempty"`
}

type results struct {
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Command string        `json:"command"`
	Machine machineInfo   `json:"machine"`
	Note    string        `json:"note,omitempty"`
	Quick   bool          `json:"quick"`
	Libs    []string      `json:"libs"`
	LibInfo []libInfo     `json:"lib_info"`
	Startup []startCell   `json:"startup"`
	Echo    []echoCell    `json:"echo"`
	Idle    []idleCell    `json:"idle"`
	Load    []loadCell    `json:"load"`
	Deflate []deflateCell `json:"deflate"`
	H2      []h2Cell      `json:"h2,omitempty"`
	H2Idle  []h2IdleCell  `json:"h2_idle,omitempty"`
	Scale   []scaleCell   `json:"scale,omitempty"`
	Micro   []microCell   `json:"micro,omitempty"`
	Bars    []bar         `json:"bars"`

	// EchoGuard holds the second runs of hybi and the floor in the
	// guard cells (guard.go).
	EchoGuard []echoCell   `json:"echo_guard,omitempty"`
	Single    []singleCell `json:"single,omitempty"`   // single.go
	Pipeline  []pipeCell   `json:"pipeline,omitempty"` // pipeline.go
	// Broadcast holds the broadcast and slowconsumer cells (broadcast.go).
	Broadcast []broadcastCell `json:"broadcast,omitempty"`
}

// bestPeer returns the best value among the peers (not hybi, not the floor), and
// which library it was; ok is false when no peer has a value.
func bestPeer[T any](cells []T, lib func(T) string, val func(T) (float64, bool), higher bool) (best float64, who string, ok bool) {
	for _, c := range cells {
		if !servers.IsPeer(lib(c)) {
			continue
		}
		v, valid := val(c)
		if !valid {
			continue
		}
		if !ok || (higher && v > best) || (!higher && v < best) {
			best, who, ok = v, lib(c), true
		}
	}
	return
}

func ratio(v, best float64) string {
	if best == 0 || math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v/best)
}

func num(v float64) string {
	switch {
	case v >= 100:
		return commas(int64(math.Round(v)))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

func (r *results) write(dir string) error {
	r.Bars = r.bars()
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), j, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.svg"), []byte(r.svg()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644)
}

func (r *results) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	p("# hybi benchmark matrix (%s)\n\n", mode)
	p("- Date: %s (took %v)\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	p("- Machine: %d CPUs, %s, Linux %s, %s\n", r.Machine.NProc, r.Machine.CPU, r.Machine.Kernel, r.Machine.GoVersion)
	p("- Command: `%s`\n", r.Command)
	if r.Note != "" {
		p("- Note: %s\n", r.Note)
	}
	p("- Servers run as child processes (`bench-server -lib NAME`); one load client (hand-written frames over net.Conn, gobwas/ws masking) drives them all over 127.0.0.0/8, on the same machine.\n")
	p("- Ratios (×) compare each figure with the best peer (gorilla, coder, gobwas, gws) measured in this run; for msg/s higher is better, for latency and memory lower is better.\n")
	p("- `floor` is not a library and not a peer: an echo server that does one read and one write per message and checks nothing (edge-triggered epoll, no goroutine per connection). No server does materially less per echo of a small message on this kernel, so its ratio bounds what hybi, or anyone, can reach in the echo scenario on this machine (not at 1 MiB, where it reads into plain growing buffers). `floor-netpoll`, in the guard cells only, does the same work with a goroutine per connection over Go's poller (two reads per echo, as every such server); it lands within the run's noise of the floor, so what separates a goroutine-per-connection server from the floor is its own work per message.\n\n")
	p("![chart](results.svg)\n\n")

	p("## Bars\n\n| Bar | Measured | Result |\n|---|---|---|\n")
	for _, br := range r.Bars {
		p("| %s | %s | **%s** |\n", br.Name, br.Measured, br.Status)
	}
	p("\n")

	p("## Servers\n\n| Library | Echo server | permessage-deflate |\n|---|---|---|\n")
	for _, l := range r.LibInfo {
		dm := l.DeflateMode
		if dm == "" {
			dm = "–"
		}
		p("| %s | %s | %s |\n", l.Name, l.Notes, dm)
	}
	p("\n")

	if len(r.Echo) > 0 {
		p("## Echo round trips\n\nClosed loop: every connection sends a binary message and waits for its echo. MB/s counts payload one way. Server CPU and allocation are per echoed message (from getrusage and runtime.MemStats of the server process). System calls are /proc/PID/io's syscr and syscw, the read(2) and write(2) families: they leave out recvfrom(2), hybi's look (MSG_PEEK) before a wait whose last first read found the socket empty, about one more per echo here.\n\n")
		for _, size := range uniq(r.Echo, func(c echoCell) int { return c.Size }) {
			p("### %s\n\n| Conns | Library | msg/s | × best peer | MB/s | p50 ms | p99 ms | p99 × best peer | server CPU µs/msg | server alloc B/msg | server syscalls/msg (read+write) |\n|---|---|---|---|---|---|---|---|---|---|---|\n", sizeName(size))
			for _, n := range uniq(r.Echo, func(c echoCell) int { return c.Conns }) {
				cells := filter(r.Echo, func(c echoCell) bool { return c.Size == size && c.Conns == n })
				bestR, _, _ := bestPeer(cells, func(c echoCell) string { return c.Lib }, func(c echoCell) (float64, bool) { return c.Rate, c.Err == "" && c.Rate > 0 }, true)
				bestP, _, _ := bestPeer(cells, func(c echoCell) string { return c.Lib }, func(c echoCell) (float64, bool) { return c.P99Ms, c.Err == "" && c.Rate > 0 }, false)
				for _, c := range cells {
					if c.Err != "" {
						p("| %d | %s | error: %s | | | | | | | | |\n", n, c.Lib, mdEscape(c.Err))
						continue
					}
					p("| %d | %s | %s | %s | %s | %.3f | %.3f | %s | %.1f | %s | %.2f + %.2f |\n", n, c.Lib, num(c.Rate), ratio(c.Rate, bestR), num(c.MBps),
						c.P50Ms, c.P99Ms, ratio(c.P99Ms, bestP), c.CPUPerMsgUs, num(c.AllocPerMsg), c.ReadsPerMsg, c.WritesPerMsg)
				}
			}
			p("\n")
		}
	}

	if len(r.Idle) > 0 {
		p("## Idle connections\n\nEach connection echoes one 16 B message, then stays open. Memory of the server process over its baseline (after a GC and returning free memory to the OS), per connection. The baseline is taken once %d connections have echoed and closed, so that what the first connections cost once (the code their serving touches, which VmRSS counts, and what is set up on first use) is not counted against each: 60-100 B per connection at 10,000, which moved from run to run.\n\n", idleWarmConns)
		p("| Library | Conns | RSS B/conn | × best peer | Go heap B/conn | × best peer | stack B/conn | goroutines/conn | connect + first echo |\n|---|---|---|---|---|---|---|---|---|\n")
		lib := func(c idleCell) string { return c.Lib }
		bR, _, _ := bestPeer(r.Idle, lib, func(c idleCell) (float64, bool) { return c.RSSPerConn, c.Err == "" }, false)
		bH, _, _ := bestPeer(r.Idle, lib, func(c idleCell) (float64, bool) { return c.HeapPerConn, c.Err == "" }, false)
		for _, c := range r.Idle {
			if c.Err != "" {
				p("| %s | %d | error: %s | | | | | | |\n", c.Lib, c.Conns, mdEscape(c.Err))
				continue
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %.2f | %.1f s |\n", c.Lib, commas(int64(c.Conns)), num(c.RSSPerConn), ratio(c.RSSPerConn, bR),
				num(c.HeapPerConn), ratio(c.HeapPerConn, bH), num(c.StackPerConn), float64(c.Goroutines)/float64(c.Conns), c.ConnectSecs)
		}
		p("\n")
	}

	if len(r.Load) > 0 {
		n := r.Load[0].Conns
		p("## %s connections under load\n\nEvery connection sends a 28 B text message at a steady total rate of %s msg/s and waits for its echo. The four figures of the \"Ktor 3 at 10K connections: 180 MB, p99 12 ms, 48,200 req/s, 0.8 s cold start\" table: server RSS at the end of the run, p99 latency, messages/s achieved, cold start to first echo (from the startup scenario).\n\n",
			commas(int64(n)), commas(int64(r.Load[0].TargetRate)))
		p("| Library | server RSS MB | × best peer | p99 ms | × best peer | msg/s | × best peer | cold start ms | × best peer | p50 ms | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		lib := func(c loadCell) string { return c.Lib }
		ok := func(c loadCell) bool { return c.Err == "" && c.Rate > 0 }
		bR, _, _ := bestPeer(r.Load, lib, func(c loadCell) (float64, bool) { return c.RSSMB, ok(c) }, false)
		bP, _, _ := bestPeer(r.Load, lib, func(c loadCell) (float64, bool) { return c.P99Ms, ok(c) }, false)
		bM, _, _ := bestPeer(r.Load, lib, func(c loadCell) (float64, bool) { return c.Rate, ok(c) }, true)
		bS, _, _ := bestPeer(r.Startup, func(c startCell) string { return c.Lib }, func(c startCell) (float64, bool) { return c.FirstEchoMs, c.Err == "" && c.Samples > 0 }, false)
		for _, c := range r.Load {
			cs, csr := "–", "–"
			if s, found := find(r.Startup, func(s startCell) bool { return s.Lib == c.Lib && s.Err == "" && s.Samples > 0 }); found {
				cs, csr = fmt.Sprintf("%.1f", s.FirstEchoMs), ratio(s.FirstEchoMs, bS)
			}
			if c.Err != "" && c.Rate == 0 {
				p("| %s | error: %s | | | | | | %s | %s | | |\n", c.Lib, mdEscape(c.Err), cs, csr)
				continue
			}
			p("| %s | %.1f | %s | %.2f | %s | %s | %s | %s | %s | %.2f | %.1f |\n", c.Lib, c.RSSMB, ratio(c.RSSMB, bR), c.P99Ms, ratio(c.P99Ms, bP),
				num(c.Rate), ratio(c.Rate, bM), cs, csr, c.P50Ms, c.HWMMB)
		}
		p("\n")
	}

	if len(r.Deflate) > 0 {
		p("## permessage-deflate\n\n16 KiB of JSON-like text (compresses %.1f:1), echoed compressed over %d connections; bytes per connection after each of %s connections echoed one such message (RSS and Go heap over baseline).\n\n",
			r.Deflate[0].Ratio, r.Deflate[0].Conns, commas(int64(r.Deflate[0].MemConns)))
		p("| Library | Mode | msg/s | × best peer | MB/s | p99 ms | server CPU µs/msg | RSS B/conn | × best peer | heap B/conn | × best peer |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		lib := func(c deflateCell) string { return c.Lib }
		ok := func(c deflateCell) bool { return c.Err == "" }
		bT, _, _ := bestPeer(r.Deflate, lib, func(c deflateCell) (float64, bool) { return c.Rate, ok(c) }, true)
		bR, _, _ := bestPeer(r.Deflate, lib, func(c deflateCell) (float64, bool) { return c.RSSPerConn, ok(c) }, false)
		bH, _, _ := bestPeer(r.Deflate, lib, func(c deflateCell) (float64, bool) { return c.HeapPerConn, ok(c) }, false)
		for _, c := range r.Deflate {
			if c.Err != "" {
				p("| %s | %s | %s | | | | | | | | |\n", c.Lib, c.Mode, mdEscape(c.Err))
				continue
			}
			p("| %s | %s | %s | %s | %s | %.2f | %.1f | %s | %s | %s | %s |\n", c.Lib, c.Mode, num(c.Rate), ratio(c.Rate, bT), num(c.MBps), c.P99Ms,
				c.CPUPerMsgUs, num(c.RSSPerConn), ratio(c.RSSPerConn, bR), num(c.HeapPerConn), ratio(c.HeapPerConn, bH))
		}
		p("\n")
	}

	r.singleMarkdown(p)
	r.pipelineMarkdown(p)
	r.h2Markdown(p)
	r.scaleMarkdown(p)
	r.microMarkdown(p)
	r.broadcastMarkdown(p)

	if len(r.Startup) > 0 {
		p("## Startup\n\nFrom exec of the server binary to the first echo on a fresh connection (median of %d); \"listening\" is when the server printed its address.\n\n", r.Startup[0].Samples)
		p("| Library | first echo ms | × best peer | listening ms |\n|---|---|---|---|\n")
		bS, _, _ := bestPeer(r.Startup, func(c startCell) string { return c.Lib }, func(c startCell) (float64, bool) { return c.FirstEchoMs, c.Err == "" && c.Samples > 0 }, false)
		for _, c := range r.Startup {
			if c.Err != "" {
				p("| %s | error: %s | | |\n", c.Lib, mdEscape(c.Err))
				continue
			}
			p("| %s | %.1f | %s | %.1f |\n", c.Lib, c.FirstEchoMs, ratio(c.FirstEchoMs, bS), c.ListenMs)
		}
		p("\n")
	}
	return b.String()
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

func uniq[T any](cells []T, key func(T) int) []int {
	var out []int
	seen := map[int]bool{}
	for _, c := range cells {
		if k := key(c); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	// Keep ascending order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func filter[T any](cells []T, keep func(T) bool) []T {
	var out []T
	for _, c := range cells {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func find[T any](cells []T, match func(T) bool) (T, bool) {
	for _, c := range cells {
		if match(c) {
			return c, true
		}
	}
	var zero T
	return zero, false
}

// errors lists the cells that failed to run (not bars that failed).
func (r *results) errors() []string {
	var e []string
	add := func(kind, lib, err string) {
		if err != "" && !strings.HasPrefix(err, "TODO") {
			e = append(e, kind+" "+lib+": "+err)
		}
	}
	for _, c := range r.Startup {
		add("startup", c.Lib, c.Err)
	}
	for _, c := range r.Echo {
		add(fmt.Sprintf("echo %s×%d", sizeName(c.Size), c.Conns), c.Lib, c.Err)
	}
	for _, c := range r.Idle {
		add("idle", c.Lib, c.Err)
	}
	for _, c := range r.Load {
		add("load", c.Lib, c.Err)
	}
	for _, c := range r.Deflate {
		add("deflate", c.Lib, c.Err)
	}
	e = append(e, r.singleErrors()...)
	e = append(e, r.pipelineErrors()...)
	e = append(e, r.broadcastErrors()...)
	return append(append(append(e, r.h2Errors()...), r.scaleErrors()...), r.microErrors()...)
}
