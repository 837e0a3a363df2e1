package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/hybi-go/hybi/bench/load"
)

// The single scenario: closed-loop echo over one connection, what an
// RPC-over-WebSocket or a trading client sees. One connection's round
// trip swings with the machine's state (a wake-up from an idle poller is
// slow, a busy one spins), so each cell is repeated and the median kept,
// the libraries taking turns within each repeat so that they share the
// machine's moods.

// singleSizes are the message sizes of the single scenario.
var singleSizes = []int{16, 1 << 10, 16 << 10}

// singleCell is one library and size: the median of each figure over
// the repeats, and the spread of msg/s.
type singleCell struct {
	echoCell
	Repeats int     `json:"repeats"`
	RateMin float64 `json:"msgs_per_s_min"`
	RateMax float64 `json:"msgs_per_s_max"`
}

// singleTiming is the measurement time and warmup of one repeat: half
// an echo cell's, as there are five of them.
func (c *config) singleTiming() *config {
	cc := *c
	cc.d, cc.warmup = max(c.d/2, 500*time.Millisecond), max(c.warmup/2, 100*time.Millisecond)
	return &cc
}

func runSingle(ctx context.Context, c *config, res *results) {
	repeats := 5
	if c.quick {
		repeats = 3
	}
	libs := c.libsFor("single")
	srv := map[string]*server{}
	for _, lib := range libs {
		s, err := startServer(ctx, c.bin, lib, false)
		if err != nil {
			log.Print(err)
			for _, size := range singleSizes {
				res.Single = append(res.Single, singleCell{echoCell: echoCell{Lib: lib, Size: size, Conns: 1, Err: err.Error()}})
			}
			continue
		}
		defer s.stop()
		srv[lib] = s
	}
	cc := c.singleTiming()
	runs := map[string][]echoCell{} // lib/size -> repeats
	key := func(lib string, size int) string { return fmt.Sprintf("%s/%d", lib, size) }
	for rep := range repeats {
		for _, size := range singleSizes {
			msg := load.NewMessage(load.OpBinary, payload(size), false)
			for i := range libs {
				lib := libs[(i+rep)%len(libs)] // a different order each repeat
				s := srv[lib]
				if s == nil || ctx.Err() != nil {
					continue
				}
				cell := echoCell{Lib: lib, Size: size, Conns: 1}
				measureOne(ctx, cc, s, msg, &cell, fmt.Sprintf("single-%s-r%d", sizeName(size), rep), func(conns []*load.Conn) load.Result {
					return load.Echo(conns, msg, cc.warmup, cc.d)
				})
				log.Printf("single %-8s %6s repeat %d: %8.0f msg/s p50 %6.3f ms cpu %5.1f us/msg %.2f+%.2f syscalls/msg %s",
					lib, sizeName(size), rep+1, cell.Rate, cell.P50Ms, cell.CPUPerMsgUs, cell.ReadsPerMsg, cell.WritesPerMsg, cell.Err)
				runs[key(lib, size)] = append(runs[key(lib, size)], cell)
			}
		}
	}
	for _, lib := range libs {
		if srv[lib] == nil {
			continue
		}
		for _, size := range singleSizes {
			res.Single = append(res.Single, medianCell(runs[key(lib, size)], lib, size))
		}
	}
}

// medianCell takes the median of each figure of the runs without error.
func medianCell(runs []echoCell, lib string, size int) singleCell {
	out := singleCell{echoCell: echoCell{Lib: lib, Size: size, Conns: 1}}
	var ok []echoCell
	for _, r := range runs {
		if r.Err != "" {
			out.Err = r.Err
			continue
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		if out.Err == "" {
			out.Err = "not run"
		}
		return out
	}
	out.Err = ""
	med := func(f func(echoCell) float64) float64 {
		v := make([]float64, len(ok))
		for i, r := range ok {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	out.Repeats = len(ok)
	out.Rate = med(func(c echoCell) float64 { return c.Rate })
	out.MBps = med(func(c echoCell) float64 { return c.MBps })
	out.P50Ms = med(func(c echoCell) float64 { return c.P50Ms })
	out.P99Ms = med(func(c echoCell) float64 { return c.P99Ms })
	out.CPUPerMsgUs = med(func(c echoCell) float64 { return c.CPUPerMsgUs })
	out.AllocPerMsg = med(func(c echoCell) float64 { return c.AllocPerMsg })
	out.ReadsPerMsg = med(func(c echoCell) float64 { return c.ReadsPerMsg })
	out.WritesPerMsg = med(func(c echoCell) float64 { return c.WritesPerMsg })
	out.RateMin, out.RateMax = ok[0].Rate, ok[0].Rate
	for _, r := range ok {
		out.RateMin, out.RateMax = min(out.RateMin, r.Rate), max(out.RateMax, r.Rate)
	}
	return out
}

// singleBars: at each size, the medians of msg/s, p50 and server CPU per
// echo no worse than the best peer's.
func (r *results) singleBars() []bar {
	var bars []bar
	lib := func(c singleCell) string { return c.Lib }
	for _, size := range singleSizes {
		name := fmt.Sprintf("One connection at %s (median of repeats): msg/s, p50 and server CPU/echo no worse than the best peer", sizeName(size))
		cells := filter(r.Single, func(c singleCell) bool { return c.Size == size })
		h, okh := find(cells, func(c singleCell) bool { return c.Lib == "hybi" && c.Err == "" })
		valid := func(v func(singleCell) float64) func(singleCell) (float64, bool) {
			return func(c singleCell) (float64, bool) { return v(c), c.Err == "" && c.Rate > 0 }
		}
		bR, wR, ok1 := bestPeer(cells, lib, valid(func(c singleCell) float64 { return c.Rate }), true)
		bP, wP, ok2 := bestPeer(cells, lib, valid(func(c singleCell) float64 { return c.P50Ms }), false)
		bC, wC, ok3 := bestPeer(cells, lib, valid(func(c singleCell) float64 { return c.CPUPerMsgUs }), false)
		if !okh || !ok1 || !ok2 || !ok3 {
			bars = append(bars, bar{name, "not measured", "N/A"})
			continue
		}
		pass := h.Rate >= bR && h.P50Ms <= bP && h.CPUPerMsgUs <= bC
		m := fmt.Sprintf("msg/s %.2f× (%s vs %s %s); p50 %.2f× (%.3f vs %s %.3f ms); CPU/echo %.2f× (%.1f vs %s %.1f µs); %d repeats",
			h.Rate/bR, num(h.Rate), wR, num(bR), h.P50Ms/bP, h.P50Ms, wP, bP, h.CPUPerMsgUs/bC, h.CPUPerMsgUs, wC, bC, h.Repeats)
		// The floor does the least any server can per echo: where it
		// lands against the peers shows how much of the cell is the
		// machine's rather than a library's.
		if f, ok := find(cells, func(c singleCell) bool { return c.Lib == "floor" && c.Err == "" && c.Rate > 0 }); ok {
			m += fmt.Sprintf("; the floor: msg/s %.2f×, p50 %.2f×, CPU/echo %.2f×", f.Rate/bR, f.P50Ms/bP, f.CPUPerMsgUs/bC)
		}
		// hybi's other spin settings (Options.ReadSpin), when run: what
		// the default's spin while alone is worth.
		for _, v := range []struct{ lib, what string }{
			{"hybi-nospin", "ReadSpin -1, never spins"},
			{"hybi-spin", "ReadSpin 50 µs before every wait"},
		} {
			if sp, ok := find(cells, func(c singleCell) bool { return c.Lib == v.lib && c.Err == "" && c.Rate > 0 }); ok {
				m += fmt.Sprintf("; %s (%s): msg/s %.2f×, p50 %.2f×, CPU/echo %.2f×", v.lib, v.what, sp.Rate/bR, sp.P50Ms/bP, sp.CPUPerMsgUs/bC)
			}
		}
		bars = append(bars, bar{name, m, verdict(pass)})
	}
	return bars
}

func (r *results) singleMarkdown(p func(string, ...any)) {
	if len(r.Single) == 0 {
		return
	}
	p("## One connection\n\nClosed-loop echo over a single connection, repeated (the libraries take turns within each repeat); each figure is the median of the repeats, and msg/s is shown with its range. Server CPU and system calls are per echoed message.\n\n")
	p("| Size | Library | msg/s | × best peer | range | p50 ms | × best peer | p99 ms | server CPU µs/msg | × best peer | server syscalls/msg (read+write) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	lib := func(c singleCell) string { return c.Lib }
	for _, size := range uniq(r.Single, func(c singleCell) int { return c.Size }) {
		cells := filter(r.Single, func(c singleCell) bool { return c.Size == size })
		ok := func(c singleCell) bool { return c.Err == "" && c.Rate > 0 }
		bR, _, _ := bestPeer(cells, lib, func(c singleCell) (float64, bool) { return c.Rate, ok(c) }, true)
		bP, _, _ := bestPeer(cells, lib, func(c singleCell) (float64, bool) { return c.P50Ms, ok(c) }, false)
		bC, _, _ := bestPeer(cells, lib, func(c singleCell) (float64, bool) { return c.CPUPerMsgUs, ok(c) }, false)
		for _, c := range cells {
			if !ok(c) {
				p("| %s | %s | error: %s | | | | | | | | |\n", sizeName(size), c.Lib, mdEscape(c.Err))
				continue
			}
			p("| %s | %s | %s | %s | %s–%s | %.3f | %s | %.3f | %.1f | %s | %.2f + %.2f |\n", sizeName(size), c.Lib, num(c.Rate), ratio(c.Rate, bR),
				num(c.RateMin), num(c.RateMax), c.P50Ms, ratio(c.P50Ms, bP), c.P99Ms, c.CPUPerMsgUs, ratio(c.CPUPerMsgUs, bC), c.ReadsPerMsg, c.WritesPerMsg)
		}
	}
	p("\n")
}

func (r *results) singleErrors() []string {
	var e []string
	for _, c := range r.Single {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("single %s %s: %s", sizeName(c.Size), c.Lib, c.Err))
		}
	}
	return e
}
