package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/bench/load"
	"github.com/hybi-go/hybi/bench/servers"
)

// The broadcast scenarios of issue #15: one 1 KiB text message fanned out
// to c.idleConns connections (10,000; 1,000 with -quick), triggered by
// POST /broadcast on bench-server's control address. "broadcast" measures
// the time from the trigger until every connection has the message, and
// the server's CPU per delivered message, plain and compressed;
// "slowconsumer" the same with 1% of the connections never reading, over
// enough rounds that the server's writes to them block: the time to the
// readers must not grow.

// broadcastCell is one library's fan-out figures.
type broadcastCell struct {
	Lib     string `json:"lib"`
	Deflate bool   `json:"deflate"`
	Conns   int    `json:"conns"`
	Silent  int    `json:"silent"` // connections that never read
	Rounds  int    `json:"rounds"` // fan-outs measured
	// FanoutMs is the median time from the broadcast trigger until every
	// reading connection has the message; P90Ms and MaxMs its spread.
	FanoutMs float64 `json:"fanout_ms"`
	P90Ms    float64 `json:"p90_ms"`
	MaxMs    float64 `json:"max_ms"`
	// CPUPerMsgUs is the server's CPU time per delivered message over the
	// measured rounds.
	CPUPerMsgUs float64 `json:"cpu_us_per_msg"`
	// WritesPerMsg is the server's write system calls per delivered
	// message, and ClientCPUPerMsgUs the load client's CPU time (the
	// whole matrix process) per delivered message: on two cores the
	// fan-out time cannot be below the sum of both CPU times over two.
	WritesPerMsg      float64 `json:"writes_per_msg"`
	ClientCPUPerMsgUs float64 `json:"client_cpu_us_per_msg"`
	// BeforeMs, in slowconsumer, is the median fan-out time of a second
	// server of the same library, with as many readers and no silent
	// connection, its rounds alternating with the measured ones:
	// FanoutMs/BeforeMs is how much the slow consumers delay the others.
	BeforeMs float64 `json:"before_ms,omitempty"`
	Timeouts int     `json:"timeouts,omitempty"`
	Err      string  `json:"error,omitempty"`
}

func (b broadcastCell) scenario() string {
	if b.Silent > 0 {
		return "slowconsumer"
	}
	return "broadcast"
}

func (b broadcastCell) mode() string {
	if b.Deflate {
		return "deflate"
	}
	return "plain"
}

// broadcastLibs returns the libraries of the run with a broadcast server.
func (c *config) broadcastLibs() []string {
	var libs []string
	for _, l := range c.libs {
		if _, err := servers.GetBroadcast(l); err == nil {
			libs = append(libs, l)
		}
	}
	return libs
}

func runBroadcast(ctx context.Context, c *config, res *results) {
	rounds := 20
	if c.quick {
		rounds = 5
	}
	for _, deflate := range []bool{false, true} {
		for _, lib := range c.broadcastLibs() {
			if l, _ := servers.GetBroadcast(lib); deflate && !l.Deflate {
				continue
			}
			res.Broadcast = append(res.Broadcast, fanOut(ctx, c, lib, deflate, 3, rounds))
		}
	}
}

// runSlowConsumer fans out with 1% of the connections not reading, and
// weighs what that costs the readers against the same library with no
// slow consumer, in the same minutes: two servers of the library run
// side by side, one with c.idleConns connections of which 1% never read,
// the other with as many readers and no silent connection, and the
// measured rounds alternate between them. (Measured one after the other,
// the same server's fan-out times drifted by 10-20% between the first and
// the last minute with no connection blocked at all.)
func runSlowConsumer(ctx context.Context, c *config, res *results) {
	rounds := 40
	if c.quick {
		rounds = 16
	}
	for _, lib := range c.broadcastLibs() {
		if l, _ := servers.GetBroadcast(lib); l.Reference {
			continue // the floor drops what would block: nothing to learn
		}
		res.Broadcast = append(res.Broadcast, slowConsumer(ctx, c, lib, max(1, c.idleConns/100), rounds/4, rounds/2))
	}
}

// slowConsumer runs one library's slowconsumer cell: silent of the test
// server's connections never read. Two 256 KiB broadcasts fill their
// socket buffers (shrunk to 4 KiB at the client), so that every later
// write to them blocks; then each server warms up and the measured
// rounds alternate between the two.
func slowConsumer(ctx context.Context, c *config, lib string, silent, warmup, rounds int) broadcastCell {
	cell := broadcastCell{Lib: lib, Conns: c.idleConns, Silent: silent}
	fail := func(err error) broadcastCell {
		cell.Err = err.Error()
		log.Printf("%s %s %-8s: %v", cell.scenario(), cell.mode(), lib, err)
		return cell
	}
	test, err := openFanOut(ctx, c, lib, false, c.idleConns, silent)
	if err != nil {
		return fail(err)
	}
	defer test.close()
	control, err := openFanOut(ctx, c, lib, false, c.idleConns-silent, 0)
	if err != nil {
		return fail(fmt.Errorf("the server without slow consumers: %w", err))
	}
	defer control.close()
	msg := jsonText(1024)
	for range 3 { // the first fan-outs on fresh connections are slow
		for _, f := range []*fanOutSide{test, control} {
			if _, err := f.round(ctx, msg, &cell); err != nil {
				return fail(fmt.Errorf("warmup: %w", err))
			}
		}
	}
	// Two 256 KiB messages fill the silent connections' socket buffers
	// at once; the listeners read them as any other.
	filler := jsonText(256 << 10)
	for range 2 {
		if _, err := test.round(ctx, filler, &cell); err != nil {
			return fail(fmt.Errorf("filling the silent connections: %w", err))
		}
	}
	for range warmup {
		for _, f := range []*fanOutSide{test, control} {
			if _, err := f.round(ctx, msg, &cell); err != nil {
				return fail(fmt.Errorf("warmup: %w", err))
			}
		}
	}
	var wait func()
	if c.profiled(lib) {
		wait = test.s.profile(c.pprofDir, cell.scenario()+"-"+cell.mode(), 3*time.Second)
	}
	before, err := test.s.stats(false)
	if err != nil {
		return fail(err)
	}
	var times, controls []time.Duration
	var clientCPU time.Duration
	for i := range 2 * rounds {
		// Alternate, starting with each side as often.
		f, into := test, &times
		if (i%2 == 0) == (i/2%2 == 0) {
			f, into = control, &controls
		}
		t := processCPU()
		d, err := f.round(ctx, msg, &cell)
		if err != nil {
			return fail(err)
		}
		if f == test {
			clientCPU += processCPU() - t
		}
		*into = append(*into, d)
	}
	after, err := test.s.stats(false)
	if err != nil {
		return fail(err)
	}
	if wait != nil {
		wait()
	}
	cell.BeforeMs = ms(median(controls))
	cell.fill(times, test.a.Listeners(), before, after, clientCPU)
	log.Printf("%s %s %-8s x%d (%d silent): fan-out %.1f ms (p90 %.1f, max %.1f; with no slow consumer, alternating %.1f), server CPU %.2f µs/delivered msg, %.2f writes/msg, client CPU %.2f µs/msg",
		cell.scenario(), cell.mode(), lib, cell.Conns, silent, cell.FanoutMs, cell.P90Ms, cell.MaxMs, cell.BeforeMs, cell.CPUPerMsgUs, cell.WritesPerMsg, cell.ClientCPUPerMsgUs)
	return cell
}

// fanOutSide is a broadcast server with its connections and the client
// reading them.
type fanOutSide struct {
	s *server
	a *load.Audience
}

// openFanOut starts lib's broadcast server, dials conns connections to
// it and reads all but silent of them.
func openFanOut(ctx context.Context, c *config, lib string, deflate bool, conns, silent int) (*fanOutSide, error) {
	args := []string{"-lib", lib, "-addr", "127.0.0.1:0", "-broadcast"}
	if deflate {
		args = append(args, "-deflate")
	}
	s, err := startServerArgs(ctx, c.bin, lib, args, nil)
	if err != nil {
		return nil, err
	}
	cs, err := load.DialMany(ctx, s.ws, conns, 64, load.SourceIPs(c.sourceIPs), c.dialOpts(2048, deflate))
	if err != nil {
		s.stop()
		return nil, err
	}
	var a *load.Audience
	if c.readLoops > 0 && silent == 0 && conns == c.idleConns {
		// The client reads over epoll, as the scale client does: with a
		// goroutine per connection its reads, not the server, bounded
		// the fan-out time (the floor, one write(2) per socket, was no
		// faster than the libraries). The slowconsumer cells read with
		// a goroutine each, both of their servers alike: the epoll
		// reader duplicates every descriptor, and two servers' worth
		// of them would not fit the open-file limit.
		if a, err = load.ListenPoll(cs, silent, c.readLoops); err != nil {
			load.CloseAll(cs)
			s.stop()
			return nil, err
		}
	} else {
		a = load.Listen(cs, silent)
	}
	time.Sleep(200 * time.Millisecond) // let the server register the last ones
	return &fanOutSide{s: s, a: a}, nil
}

func (f *fanOutSide) close() {
	f.a.Close()
	f.s.stop()
}

// broadcastTimeout bounds one round.
const broadcastTimeout = 10 * time.Second

// round broadcasts msg and returns the time until every listener had it;
// a round that timed out is counted in cell.
func (f *fanOutSide) round(ctx context.Context, msg []byte, cell *broadcastCell) (time.Duration, error) {
	d, got, err := f.a.Round(ctx, func() error { return f.send(msg) }, broadcastTimeout)
	if errors.Is(err, load.ErrRoundTimeout) {
		cell.Timeouts++
		err = fmt.Errorf("%d of %d readers got the message within %v", got, f.a.Listeners(), broadcastTimeout)
	}
	return d, err
}

// send triggers one broadcast of msg.
func (f *fanOutSide) send(msg []byte) error {
	resp, err := ctlClient.Post("http://"+f.s.ctl+"/broadcast", "text/plain", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST /broadcast: %s", resp.Status)
	}
	return nil
}

// fanOut runs warmup and then measured rounds of one broadcast cell.
func fanOut(ctx context.Context, c *config, lib string, deflate bool, warmup, rounds int) broadcastCell {
	cell := broadcastCell{Lib: lib, Deflate: deflate, Conns: c.idleConns}
	fail := func(err error) broadcastCell {
		cell.Err = err.Error()
		log.Printf("%s %s %-8s: %v", cell.scenario(), cell.mode(), lib, err)
		return cell
	}
	f, err := openFanOut(ctx, c, lib, deflate, c.idleConns, 0)
	if err != nil {
		return fail(err)
	}
	defer f.close()
	msg := jsonText(1024)
	for range warmup {
		if _, err := f.round(ctx, msg, &cell); err != nil {
			return fail(fmt.Errorf("warmup: %w", err))
		}
	}
	var wait func()
	if c.profiled(lib) {
		wait = f.s.profile(c.pprofDir, fmt.Sprintf("%s-%s", cell.scenario(), cell.mode()), 3*time.Second)
	}
	before, err := f.s.stats(false)
	if err != nil {
		return fail(err)
	}
	clientBefore := processCPU()
	var times []time.Duration
	for range rounds {
		d, err := f.round(ctx, msg, &cell)
		if err != nil {
			return fail(err)
		}
		times = append(times, d)
	}
	clientCPU := processCPU() - clientBefore
	after, err := f.s.stats(false)
	if err != nil {
		return fail(err)
	}
	if wait != nil {
		wait()
	}
	cell.fill(times, f.a.Listeners(), before, after, clientCPU)
	log.Printf("%s %s %-8s x%d: fan-out %.1f ms (p90 %.1f, max %.1f), server CPU %.2f µs/delivered msg, %.2f writes/msg, client CPU %.2f µs/msg",
		cell.scenario(), cell.mode(), lib, cell.Conns, cell.FanoutMs, cell.P90Ms, cell.MaxMs, cell.CPUPerMsgUs, cell.WritesPerMsg, cell.ClientCPUPerMsgUs)
	return cell
}

// fill sets the cell's figures from the measured rounds' times and the
// server's and the client's counters around them.
func (b *broadcastCell) fill(times []time.Duration, listeners int, before, after stats, clientCPU time.Duration) {
	times = slices.Clone(times)
	slices.Sort(times)
	b.Rounds = len(times)
	b.FanoutMs = ms(times[len(times)/2])
	b.P90Ms = ms(times[len(times)*9/10])
	b.MaxMs = ms(times[len(times)-1])
	delivered := float64(len(times) * listeners)
	b.CPUPerMsgUs = float64(after.CPUNanos-before.CPUNanos) / 1e3 / delivered
	b.WritesPerMsg = float64(after.SyscW-before.SyscW) / delivered
	b.ClientCPUPerMsgUs = float64(clientCPU) / 1e3 / delivered
}

// broadcastBars are the bars of issue #15 points 3 and 4.
func (r *results) broadcastBars() []bar {
	var bars []bar
	lib := func(c broadcastCell) string { return c.Lib }
	ok := func(c broadcastCell) bool { return c.Err == "" && c.FanoutMs > 0 }
	for _, deflate := range []bool{false, true} {
		cells := filter(r.Broadcast, func(c broadcastCell) bool { return c.Silent == 0 && c.Deflate == deflate })
		if len(cells) == 0 {
			continue
		}
		name := fmt.Sprintf("Broadcast 1 KiB to %d conns (%s): fan-out time ≤ 0.5× best peer", cells[0].Conns, cells[0].mode())
		h, okh := find(cells, func(c broadcastCell) bool { return c.Lib == "hybi" && ok(c) })
		best, who, okp := bestPeer(cells, lib, func(c broadcastCell) (float64, bool) { return c.FanoutMs, ok(c) }, false)
		if !okh || !okp {
			bars = append(bars, bar{name, "not measured", "N/A"})
			continue
		}
		q := h.FanoutMs / best
		m := fmt.Sprintf("%.2f× (%.1f ms vs %s %.1f ms)", q, h.FanoutMs, who, best)
		if bc, cw, okc := bestPeer(cells, lib, func(c broadcastCell) (float64, bool) { return c.CPUPerMsgUs, ok(c) }, false); okc {
			m += fmt.Sprintf("; server CPU/delivered msg %.2f× the leanest peer (%.2f vs %s %.2f µs)", h.CPUPerMsgUs/bc, h.CPUPerMsgUs, cw, bc)
		}
		bars = append(bars, bar{name, m, verdict(q <= 0.5)})
	}
	slow := filter(r.Broadcast, func(c broadcastCell) bool { return c.Silent > 0 })
	if len(slow) > 0 {
		name := "Slow consumers (1% not reading, writes to them blocked): the readers' fan-out time ≤ 1.25× the same library's with none (or no more than gws's ratio)"
		h, okh := find(slow, func(c broadcastCell) bool { return c.Lib == "hybi" && ok(c) && c.BeforeMs > 0 })
		g, okg := find(slow, func(c broadcastCell) bool { return c.Lib == "gws" && ok(c) && c.BeforeMs > 0 })
		if !okh || !okg {
			bars = append(bars, bar{name, "not measured", "N/A"})
		} else {
			gh, gg := h.FanoutMs/h.BeforeMs, g.FanoutMs/g.BeforeMs
			m := fmt.Sprintf("%.2f× (%.1f ms vs %.1f with none, rounds alternating); gws %.2f× (%.1f vs %.1f); with slow consumers %.2f× gws's time, p90 %.1f vs %.1f ms",
				gh, h.FanoutMs, h.BeforeMs, gg, g.FanoutMs, g.BeforeMs, h.FanoutMs/g.FanoutMs, h.P90Ms, g.P90Ms)
			bars = append(bars, bar{name, m, verdict(gh <= max(1.25, gg))})
		}
	}
	return bars
}

func (r *results) broadcastMarkdown(p func(string, ...any)) {
	if len(r.Broadcast) == 0 {
		return
	}
	p("## Broadcast\n\nOne 1 KiB JSON text message fanned out by each library's idiomatic broadcast (see the notes of `bench/servers/broadcast_*.go`), triggered by `POST /broadcast` on bench-server's control address. Fan-out is the time from the trigger until every reading connection has the message (median of the measured rounds); server CPU and write system calls are per delivered message, and so is the load client's CPU (the matrix process; it reads the `broadcast` connections over epoll, in `-read-loops` loops, as the scale client does, and the `slowconsumer` ones with a goroutine each: on two cores a fan-out cannot take less than the server's and the client's CPU time together over two). `slowconsumer`: 1%% of the connections never read (receive buffers shrunk to 4 KiB), and two 256 KiB broadcasts fill their socket buffers so that every later write to them blocks; a second server of the same library, with as many readers and none silent, runs beside it, and the measured rounds alternate between the two (\"no slow consumer\" is the second server's median).\n\n")
	p("| Scenario | Library | mode | conns | silent | fan-out ms | × best peer | p90 ms | max ms | no slow consumer ms | server CPU µs/msg | × best peer | server writes/msg | client CPU µs/msg |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	lib := func(c broadcastCell) string { return c.Lib }
	ok := func(c broadcastCell) bool { return c.Err == "" && c.FanoutMs > 0 }
	for _, group := range []func(broadcastCell) bool{
		func(c broadcastCell) bool { return c.Silent == 0 && !c.Deflate },
		func(c broadcastCell) bool { return c.Silent == 0 && c.Deflate },
		func(c broadcastCell) bool { return c.Silent > 0 },
	} {
		cells := filter(r.Broadcast, group)
		bT, _, _ := bestPeer(cells, lib, func(c broadcastCell) (float64, bool) { return c.FanoutMs, ok(c) }, false)
		bC, _, _ := bestPeer(cells, lib, func(c broadcastCell) (float64, bool) { return c.CPUPerMsgUs, ok(c) }, false)
		for _, c := range cells {
			if c.Err != "" {
				p("| %s | %s | %s | %d | %d | error: %s | | | | | | | | |\n", c.scenario(), c.Lib, c.mode(), c.Conns, c.Silent, mdEscape(c.Err))
				continue
			}
			before := "–"
			if c.BeforeMs > 0 {
				before = fmt.Sprintf("%.1f", c.BeforeMs)
			}
			p("| %s | %s | %s | %d | %d | %.1f | %s | %.1f | %.1f | %s | %.2f | %s | %.2f | %.2f |\n", c.scenario(), c.Lib, c.mode(), c.Conns, c.Silent,
				c.FanoutMs, ratio(c.FanoutMs, bT), c.P90Ms, c.MaxMs, before, c.CPUPerMsgUs, ratio(c.CPUPerMsgUs, bC), c.WritesPerMsg, c.ClientCPUPerMsgUs)
		}
	}
	p("\n")
}

func (r *results) broadcastErrors() []string {
	var e []string
	for _, c := range r.Broadcast {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("%s %s %s: %s", c.scenario(), c.mode(), c.Lib, c.Err))
		}
	}
	return e
}

// processCPU is the CPU time this process (the load client) has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
