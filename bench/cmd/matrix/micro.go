package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"slices"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/bench/micro"
)

// The micro scenario measures the two passes a library makes over every
// payload, masking and UTF-8 validation, with testing.Benchmark in this
// process (bench/micro's kernels): hybi's frame.Mask beside copy (the
// floor of a pass over memory) and gobwas's ws.Cipher, and hybi's
// incremental frame.UTF8 beside the standard library's one-shot
// utf8.Valid and the read floor (bench/micro.ReadFloor). The machine is
// shared, so the kernels of a cell take turns, round after round, and
// each figure is the fastest of its rounds: other jobs can only slow a
// round down, so the fastest is the one they disturbed least, for every
// kernel alike. The median is kept beside it.

// microCell is the throughput of one kernel on one payload.
type microCell struct {
	Op     string  `json:"op"`        // mask, utf8-ascii or utf8-multibyte
	Size   int     `json:"size"`      // nominal
	Bytes  int     `json:"bytes"`     // validated text is cut back to a whole rune
	Kernel string  `json:"kernel"`    // hybi, copy, gobwas, utf8.Valid
	NsOp   float64 `json:"ns_per_op"` // the fastest round
	GBps   float64 `json:"gb_per_s"`  // of the fastest round
	Median float64 `json:"median_ns_per_op"`
	Allocs int64   `json:"allocs_per_op"`
	Rounds int     `json:"rounds"`
	Err    string  `json:"error,omitempty"`
}

// The bars of issue #15 for the micro scenario: masking against copy at
// each size, UTF-8 against utf8.Valid on each kind of text at the sizes
// where a message's validation, not a call, is what costs.
var (
	maskBar      = map[int]float64{128: 0.5, 1 << 10: 0.5, 16 << 10: 1, 1 << 20: 1}
	utf8Bar      = map[string]float64{"utf8-ascii": 2, "utf8-multibyte": 1}
	utf8BarSizes = []int{1 << 10, 16 << 10, 1 << 20}
)

func runMicro(ctx context.Context, c *config, res *results) {
	testing.Init()
	benchtime, rounds := "100ms", 7
	if c.quick {
		benchtime, rounds = "30ms", 1
	}
	if err := flag.Set("test.benchtime", benchtime); err != nil {
		log.Print(err)
	}
	type group struct {
		op      string
		kernels []micro.Kernel
		data    func(n int) []byte
	}
	groups := []group{{"mask", micro.MaskKernels, micro.Payload}}
	for _, kind := range micro.Texts {
		groups = append(groups, group{"utf8-" + kind, micro.UTF8Kernels, func(n int) []byte { return micro.Text(kind, n) }})
	}
	for _, g := range groups {
		for _, sz := range micro.Sizes {
			size := sz.N
			ns := make([][]float64, len(g.kernels))
			cells := make([]microCell, len(g.kernels))
			for i, k := range g.kernels {
				cells[i] = microCell{Op: g.op, Size: size, Kernel: k.Name}
			}
			for range rounds {
				for i, k := range g.kernels {
					if ctx.Err() != nil {
						cells[i].Err = "out of time"
						continue
					}
					data := g.data(size)
					r := testing.Benchmark(k.Bench(data))
					if r.N == 0 {
						cells[i].Err = "benchmark failed"
						continue
					}
					ns[i] = append(ns[i], float64(r.T.Nanoseconds())/float64(r.N))
					cells[i].Allocs = r.AllocsPerOp()
					cells[i].Bytes = len(data)
				}
			}
			for i := range cells {
				if len(ns[i]) == 0 {
					continue
				}
				slices.Sort(ns[i])
				cells[i].NsOp, cells[i].Median = ns[i][0], ns[i][len(ns[i])/2]
				cells[i].Rounds = len(ns[i])
				cells[i].GBps = float64(cells[i].Bytes) / cells[i].NsOp
				log.Printf("micro %-14s %6s %-10s %10.2f ns/op %8.2f GB/s (median %.2f ns/op) %s", g.op, sizeName(size), cells[i].Kernel, cells[i].NsOp, cells[i].GBps, cells[i].Median, cells[i].Err)
			}
			res.Micro = append(res.Micro, cells...)
		}
	}
}

// microRef is the kernel an op's ratios are taken against.
func microRef(op string) string {
	if op == "mask" {
		return "copy"
	}
	return "utf8.Valid"
}

// microRatio is the throughput of kernel over the reference's on the same
// op and size.
func (r *results) microRatio(op string, size int, kernel string) (float64, bool) {
	var k, ref microCell
	var okk, okr bool
	for _, c := range r.Micro {
		if c.Op != op || c.Err != "" || c.GBps <= 0 || c.Size != size {
			continue
		}
		switch c.Kernel {
		case kernel:
			k, okk = c, true
		case microRef(op):
			ref, okr = c, true
		}
	}
	if !okk || !okr {
		return 0, false
	}
	return k.GBps / ref.GBps, true
}

func (r *results) microBars() []bar {
	var bars []bar
	sizes := func(m map[int]float64) []int {
		var s []int
		for n := range m {
			s = append(s, n)
		}
		slices.Sort(s)
		return s
	}
	{
		name := "Masking: ≥ 0.5× copy's throughput at 128 B and 1 KiB, ≥ 1× at 16 KiB and 1 MiB"
		var parts, peer []string
		pass, measured := true, 0
		for _, n := range sizes(maskBar) {
			q, ok := r.microRatio("mask", n, "hybi")
			if !ok {
				continue
			}
			measured++
			pass = pass && q >= maskBar[n]
			parts = append(parts, fmt.Sprintf("%s %.2f×", sizeName(n), q))
			if g, ok := r.microRatio("mask", n, "gobwas"); ok {
				peer = append(peer, fmt.Sprintf("%s %.2f×", sizeName(n), g))
			}
		}
		if measured < len(maskBar) {
			bars = append(bars, bar{name, "not measured", "N/A"})
		} else {
			bars = append(bars, bar{name, fmt.Sprintf("hybi %s; gobwas ws.Cipher %s (of copy, same run)",
				strings.Join(parts, ", "), strings.Join(peer, ", ")), verdict(pass)})
		}
	}
	{
		name := "UTF-8: ≥ 2× utf8.Valid on ASCII text, ≥ 1× on multibyte text (1 KiB to 1 MiB)"
		var parts, small []string
		pass, measured := true, 0
		for _, op := range []string{"utf8-ascii", "utf8-multibyte"} {
			var ps []string
			for _, sz := range micro.Sizes {
				n := sz.N
				q, ok := r.microRatio(op, n, "hybi")
				if !ok {
					continue
				}
				if slices.Contains(utf8BarSizes, n) {
					measured++
					pass = pass && q >= utf8Bar[op]
					ps = append(ps, fmt.Sprintf("%s %.2f×", sizeName(n), q))
				} else {
					small = append(small, fmt.Sprintf("%s %s %.2f×", strings.TrimPrefix(op, "utf8-"), sizeName(n), q))
				}
			}
			parts = append(parts, strings.TrimPrefix(op, "utf8-")+" "+strings.Join(ps, ", "))
		}
		m := strings.Join(parts, "; ")
		if len(small) > 0 {
			m += " (outside the bar: " + strings.Join(small, ", ") + ")"
		}
		// The read floor loads every byte and checks nothing: a ratio
		// of its own near the bar's says the bar is at the memory's
		// speed there, whatever a validator does.
		var floor []string
		for _, n := range utf8BarSizes {
			if q, ok := r.microRatio("utf8-ascii", n, micro.ReadFloor); ok {
				floor = append(floor, fmt.Sprintf("%s %.2f×", sizeName(n), q))
			}
		}
		if len(floor) > 0 {
			m += "; the read floor on ASCII: " + strings.Join(floor, ", ")
		}
		if measured < 2*len(utf8BarSizes) {
			bars = append(bars, bar{name, "not measured", "N/A"})
		} else {
			bars = append(bars, bar{name, m, verdict(pass)})
		}
	}
	return bars
}

// microMarkdown renders the micro scenario.
func (r *results) microMarkdown(p func(string, ...any)) {
	if len(r.Micro) == 0 {
		return
	}
	p("## Masking and UTF-8 validation\n\n")
	p("Micro-benchmarks in the matrix's process (testing.Benchmark over bench/micro's kernels; `cd bench && go test -bench . -benchmem ./micro` runs the same): masking in place with hybi's `frame.Mask` and gobwas's `ws.Cipher` beside `copy` into a second buffer, the floor of a pass over memory; validating text with hybi's incremental `frame.UTF8` (one Write, then Done) beside the standard library's one-shot `utf8.Valid` and the read floor, which loads every byte once (256 bytes an iteration with AVX2) and checks nothing: no validator can be faster, so where hybi runs at the floor's speed, its ratio is the memory's. The kernels of a cell take turns for %d rounds; each figure is the fastest round (other jobs on the machine only slow rounds down), with the median beside it. GB/s counts payload bytes.\n\n", r.Micro[0].Rounds)
	p("| Pass | Size | Kernel | ns/op | GB/s | × %s | median ns/op | allocs/op |\n|---|---|---|---|---|---|---|---|\n", "copy or utf8.Valid")
	for _, c := range r.Micro {
		if c.Err != "" {
			p("| %s | %s | %s | error: %s | | | | |\n", c.Op, sizeName(c.Size), c.Kernel, mdEscape(c.Err))
			continue
		}
		p("| %s | %s | %s | %.2f | %.2f | %s | %.2f | %d |\n", c.Op, sizeName(c.Size), c.Kernel, c.NsOp, c.GBps, r.microRatioText(c), c.Median, c.Allocs)
	}
	p("\n")
}

// microRatioText is c's throughput over its reference's.
func (r *results) microRatioText(c microCell) string {
	if q, ok := r.microRatio(c.Op, c.Size, c.Kernel); ok {
		return fmt.Sprintf("%.2f×", q)
	}
	return "–"
}

// microErrors lists the micro cells that failed to run.
func (r *results) microErrors() []string {
	var e []string
	for _, c := range r.Micro {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("micro %s %s %s: %s", c.Op, sizeName(c.Size), c.Kernel, c.Err))
		}
	}
	return e
}
