package main

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// panel is one grouped bar chart: a bar per library in every group.
type panel struct {
	title  string
	groups []string
	vals   [][]float64 // [group][lib]; NaN where not measured
	// shared puts every group on one scale (ratios); otherwise each group
	// is scaled to its own largest value and bars are labelled.
	shared bool
	refs   []float64
	format func(float64) string
}

var libColors = map[string]string{
	"hybi": "#d62728", "hybi-poll": "#8c564b", "hybi-nctx": "#e377c2",
	"gorilla": "#1f77b4", "coder": "#2ca02c", "gobwas": "#9467bd", "gws": "#ff7f0e",
	"floor": "#c7c7c7",
}

func colorOf(lib string, i int) string {
	if c, ok := libColors[lib]; ok {
		return c
	}
	return []string{"#8c564b", "#e377c2", "#7f7f7f"}[i%3]
}

func (r *results) panels() []panel {
	var ps []panel
	nan := math.NaN()
	libIdx := map[string]int{}
	for i, l := range r.Libs {
		libIdx[l] = i
	}
	row := func() []float64 {
		v := make([]float64, len(r.Libs))
		for i := range v {
			v[i] = nan
		}
		return v
	}
	if len(r.Echo) > 0 {
		rate := panel{title: "Echo msg/s ÷ best peer (higher is better; lines at 1.0 and 1.3)", shared: true, refs: []float64{1, 1.3}, format: func(v float64) string { return fmt.Sprintf("%.2f", v) }}
		p99 := panel{title: "Echo p99 latency ÷ best peer (lower is better)", shared: true, refs: []float64{1}, format: rate.format}
		for _, size := range uniq(r.Echo, func(c echoCell) int { return c.Size }) {
			for _, n := range uniq(r.Echo, func(c echoCell) int { return c.Conns }) {
				cells := filter(r.Echo, func(c echoCell) bool { return c.Size == size && c.Conns == n })
				bR, _, ok1 := bestPeer(cells, func(c echoCell) string { return c.Lib }, func(c echoCell) (float64, bool) { return c.Rate, c.Err == "" && c.Rate > 0 }, true)
				bP, _, ok2 := bestPeer(cells, func(c echoCell) string { return c.Lib }, func(c echoCell) (float64, bool) { return c.P99Ms, c.Err == "" && c.Rate > 0 }, false)
				vr, vp := row(), row()
				for _, c := range cells {
					if c.Err != "" || c.Rate == 0 {
						continue
					}
					if ok1 {
						vr[libIdx[c.Lib]] = c.Rate / bR
					}
					if ok2 {
						vp[libIdx[c.Lib]] = c.P99Ms / bP
					}
				}
				g := fmt.Sprintf("%s ×%d", sizeName(size), n)
				rate.groups, rate.vals = append(rate.groups, g), append(rate.vals, vr)
				p99.groups, p99.vals = append(p99.groups, g), append(p99.vals, vp)
			}
		}
		ps = append(ps, rate, p99)
	}
	if len(r.Idle) > 0 || len(r.Deflate) > 0 {
		mem := panel{title: "Bytes per connection, server process over baseline (lower is better)", format: func(v float64) string {
			if v >= 10240 {
				return fmt.Sprintf("%.0fK", v/1024)
			}
			return fmt.Sprintf("%.0f", v)
		}}
		if len(r.Idle) > 0 {
			a, b := row(), row()
			for _, c := range r.Idle {
				if c.Err == "" {
					a[libIdx[c.Lib]], b[libIdx[c.Lib]] = c.RSSPerConn, c.HeapPerConn
				}
			}
			n := commas(int64(r.Idle[0].Conns))
			mem.groups = append(mem.groups, "idle RSS ("+n+")", "idle Go heap ("+n+")")
			mem.vals = append(mem.vals, a, b)
		}
		if len(r.Deflate) > 0 {
			a, b := row(), row()
			for _, c := range r.Deflate {
				if c.Err == "" {
					a[libIdx[c.Lib]], b[libIdx[c.Lib]] = c.RSSPerConn, c.HeapPerConn
				}
			}
			n := commas(int64(r.Deflate[0].MemConns))
			mem.groups = append(mem.groups, "deflate RSS ("+n+")", "deflate heap ("+n+")")
			mem.vals = append(mem.vals, a, b)
		}
		ps = append(ps, mem)
	}
	if len(r.Load) > 0 || len(r.Startup) > 0 || len(r.Deflate) > 0 {
		k := panel{title: "Under load, startup and compression (each group on its own scale)", format: func(v float64) string {
			if v >= 100 {
				return fmt.Sprintf("%.0f", v)
			}
			return fmt.Sprintf("%.1f", v)
		}}
		if len(r.Load) > 0 {
			rss, p99, rate := row(), row(), row()
			for _, c := range r.Load {
				if c.Rate > 0 {
					rss[libIdx[c.Lib]], p99[libIdx[c.Lib]], rate[libIdx[c.Lib]] = c.RSSMB, c.P99Ms, c.Rate/1000
				}
			}
			n := commas(int64(r.Load[0].Conns))
			k.groups = append(k.groups, n+": RSS MB", n+": p99 ms", n+": kmsg/s")
			k.vals = append(k.vals, rss, p99, rate)
		}
		if len(r.Startup) > 0 {
			st := row()
			for _, c := range r.Startup {
				if c.Err == "" && c.Samples > 0 {
					st[libIdx[c.Lib]] = c.FirstEchoMs
				}
			}
			k.groups, k.vals = append(k.groups, "cold start ms"), append(k.vals, st)
		}
		if len(r.Deflate) > 0 {
			d := row()
			for _, c := range r.Deflate {
				if c.Err == "" {
					d[libIdx[c.Lib]] = c.Rate / 1000
				}
			}
			k.groups, k.vals = append(k.groups, "deflate kmsg/s"), append(k.vals, d)
		}
		ps = append(ps, k)
	}
	return ps
}

func (r *results) svg() string {
	const (
		width  = 1100
		left   = 50
		right  = 20
		plotH  = 170
		room   = 32 // above the plot, for the labels of the tallest bars
		panelH = 270
		top    = 82
	)
	ps := r.panels()
	height := top + len(ps)*panelH + 10
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%d" y="20" font-size="15" font-weight="bold">hybi benchmark matrix — %s</text>`+"\n", left, html.EscapeString(r.Started.UTC().Format(time.DateTime+" MST")))
	p(`<text x="%d" y="36" fill="#444">%s</text>`+"\n", left, html.EscapeString(fmt.Sprintf("%d CPUs, %s, Linux %s, %s", r.Machine.NProc, r.Machine.CPU, r.Machine.Kernel, r.Machine.GoVersion)))
	cmd := r.Command
	if len(cmd) > 180 {
		cmd = cmd[:180] + "…"
	}
	p(`<text x="%d" y="50" fill="#444">%s</text>`+"\n", left, html.EscapeString(cmd))
	for i, l := range r.Libs {
		x := left + i*110
		p(`<rect x="%d" y="58" width="12" height="12" fill="%s"/><text x="%d" y="68">%s</text>`+"\n", x, colorOf(l, i), x+16, html.EscapeString(l))
	}
	for pi, pn := range ps {
		y0 := top + pi*panelH
		p(`<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", left, y0+14, html.EscapeString(pn.title))
		base := y0 + 20 + room + plotH
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>`+"\n", left, base, width-right, base)
		if len(pn.groups) == 0 {
			continue
		}
		groupW := float64(width-left-right) / float64(len(pn.groups))
		barW := math.Min(22, (groupW-8)/float64(len(r.Libs)))
		sharedMax := 0.0
		if pn.shared {
			for _, g := range pn.vals {
				for _, v := range g {
					if !math.IsNaN(v) {
						sharedMax = math.Max(sharedMax, v)
					}
				}
			}
			for _, ref := range pn.refs {
				sharedMax = math.Max(sharedMax, ref*1.15)
			}
			sharedMax = math.Min(sharedMax, 3) // clip outliers; labels give the value
			for _, ref := range pn.refs {
				y := float64(base) - ref/sharedMax*plotH
				p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888" stroke-dasharray="4,3"/><text x="%d" y="%.1f" text-anchor="end" fill="#666">%.1f</text>`+"\n",
					left, y, width-right, y, left-4, y+4, ref)
			}
		}
		for gi, g := range pn.vals {
			max := sharedMax
			if !pn.shared {
				for _, v := range g {
					if !math.IsNaN(v) {
						max = math.Max(max, v)
					}
				}
			}
			gx := float64(left) + float64(gi)*groupW
			inner := barW * float64(len(r.Libs))
			x0 := gx + (groupW-inner)/2
			for li, v := range g {
				x := x0 + float64(li)*barW
				if math.IsNaN(v) || max <= 0 {
					p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#999" font-size="9">–</text>`+"\n", x+barW/2, base-3)
					continue
				}
				clipped := v > max
				h := math.Min(v/max, 1) * plotH
				p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`+"\n",
					x+1, float64(base)-h, barW-2, h, colorOf(r.Libs[li], li), html.EscapeString(r.Libs[li]), pn.format(v))
				// The value reads upwards from the top of the bar, or downwards
				// inside it, in white, when the bar is clipped.
				ly, anchor, fill := float64(base)-h-3, "start", "#000"
				if clipped {
					ly, anchor, fill = float64(base)-h+3, "end", "#fff"
					p(`<path d="M%.1f %.1f l%.1f -6 l%.1f 6 z" fill="%s"/>`+"\n", x+1, float64(base)-h, (barW-2)/2, (barW-2)/2, colorOf(r.Libs[li], li))
				}
				p(`<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-size="8" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
					x+barW/2+3, ly, anchor, fill, x+barW/2+3, ly, pn.format(v))
			}
			p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx+groupW/2, base+14, html.EscapeString(pn.groups[gi]))
		}
	}
	p("</svg>\n")
	return b.String()
}
