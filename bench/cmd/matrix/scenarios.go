package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hybi-go/hybi/bench/load"
	"github.com/hybi-go/hybi/bench/servers"
)

func nproc() int                 { return runtime.NumCPU() }
func goVersion() string          { return runtime.Version() }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func payload(n int) []byte {
	p := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// jsonText is n bytes of JSON-like text that compresses like real API
// traffic does (repeated keys, varied values).
func jsonText(n int) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"%s-%s","price":%d.%02d,"active":%t,"tags":["%s","%s"],"owner":{"id":%d,"email":"user%d@example.com"}}`,
			r.IntN(1e6), words[r.IntN(10)], words[r.IntN(10)], r.IntN(1000), r.IntN(100), r.IntN(2) == 0,
			words[r.IntN(10)], words[r.IntN(10)], r.IntN(1e5), r.IntN(1e5))
	}
	s := b.String()[:n-2] + "]}"
	return []byte(s)
}

func (c *config) dialOpts(bufSize int, deflate bool) load.DialOptions {
	return load.DialOptions{ReadBufferSize: bufSize, Deflate: deflate, Timeout: 10 * time.Second}
}

// runStartup measures cold start: from exec of the server binary to the
// first echo received on a fresh connection.
func runStartup(ctx context.Context, c *config, res *results) {
	msg := load.NewMessage(load.OpText, []byte("hello"), false)
	for _, lib := range c.libsFor("startup") {
		var firsts, listens []time.Duration
		var failed error
		for range c.startups {
			t0 := time.Now()
			s, err := startServer(ctx, c.bin, lib, false)
			if err != nil {
				failed = err
				break
			}
			listen := time.Since(t0)
			cl, err := load.Dial(ctx, s.ws, c.dialOpts(4096, false))
			if err == nil {
				err = load.Check(cl, msg)
				cl.Close()
			}
			first := time.Since(t0)
			s.stop()
			if err != nil {
				failed = err
				break
			}
			firsts = append(firsts, first)
			listens = append(listens, listen)
		}
		cell := startCell{Lib: lib, Samples: len(firsts)}
		if failed != nil {
			cell.Err = failed.Error()
		} else {
			cell.FirstEchoMs = ms(median(firsts))
			cell.ListenMs = ms(median(listens))
		}
		log.Printf("startup %-8s first echo %.1f ms (listening %.1f ms) %s", lib, cell.FirstEchoMs, cell.ListenMs, cell.Err)
		res.Startup = append(res.Startup, cell)
	}
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// runEcho runs closed-loop echo for every size and connection count.
// Every library's server runs throughout, and each cell measures them
// back to back, starting with a different library from cell to cell: the
// machine drifts over minutes (the first server of a run used to be
// 10-40% slower than the same server later), and a library measured in a
// block of its own would carry that drift into its ratios. The guard
// cells then measure hybi and the floor a second time (guard.go).
func runEcho(ctx context.Context, c *config, res *results) {
	libs := c.libsFor("echo")
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
	echoWarmup(ctx, c, libs, srv)
	got := map[string][]echoCell{} // lib -> its cells, in cell order
	turn := 0
	for _, size := range c.sizes {
		msg := load.NewMessage(load.OpBinary, payload(size), false)
		for _, n := range c.conns {
			order := rotate(libs, turn)
			turn++
			for _, lib := range order {
				if ctx.Err() != nil {
					break
				}
				if guardOnly[lib] && (c.quick || !isGuardCell(size, n)) {
					continue
				}
				cell := echoCell{Lib: lib, Size: size, Conns: n}
				s := srv[lib]
				if s == nil {
					cell.Err = "server did not start"
					got[lib] = append(got[lib], cell)
					continue
				}
				echoOne(ctx, c, s, msg, &cell, fmt.Sprintf("echo-%s-%d", sizeName(size), n))
				logEcho("echo", cell)
				got[lib] = append(got[lib], cell)
			}
			if isGuardCell(size, n) && !c.quick { // -quick's cells are too short to weigh 5%
				res.EchoGuard = append(res.EchoGuard, guardRepeat(ctx, c, srv, order, msg, size, n)...)
			}
		}
	}
	for _, lib := range libs {
		res.Echo = append(res.Echo, got[lib]...)
	}
}

// echoWarmup runs one unrecorded echo cell at the most connections of
// the run, so that the machine and the load client are busy when the
// first measured one starts: the first cell of a run, whatever the
// server, measured 10-30% more server CPU per echo than the same cell
// later.
func echoWarmup(ctx context.Context, c *config, libs []string, srv map[string]*server) {
	for _, lib := range libs {
		if s := srv[lib]; s != nil {
			msg := load.NewMessage(load.OpBinary, payload(16), false)
			cell := echoCell{Lib: lib, Size: 16, Conns: slices.Max(c.conns)}
			echoOne(ctx, c, s, msg, &cell, "echo-warmup")
			return
		}
	}
}

// rotate returns libs in turn's order: libs[turn%len(libs)] first.
func rotate(libs []string, turn int) []string {
	if len(libs) == 0 {
		return nil
	}
	k := turn % len(libs)
	return append(slices.Clone(libs[k:]), libs[:k]...)
}

func logEcho(scenario string, cell echoCell) {
	log.Printf("%s %-8s %6s x%-3d %10.0f msg/s %8.1f MB/s p50 %7.3f ms p99 %7.3f ms cpu %6.1f us/msg %7.0f B/msg %.2f+%.2f syscalls/msg %s",
		scenario, cell.Lib, sizeName(cell.Size), cell.Conns, cell.Rate, cell.MBps, cell.P50Ms, cell.P99Ms, cell.CPUPerMsgUs, cell.AllocPerMsg, cell.ReadsPerMsg, cell.WritesPerMsg, cell.Err)
}

func echoOne(ctx context.Context, c *config, s *server, msg *load.Message, cell *echoCell, name string) {
	measureOne(ctx, c, s, msg, cell, name, func(conns []*load.Conn) load.Result { return load.Echo(conns, msg, c.warmup, c.d) })
}

// measureOne dials cell.Conns connections to s, checks one echo on each,
// and fills cell with what run measured over them and the server's CPU,
// allocations and system calls per message.
func measureOne(ctx context.Context, c *config, s *server, msg *load.Message, cell *echoCell, name string, run func([]*load.Conn) load.Result) {
	buf := 32 << 10
	conns, err := load.DialMany(ctx, s.ws, cell.Conns, 32, load.SourceIPs(c.sourceIPs), c.dialOpts(buf, msg.Compressed))
	if err != nil {
		cell.Err = err.Error()
		return
	}
	defer load.CloseAll(conns)
	if msg.Compressed {
		for _, cl := range conns {
			if !cl.Deflate {
				cell.Err = "permessage-deflate not negotiated"
				return
			}
		}
	}
	if err := load.CheckAll(conns, msg, min(32, len(conns))); err != nil {
		cell.Err = err.Error()
		return
	}
	before, err := s.stats(false)
	if err != nil {
		cell.Err = err.Error()
		return
	}
	var wait func()
	if c.profiled(s.lib) {
		ch := make(chan func(), 1)
		go func() {
			time.Sleep(c.warmup)
			ch <- s.profile(c.pprofDir, name, c.d)
		}()
		wait = func() { (<-ch)() }
	}
	r := run(conns)
	if wait != nil {
		wait()
	}
	after, err := s.stats(false)
	cell.Rate = r.Rate()
	cell.MBps = cell.Rate * float64(len(msg.Payload)) / 1e6
	cell.P50Ms, cell.P99Ms = ms(r.P50), ms(r.P99)
	if err == nil && r.Count > 0 {
		// CPU over warmup and window, per message of the window scaled up.
		total := float64(after.CPUNanos-before.CPUNanos) / 1e3
		cell.CPUPerMsgUs = total / (float64(r.Count) * float64(c.warmup+r.Elapsed) / float64(r.Elapsed))
		msgs := float64(r.Count) * float64(c.warmup+r.Elapsed) / float64(r.Elapsed)
		cell.AllocPerMsg = float64(after.TotalAlloc-before.TotalAlloc) / msgs
		cell.ReadsPerMsg = float64(after.SyscR-before.SyscR) / msgs
		cell.WritesPerMsg = float64(after.SyscW-before.SyscW) / msgs
	}
	if r.Err != nil {
		cell.Err = fmt.Sprintf("%d errors, first: %v", r.Errors, r.Err)
	}
}

// idleWarmConns is how many connections the idle scenario's dialer opens
// at once, and how many serve the warm-up before its baseline.
const idleWarmConns = 64

// runIdle opens idleConns connections, each echoes one message, then
// measures the server's memory over its baseline; the same connections
// then run the steady-rate load.
func runIdle(ctx context.Context, c *config, res *results) {
	small := load.NewMessage(load.OpBinary, payload(16), false)
	text := load.NewMessage(load.OpText, []byte(`{"op":"ping","seq":12345678}`), false)
	for _, lib := range c.libsFor("idle") {
		idle := idleCell{Lib: lib, Conns: c.idleConns}
		ld := loadCell{Lib: lib, Conns: c.idleConns, TargetRate: c.loadRate}
		func() {
			s, err := startServer(ctx, c.bin, lib, false)
			if err != nil {
				idle.Err, ld.Err = err.Error(), err.Error()
				return
			}
			defer s.stop()
			time.Sleep(200 * time.Millisecond)
			// What the first connections cost once, not each (the code
			// their serving touches, which VmRSS counts, and what the
			// runtime and the library set up on first use), goes into
			// the baseline: as many connections as DialMany opens at once
			// echo and close before it is taken.
			warm, err := load.DialMany(ctx, s.ws, idleWarmConns, idleWarmConns, load.SourceIPs(c.sourceIPs), c.dialOpts(512, false))
			if err == nil {
				err = load.CheckAll(warm, small, idleWarmConns)
				load.CloseAll(warm)
			}
			if err != nil {
				idle.Err, ld.Err = "warm-up: "+err.Error(), "warm-up: "+err.Error()
				return
			}
			time.Sleep(200 * time.Millisecond)
			base, err := s.stats(true)
			if err != nil {
				idle.Err, ld.Err = err.Error(), err.Error()
				return
			}
			t := time.Now()
			conns, err := load.DialMany(ctx, s.ws, c.idleConns, idleWarmConns, load.SourceIPs(c.sourceIPs), c.dialOpts(512, false))
			if err == nil {
				err = load.CheckAll(conns, small, idleWarmConns)
			}
			idle.ConnectSecs = time.Since(t).Seconds()
			if err != nil {
				idle.Err, ld.Err = err.Error(), err.Error()
				load.CloseAll(conns)
				return
			}
			defer load.CloseAll(conns)
			time.Sleep(500 * time.Millisecond)
			st, err := s.stats(true)
			if c.profiled(lib) {
				s.fetch("/debug/pprof/heap?gc=1", c.pprofDir+"/"+lib+"-idle.heap.pprof")
			}
			if err != nil {
				idle.Err = err.Error()
			} else {
				n := float64(c.idleConns)
				idle.RSSPerConn = float64(st.RSS-base.RSS) / n
				idle.HeapPerConn = float64(st.HeapInuse-base.HeapInuse) / n
				idle.StackPerConn = float64(st.StackInuse-base.StackInuse) / n
				idle.Goroutines = st.Goroutines - base.Goroutines
			}
			log.Printf("idle %-8s x%d: %.0f B/conn RSS, %.0f heap, %.0f stack, %d goroutines (connect %.1fs; server RSS before %.1f MB, heap %.1f MB) %s",
				lib, c.idleConns, idle.RSSPerConn, idle.HeapPerConn, idle.StackPerConn, idle.Goroutines, idle.ConnectSecs,
				float64(base.RSS)/1e6, float64(base.HeapInuse)/1e6, idle.Err)

			var wait func()
			if c.profiled(lib) {
				ch := make(chan func(), 1)
				go func() {
					time.Sleep(c.loadWarmup)
					ch <- s.profile(c.pprofDir, "load", c.loadDur)
				}()
				wait = func() { (<-ch)() }
			}
			r := load.Paced(conns, text, c.loadRate, c.loadWarmup, c.loadDur)
			if wait != nil {
				wait()
			}
			st, err = s.stats(false)
			if err == nil {
				ld.RSSMB = float64(st.RSS) / 1e6
				ld.HWMMB = float64(st.HWM) / 1e6
				ld.HeapMB = float64(st.HeapInuse) / 1e6
			}
			ld.Rate = r.Rate()
			ld.P50Ms, ld.P99Ms = ms(r.P50), ms(r.P99)
			if r.Err != nil {
				ld.Err = fmt.Sprintf("%d errors, first: %v", r.Errors, r.Err)
			}
			log.Printf("load %-8s x%d at %.0f/s: %.0f msg/s p50 %.2f ms p99 %.2f ms, RSS %.1f MB (peak %.1f, heap %.1f) %s",
				lib, c.idleConns, c.loadRate, ld.Rate, ld.P50Ms, ld.P99Ms, ld.RSSMB, ld.HWMMB, ld.HeapMB, ld.Err)
		}()
		res.Idle = append(res.Idle, idle)
		res.Load = append(res.Load, ld)
	}
}

// runDeflate measures compressed connections: bytes per connection after
// one 16 KiB JSON message each, then echo throughput.
func runDeflate(ctx context.Context, c *config, res *results) {
	msg := load.NewMessage(load.OpText, jsonText(16<<10), true)
	for _, lib := range c.libsFor("deflate") {
		l, _ := servers.Get(lib)
		cell := deflateCell{Lib: lib, Mode: l.DeflateMode, MemConns: c.deflateConns, Conns: c.deflateEcho,
			Ratio: float64(len(msg.Payload)) / float64(len(msg.Frame))}
		if !l.Deflate {
			if lib == "hybi" {
				cell.Err = "TODO: extension/deflate not available yet"
				res.Deflate = append(res.Deflate, cell)
			}
			continue
		}
		func() {
			s, err := startServer(ctx, c.bin, lib, true)
			if err != nil {
				cell.Err = err.Error()
				return
			}
			defer s.stop()
			time.Sleep(200 * time.Millisecond)
			base, err := s.stats(true)
			if err != nil {
				cell.Err = err.Error()
				return
			}
			conns, err := load.DialMany(ctx, s.ws, c.deflateConns, 32, load.SourceIPs(c.sourceIPs), c.dialOpts(32<<10, true))
			if err != nil {
				cell.Err = err.Error()
				return
			}
			for _, cl := range conns {
				if !cl.Deflate {
					err = fmt.Errorf("permessage-deflate not negotiated")
				}
			}
			if err == nil {
				err = load.CheckAll(conns, msg, 32)
			}
			if err != nil {
				load.CloseAll(conns)
				cell.Err = err.Error()
				return
			}
			time.Sleep(300 * time.Millisecond)
			st, err := s.stats(true)
			if c.profiled(lib) {
				s.fetch("/debug/pprof/heap?gc=1", c.pprofDir+"/"+lib+"-deflate-idle.heap.pprof")
			}
			load.CloseAll(conns)
			if err == nil {
				n := float64(c.deflateConns)
				cell.RSSPerConn = float64(st.RSS-base.RSS) / n
				cell.HeapPerConn = float64(st.HeapInuse-base.HeapInuse) / n
				cell.StackPerConn = float64(st.StackInuse-base.StackInuse) / n
			}
			ec := echoCell{Lib: lib, Size: len(msg.Payload), Conns: c.deflateEcho}
			echoOne(ctx, c, s, msg, &ec, "deflate")
			cell.Rate, cell.MBps, cell.P50Ms, cell.P99Ms, cell.CPUPerMsgUs = ec.Rate, ec.MBps, ec.P50Ms, ec.P99Ms, ec.CPUPerMsgUs
			if ec.Err != "" {
				cell.Err = ec.Err
			}
		}()
		log.Printf("deflate %-8s x%d: %.0f msg/s %.1f MB/s p99 %.2f ms; x%d: %.0f B/conn RSS %.0f heap %.0f stack %s",
			lib, cell.Conns, cell.Rate, cell.MBps, cell.P99Ms, cell.MemConns, cell.RSSPerConn, cell.HeapPerConn, cell.StackPerConn, cell.Err)
		res.Deflate = append(res.Deflate, cell)
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
