package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/hybi-go/hybi/bench/load"
)

// The pipeline scenario: every connection keeps a window of messages in
// flight (load.Pipelined), so that servers find several frames in one
// read. A server that answers every frame a read returned and sends the
// answers that are ready in one write pays a system call per burst rather
// than per message.

// pipeCell is one echo cell with its window.
type pipeCell struct {
	echoCell
	Window int `json:"window"`
	// RoundRates are the msg/s of every round of a cell measured more
	// than once (pipeRounds); the cell's figures are its fastest round's.
	RoundRates []float64 `json:"round_rates,omitempty"`
}

// pipePlan is what the scenario runs: sizes and connection counts (-sizes
// and -conns when given), windows.
func (c *config) pipePlan() (sizes, conns, windows []int) {
	sizes, conns, windows = []int{16, 1 << 10, 16 << 10}, []int{16, 256}, []int{16, 64}
	if c.quick {
		sizes, conns, windows = []int{16, 1 << 10}, []int{16}, []int{16}
	}
	if c.sizesSet {
		sizes = c.sizes
	}
	if c.connsSet {
		conns = c.conns
	}
	return sizes, conns, windows
}

// pipeRoundsFrom is the smallest message size whose cells are measured
// in pipeRounds rounds rather than one. At 16 KiB the kernel's copy of a
// write into the socket buffer (_copy_from_iter) sometimes takes a third
// of the sending process's CPU instead of under 1%, for seconds at a
// time, in whichever process is sending then: server or client, hybi or
// a peer (perf record -a, 2026-12-06: gws's 16 KiB x16 cell ranged from
// 65,588 to 105,851 msg/s over six runs, hybi's from 94,099 to 197,993).
// One run per cell made the bar a draw; each library's faster round
// counts instead, and the report lists both.
const (
	pipeRoundsFrom = 16 << 10
	pipeRounds     = 2
)

// runPipeline measures every cell with every library's server running
// throughout, in a rotated order from cell to cell, as runEcho does; a
// cell of pipeRounds rounds runs them again in the reverse order.
func runPipeline(ctx context.Context, c *config, res *results) {
	sizes, connCounts, windows := c.pipePlan()
	cc := *c
	cc.d, cc.warmup = max(c.d/2, 500*time.Millisecond), max(c.warmup/2, 100*time.Millisecond)
	libs := c.libsFor("pipeline")
	srv := map[string]*server{}
	for _, lib := range libs {
		s, err := startServer(ctx, c.bin, lib, false)
		if err != nil {
			log.Print(err)
			continue
		}
		defer s.stop()
		srv[lib] = s
	}
	got := map[string][]pipeCell{} // lib -> its cells, in cell order
	turn := 0
	for _, size := range sizes {
		msg := load.NewMessage(load.OpBinary, payload(size), false)
		for _, n := range connCounts {
			for _, w := range windows {
				order := rotate(libs, turn)
				turn++
				rounds := [][]string{order}
				if size >= pipeRoundsFrom && !c.quick {
					for range pipeRounds - 1 {
						order = slices.Clone(order)
						slices.Reverse(order)
						rounds = append(rounds, order)
					}
				}
				runs := map[string][]pipeCell{}
				for _, round := range rounds {
					for _, lib := range round {
						if ctx.Err() != nil {
							break
						}
						cell := pipeCell{echoCell{Lib: lib, Size: size, Conns: n}, w, nil}
						if s := srv[lib]; s == nil {
							cell.Err = "server did not start"
						} else {
							measureOne(ctx, &cc, s, msg, &cell.echoCell, fmt.Sprintf("pipeline-%s-%d-w%d", sizeName(size), n, w), func(conns []*load.Conn) load.Result {
								return load.Pipelined(conns, msg, w, cc.warmup, cc.d)
							})
						}
						log.Printf("pipeline %-8s %6s x%-3d w%-2d %10.0f msg/s p50 %7.3f ms p99 %7.3f ms cpu %5.2f us/msg %6.0f B/msg %.3f+%.3f syscalls/msg %s",
							lib, sizeName(size), n, w, cell.Rate, cell.P50Ms, cell.P99Ms, cell.CPUPerMsgUs, cell.AllocPerMsg, cell.ReadsPerMsg, cell.WritesPerMsg, cell.Err)
						runs[lib] = append(runs[lib], cell)
					}
				}
				for _, lib := range libs {
					if r := runs[lib]; len(r) > 0 {
						got[lib] = append(got[lib], fastestRound(r))
					}
				}
			}
		}
	}
	for _, lib := range libs {
		res.Pipeline = append(res.Pipeline, got[lib]...)
	}
}

// fastestRound is the run of runs (one library's rounds of one cell)
// with the most messages per second, with every round's rate in
// RoundRates when there was more than one. A round that failed counts
// only when all did.
func fastestRound(runs []pipeCell) pipeCell {
	best := runs[0]
	for _, r := range runs[1:] {
		if best.Err != "" || (r.Err == "" && r.Rate > best.Rate) {
			best = r
		}
	}
	if len(runs) > 1 {
		best.RoundRates = nil
		for _, r := range runs {
			best.RoundRates = append(best.RoundRates, r.Rate)
		}
	}
	return best
}

// pipelineBars: per size, in every cell, hybi at least 1.5× the best
// peer's msg/s or at most 0.67× its server CPU per message.
func (r *results) pipelineBars() []bar {
	var bars []bar
	lib := func(c pipeCell) string { return c.Lib }
	ok := func(c pipeCell) bool { return c.Err == "" && c.Rate > 0 }
	for _, size := range uniq(r.Pipeline, func(c pipeCell) int { return c.Size }) {
		name := fmt.Sprintf("Pipelined echo at %s: ≥ 1.5× the best peer's msg/s or ≤ 0.67× its server CPU/msg, in every cell", sizeName(size))
		var parts []string
		pass, measured := true, false
		for _, n := range uniq(r.Pipeline, func(c pipeCell) int { return c.Conns }) {
			for _, w := range uniq(r.Pipeline, func(c pipeCell) int { return c.Window }) {
				cells := filter(r.Pipeline, func(c pipeCell) bool { return c.Size == size && c.Conns == n && c.Window == w })
				h, okh := find(cells, func(c pipeCell) bool { return c.Lib == "hybi" && ok(c) })
				bR, wR, ok1 := bestPeer(cells, lib, func(c pipeCell) (float64, bool) { return c.Rate, ok(c) }, true)
				bC, wC, ok2 := bestPeer(cells, lib, func(c pipeCell) (float64, bool) { return c.CPUPerMsgUs, ok(c) && c.CPUPerMsgUs > 0 }, false)
				if !okh || !ok1 || !ok2 {
					continue
				}
				measured = true
				q, qc := h.Rate/bR, h.CPUPerMsgUs/bC
				pass = pass && (q >= 1.5 || qc <= 0.67)
				parts = append(parts, fmt.Sprintf("×%d w%d: msg/s %.2f× (%s vs %s %s), CPU/msg %.2f× (%.2f vs %s %.2f µs)", n, w, q, num(h.Rate), wR, num(bR), qc, h.CPUPerMsgUs, wC, bC))
			}
		}
		if !measured {
			bars = append(bars, bar{name, "not measured", "N/A"})
			continue
		}
		bars = append(bars, bar{name, strings.Join(parts, "; "), verdict(pass)})
	}
	return bars
}

func (r *results) pipelineMarkdown(p func(string, ...any)) {
	if len(r.Pipeline) == 0 {
		return
	}
	p("## Pipelined echo\n\nEvery connection keeps a window of W binary messages in flight: the client sends W, then as many as came back each time echoes arrive, in one write (a reader and a writer goroutine per connection). MB/s counts payload one way; latency is from a message's send to its echo. Server CPU, allocation and system calls are per echoed message. Cells of %s and more are measured in %d rounds, the libraries in reverse order the second time, and each library's fastest round counts (its other rounds' msg/s in brackets): at these sizes the kernel's copy into the socket buffer sometimes costs the sending process a third of its CPU for seconds at a time, whichever library is measured.\n\n", sizeName(pipeRoundsFrom), pipeRounds)
	lib := func(c pipeCell) string { return c.Lib }
	ok := func(c pipeCell) bool { return c.Err == "" && c.Rate > 0 }
	for _, size := range uniq(r.Pipeline, func(c pipeCell) int { return c.Size }) {
		p("### %s\n\n| Conns | W | Library | msg/s | × best peer | MB/s | p50 ms | p99 ms | server CPU µs/msg | × best peer | server alloc B/msg | server syscalls/msg (read+write) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", sizeName(size))
		for _, n := range uniq(r.Pipeline, func(c pipeCell) int { return c.Conns }) {
			for _, w := range uniq(r.Pipeline, func(c pipeCell) int { return c.Window }) {
				cells := filter(r.Pipeline, func(c pipeCell) bool { return c.Size == size && c.Conns == n && c.Window == w })
				bR, _, _ := bestPeer(cells, lib, func(c pipeCell) (float64, bool) { return c.Rate, ok(c) }, true)
				bC, _, _ := bestPeer(cells, lib, func(c pipeCell) (float64, bool) { return c.CPUPerMsgUs, ok(c) && c.CPUPerMsgUs > 0 }, false)
				for _, c := range cells {
					if !ok(c) {
						p("| %d | %d | %s | error: %s | | | | | | | | |\n", n, w, c.Lib, mdEscape(c.Err))
						continue
					}
					p("| %d | %d | %s | %s%s | %s | %s | %.3f | %.3f | %.2f | %s | %s | %.3f + %.3f |\n", n, w, c.Lib, num(c.Rate), otherRounds(c), ratio(c.Rate, bR), num(c.MBps),
						c.P50Ms, c.P99Ms, c.CPUPerMsgUs, ratio(c.CPUPerMsgUs, bC), num(c.AllocPerMsg), c.ReadsPerMsg, c.WritesPerMsg)
				}
			}
		}
		p("\n")
	}
}

// otherRounds is " (r1, r2)", the msg/s of a cell's rounds other than
// the fastest, or "" for a cell measured once.
func otherRounds(c pipeCell) string {
	var rest []string
	skipped := false
	for _, r := range c.RoundRates {
		if r == c.Rate && !skipped {
			skipped = true
			continue
		}
		rest = append(rest, num(r))
	}
	if len(rest) == 0 {
		return ""
	}
	return " (" + strings.Join(rest, ", ") + ")"
}

func (r *results) pipelineErrors() []string {
	var e []string
	for _, c := range r.Pipeline {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("pipeline %s×%d w%d %s: %s", sizeName(c.Size), c.Conns, c.Window, c.Lib, c.Err))
		}
	}
	return e
}
