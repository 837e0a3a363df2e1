package main

import (
	"fmt"
	"strings"
)

// bar is one of the performance bars of issue #7, with its verdict.
type bar struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Status   string `json:"status"` // PASS, FAIL, N/A (not measured), TODO or WITHDRAWN
}

// hybiModes are the hybi servers whose idle and load figures the bars
// weigh: the default and the opt-in conn/poll mode.
var hybiModes = []string{"hybi", "hybi-poll"}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func (r *results) bars() []bar {
	var bars []bar
	lib := func(c echoCell) string { return c.Lib }
	valid := func(c echoCell) (float64, bool) { return c.Rate, c.Err == "" && c.Rate > 0 }

	// Echo throughput at 256 connections: issue #7's bars. #15 withdrew
	// the 1.3× ones (the floor bounds them) and keeps their cells as the
	// guard (guard.go); they are still printed, with where the floor
	// stands, but weigh nothing.
	for _, sz := range []struct {
		size int
		min  float64
	}{{16, 1.3}, {1 << 10, 1.3}, {16 << 10, 1.3}, {1 << 20, 1.0}} {
		name := fmt.Sprintf("Echo msg/s at %s, 256 conns: ≥ %.1f× best peer", sizeName(sz.size), sz.min)
		withdrawn := sz.min > 1
		if withdrawn {
			name += " (issue #7's bar, withdrawn by #15: see the guard)"
		}
		cells := filter(r.Echo, func(c echoCell) bool { return c.Size == sz.size && c.Conns == 256 })
		h, okh := find(cells, func(c echoCell) bool { return c.Lib == "hybi" && c.Err == "" })
		best, who, okp := bestPeer(cells, lib, valid, true)
		if !okh || !okp {
			bars = append(bars, bar{name, "not measured", "N/A"})
			continue
		}
		q := h.Rate / best
		m := fmt.Sprintf("%.2f× (%s vs %s %s)", q, num(h.Rate), who, num(best))
		if bc, cw, ok := bestPeer(cells, lib, func(c echoCell) (float64, bool) { return c.CPUPerMsgUs, c.Err == "" && c.CPUPerMsgUs > 0 }, false); ok && h.CPUPerMsgUs > 0 {
			m += fmt.Sprintf("; server CPU/msg %.2f× the leanest peer (%.1f vs %s %.1f µs)", h.CPUPerMsgUs/bc, h.CPUPerMsgUs, cw, bc)
			if f, ok := find(cells, func(c echoCell) bool { return c.Lib == "floor" && c.Err == "" && c.Rate > 0 }); ok && f.CPUPerMsgUs > 0 {
				m += fmt.Sprintf("; the floor (one read and one write per echo, no checks) %.2f×, CPU/msg %.2f×", f.Rate/best, f.CPUPerMsgUs/bc)
			}
		}
		st := verdict(q >= sz.min)
		if withdrawn {
			st = "WITHDRAWN"
		}
		bars = append(bars, bar{name, m, st})
	}
	bars = append(bars, r.guardBar())

	// p99 in every echo cell, for hybi and, to show how much of it is
	// noise, for the floor.
	{
		p99s := func(who string) (pass, total int, worst float64, worstCell string, fails []string) {
			for _, size := range uniq(r.Echo, func(c echoCell) int { return c.Size }) {
				for _, n := range uniq(r.Echo, func(c echoCell) int { return c.Conns }) {
					cells := filter(r.Echo, func(c echoCell) bool { return c.Size == size && c.Conns == n })
					h, okh := find(cells, func(c echoCell) bool { return c.Lib == who && c.Err == "" && c.Rate > 0 })
					best, _, okp := bestPeer(cells, lib, func(c echoCell) (float64, bool) { return c.P99Ms, c.Err == "" && c.Rate > 0 }, false)
					if !okh || !okp {
						continue
					}
					total++
					q := h.P99Ms / best
					name := fmt.Sprintf("%s×%d", sizeName(size), n)
					if q <= 1 {
						pass++
					} else {
						fails = append(fails, fmt.Sprintf("%s %.2f×", name, q))
					}
					if q > worst {
						worst, worstCell = q, name
					}
				}
			}
			return
		}
		name := "Echo p99 no worse than best peer in any cell"
		pass, total, worst, worstCell, fails := p99s("hybi")
		if total == 0 {
			bars = append(bars, bar{name, "not measured", "N/A"})
		} else {
			m := fmt.Sprintf("%d of %d cells; worst %s at %.2f×", pass, total, worstCell, worst)
			if len(fails) > 0 {
				m += " (over: " + strings.Join(fails, ", ") + ")"
			}
			if fp, ft, fw, fwc, _ := p99s("floor"); ft > 0 {
				m += fmt.Sprintf("; the floor: %d of %d cells, worst %s at %.2f×", fp, ft, fwc, fw)
			}
			bars = append(bars, bar{name, m, verdict(pass == total)})
		}
	}

	// Idle bytes per connection: the default mode and conn/poll, the
	// opt-in mode the issue asks for when a goroutine per connection
	// keeps the default above the bar.
	{
		name := "Bytes per idle connection ≤ ¼ of gorilla's (RSS)"
		g, okg := find(r.Idle, func(c idleCell) bool { return c.Lib == "gorilla" && c.Err == "" })
		var parts []string
		pass := false
		for _, mode := range hybiModes {
			h, okh := find(r.Idle, func(c idleCell) bool { return c.Lib == mode && c.Err == "" })
			if !okh || !okg || g.RSSPerConn <= 0 {
				continue
			}
			q := h.RSSPerConn / g.RSSPerConn
			pass = pass || q <= 0.25
			parts = append(parts, fmt.Sprintf("%s %.2f× (%s B, heap %s B)", mode, q, num(h.RSSPerConn), num(h.HeapPerConn)))
		}
		if len(parts) == 0 {
			bars = append(bars, bar{name, "not measured", "N/A"})
		} else {
			bars = append(bars, bar{name, fmt.Sprintf("%s; gorilla %s B (heap %s B) at %s conns", strings.Join(parts, ", "),
				num(g.RSSPerConn), num(g.HeapPerConn), commas(int64(g.Conns))), verdict(pass)})
		}
	}

	// Compression.
	{
		h, okh := find(r.Deflate, func(c deflateCell) bool { return c.Lib == "hybi" })
		// hybi-nctx and hybi-poll are configured as the peers are (no
		// context takeover); the default keeps takeover, which costs its
		// 32 KiB window.
		nctx := filter(r.Deflate, func(c deflateCell) bool {
			return (c.Lib == "hybi-nctx" || c.Lib == "hybi-poll") && c.Err == ""
		})
		peers := filter(r.Deflate, func(c deflateCell) bool { return (c.Lib == "coder" || c.Lib == "gorilla") && c.Err == "" })
		n1 := "permessage-deflate msg/s above coder's and gorilla's"
		n2 := "permessage-deflate bytes per connection < ¼ of coder's and gorilla's"
		switch {
		case !okh || len(peers) == 0:
			bars = append(bars, bar{n1, "not measured", "N/A"}, bar{n2, "not measured", "N/A"})
		case h.Err != "":
			st := "FAIL"
			if strings.HasPrefix(h.Err, "TODO") {
				st = "TODO"
			}
			bars = append(bars, bar{n1, h.Err, st}, bar{n2, h.Err, st})
		default:
			ok1 := true
			var m1 []string
			for _, p := range peers {
				ok1 = ok1 && h.Rate > p.Rate
				m1 = append(m1, fmt.Sprintf("%.2f× %s", h.Rate/p.Rate, p.Lib))
			}
			mem := func(c deflateCell) (bool, string) {
				ok := true
				var m []string
				for _, p := range peers {
					ok = ok && c.RSSPerConn < p.RSSPerConn/4
					m = append(m, fmt.Sprintf("%.2f× %s (%s B)", c.RSSPerConn/p.RSSPerConn, p.Lib, num(p.RSSPerConn)))
				}
				return ok, fmt.Sprintf("%s B: %s", num(c.RSSPerConn), strings.Join(m, ", "))
			}
			ok2, m2 := mem(h)
			m2 = "hybi (context takeover) " + m2
			if len(nctx) > 0 {
				// Like for like: the peers run without context takeover.
				ok2 = false
				var ms []string
				for _, c := range nctx {
					ok, m := mem(c)
					ok2 = ok2 || ok
					ms = append(ms, c.Lib+" (no takeover, as the peers) "+m)
				}
				m2 = strings.Join(ms, "; ") + "; " + m2
			}
			bars = append(bars,
				bar{n1, fmt.Sprintf("%s msg/s: %s", num(h.Rate), strings.Join(m1, ", ")), verdict(ok1)},
				bar{n2, m2, verdict(ok2)})
		}
	}

	// 10K connections.
	{
		name := "10,000 connections under load: server RSS < 40 MB"
		var parts []string
		pass, measured, full := false, false, true
		for _, mode := range hybiModes {
			h, okh := find(r.Load, func(c loadCell) bool { return c.Lib == mode && c.Rate > 0 })
			if !okh {
				continue
			}
			measured = true
			full = full && h.Conns >= 10000
			pass = pass || h.RSSMB < 40
			parts = append(parts, fmt.Sprintf("%s %.1f MB (peak %.1f MB), p99 %.2f ms, %s msg/s", mode, h.RSSMB, h.HWMMB, h.P99Ms, num(h.Rate)))
			if h.Conns < 10000 {
				parts[len(parts)-1] += fmt.Sprintf(" at only %s conns", commas(int64(h.Conns)))
			}
		}
		switch {
		case !measured:
			bars = append(bars, bar{name, "not measured", "N/A"})
		case !full:
			bars = append(bars, bar{name, strings.Join(parts, "; "), "N/A"})
		default:
			bars = append(bars, bar{name, strings.Join(parts, "; "), verdict(pass)})
		}
		name = "Cold start to first echo < 50 ms"
		s, oks := find(r.Startup, func(c startCell) bool { return c.Lib == "hybi" && c.Err == "" && c.Samples > 0 })
		if oks {
			bars = append(bars, bar{name, fmt.Sprintf("%.1f ms (median of %d)", s.FirstEchoMs, s.Samples), verdict(s.FirstEchoMs < 50)})
		} else {
			bars = append(bars, bar{name, "not measured", "N/A"})
		}
	}
	bars = append(bars, r.singleBars()...)    // issue #15, bar 1 (single.go)
	bars = append(bars, r.pipelineBars()...)  // issue #15, bar 2 (pipeline.go)
	bars = append(bars, r.broadcastBars()...) // issue #15, bars 3 and 4 (broadcast.go)
	bars = append(bars, r.microBars()...)     // issue #15, bars 5 and 6 (micro.go)
	bars = append(bars, r.scaleBars()...)     // issue #15, bars 7 and 8 (scale.go)
	return bars
}

func (r *results) barsText() string {
	var b strings.Builder
	for _, br := range r.Bars {
		fmt.Fprintf(&b, "%-5s %s: %s\n", br.Status, br.Name, br.Measured)
	}
	return b.String()
}
