package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/bench/internal/procfs"
)

// The scale scenario (issue #15, bar 8): 100,000 WebSockets held idle,
// then one broadcast to all of them.
//
// The open-file limit of this machine (and of CI) is hard-capped at 20,000
// per process, and no process here may raise it: one server cannot hold
// 100,000 sockets, nor one client open them. So the scenario measures two
// things per library:
//
//   - single: the most one server process can hold under its limit
//     (the limit less 1,000, in thousands: 19,000 here), its RSS per
//     connection, accept rate and broadcast time;
//   - sharded: 100,000 connections over k server processes, one port each,
//     each driven by a load-client process of its own, k = ceil(100,000 /
//     single): RSS summed over the k servers, the time until every
//     one of the 100,000 clients has the broadcast (from the moment the
//     matrix orders it, the latest arrival over all clients, on the one
//     wall clock they share).
//
// Servers and clients are their own binaries (bench/cmd/scale-server,
// bench/cmd/scale-client), built here; the client is an epoll loop with no
// buffer per connection, spreading its connections over the source
// addresses 127.0.0.1 to 127.0.0.16.
const (
	scaleTotal   = 100_000
	scaleSources = 16
	scaleTimeout = 100 * time.Second // per client run; the scenario stops by itself
	scaleRounds  = 3                 // broadcasts per run; the median is reported
	// scaleRunTimeout bounds one run (one library, one or k servers),
	// whatever goes wrong in it.
	scaleRunTimeout = 2 * time.Minute
)

var scaleLibs = []string{"hybi-poll", "hybi", "gws", "netconn"}

// scaleReference is not a library: a net/http handler that hijacks, answers
// 101 and keeps the net.Conn, the floor under any library served by
// net/http. It runs once, in one process.
const scaleReference = "netconn"

type scaleCell struct {
	Lib             string    `json:"lib"`
	Mode            string    `json:"mode"` // "single" or "sharded"
	Shards          int       `json:"shards"`
	Conns           int       `json:"conns"`
	Opened          int       `json:"opened"`
	NoFile          uint64    `json:"nofile_limit"` // per server process, after raising
	NoFileNote      string    `json:"nofile_note,omitempty"`
	RSSMB           float64   `json:"rss_mb"`      // summed over the shards
	BaseRSSMB       float64   `json:"base_rss_mb"` // summed, before any connection
	RSSPerConn      float64   `json:"rss_bytes_per_conn"`
	HeapPerConn     float64   `json:"heap_bytes_per_conn"`
	StackPerConn    float64   `json:"stack_bytes_per_conn"`
	ConnectSecs     float64   `json:"connect_s"`
	AcceptRate      float64   `json:"accepts_per_s"`
	BroadcastMs     float64   `json:"broadcast_ms"` // until the last client had it; median of the rounds
	BroadcastRunsMs []float64 `json:"broadcast_runs_ms"`
	FanOutMs        float64   `json:"server_fanout_ms"`
	Got             int       `json:"got"`
	ClientsFailed   int       `json:"clients_failed"`
	// Classes is runtime/metrics' /memory/classes/ per connection, over
	// the baselines: where the bytes of a held connection go.
	Classes map[string]float64 `json:"memory_classes_per_conn,omitempty"`
	Err     string             `json:"error,omitempty"`
}

func runScale(ctx context.Context, c *config, res *results) {
	if c.quick && !c.only["scale"] {
		log.Print("scale: left out of -quick (ask for it with -only scale)")
		return
	}
	dir, err := os.MkdirTemp("", "hybi-scale-")
	if err != nil {
		res.Scale = append(res.Scale, scaleCell{Err: err.Error()})
		return
	}
	defer os.RemoveAll(dir)
	srvBin, cliBin := filepath.Join(dir, "scale-server"), filepath.Join(dir, "scale-client")
	for bin, pkg := range map[string]string{srvBin: "./cmd/scale-server", cliBin: "./cmd/scale-client"} {
		b := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			res.Scale = append(res.Scale, scaleCell{Err: fmt.Sprintf("go build %s: %v", pkg, err)})
			return
		}
	}
	limit, raiseErr := raiseNoFileTo(scaleTotal + 1000)
	if raiseErr != nil {
		log.Printf("scale: RLIMIT_NOFILE cannot be raised to %d (%v): the limit is %d per process, so 100,000 connections are sharded over processes",
			scaleTotal+1000, raiseErr, limit)
	}
	// The most one process holds: the limit, less room for the
	// listener, pipes and the runtime, in thousands.
	single := min(scaleTotal, max(1000, int(limit)-1000)/1000*1000)
	for _, lib := range scaleLibs {
		if !c.runsLib(lib) {
			continue
		}
		runs := []int{1}
		if single < scaleTotal && lib != scaleReference {
			runs = append(runs, (scaleTotal+single-1)/single)
		}
		for _, shards := range runs {
			if ctx.Err() != nil {
				return
			}
			n, mode := single, "single"
			if shards > 1 {
				n, mode = scaleTotal, "sharded"
			}
			var prof string
			if c.profiled(lib) {
				prof = filepath.Join(c.pprofDir, fmt.Sprintf("%s-scale-%s-broadcast.cpu.pprof", lib, mode))
			}
			cell := scaleOne(ctx, srvBin, cliBin, lib, n, shards, prof)
			cell.Mode = mode
			if raiseErr != nil {
				cell.NoFileNote = fmt.Sprintf("raising RLIMIT_NOFILE to %d: %v", scaleTotal+1000, raiseErr)
			}
			log.Printf("scale %-9s %-7s %6d conns over %d server(s) (nofile %d): RSS %.1f MB (%.0f B/conn, heap %.0f, stack %.0f), accept %.0f/s, broadcast to all in %.0f ms (server fan-out %.0f ms), %d got it %s",
				lib, mode, cell.Opened, shards, cell.NoFile, cell.RSSMB, cell.RSSPerConn, cell.HeapPerConn, cell.StackPerConn,
				cell.AcceptRate, cell.BroadcastMs, cell.FanOutMs, cell.Got, cell.Err)
			if mode == "single" && len(cell.Classes) > 0 {
				log.Printf("scale %-9s where the bytes of a held connection go (runtime/metrics /memory/classes/, B/conn): %s", lib, classesText(cell.Classes))
			}
			res.Scale = append(res.Scale, cell)
		}
	}
}

func classesText(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	var parts []string
	for _, k := range keys {
		if math.Abs(m[k]) >= 1 {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// raiseNoFileTo tries to raise RLIMIT_NOFILE to want, for this process
// and the children it starts; failing that, to the hard limit. It returns
// the limit in force, and why want was refused.
func raiseNoFileTo(want uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur >= want {
		return rl.Cur, nil
	}
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, rl.Max)})
	if err == nil {
		return want, nil
	}
	rl.Cur = rl.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur, err
}

// runsLib reports whether lib was asked for: by name, or as hybi's modes
// when hybi is in the run.
func (c *config) runsLib(lib string) bool {
	if lib == scaleReference {
		return c.runsLib("hybi")
	}
	for _, l := range c.libs {
		if l == lib || (lib == "hybi-poll" && l == "hybi") {
			return true
		}
	}
	return false
}

// scaleProc is a child process spoken to by lines: commands on stdin,
// JSON answers on stdout.
type scaleProc struct {
	ctx  context.Context // bounds every wait for an answer
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	done chan struct{}
}

func startScaleProc(ctx context.Context, bin string, args ...string) (*scaleProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &scaleProc{ctx: ctx, cmd: cmd, in: in, out: bufio.NewScanner(out), done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// line reads the next line of output, waiting at most d.
func (p *scaleProc) line(d time.Duration) (string, error) {
	ch := make(chan string, 1)
	go func() {
		if p.out.Scan() {
			ch <- p.out.Text()
		}
		close(ch)
	}()
	select {
	case l, ok := <-ch:
		if !ok {
			return "", fmt.Errorf("%s exited", filepath.Base(p.cmd.Path))
		}
		return l, nil
	case <-time.After(d):
		return "", fmt.Errorf("%s: no answer within %v", filepath.Base(p.cmd.Path), d)
	case <-p.ctx.Done():
		return "", fmt.Errorf("%s: %w", filepath.Base(p.cmd.Path), p.ctx.Err())
	}
}

func (p *scaleProc) ask(cmd string, d time.Duration, v any) error {
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return err
	}
	l, err := p.line(d)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(l), v)
}

// stop closes stdin, which ends the child, and kills it if it lingers.
func (p *scaleProc) stop() {
	p.in.Close()
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *scaleProc) rss() int64 {
	rss, _, _ := procfs.RSS(strconv.Itoa(p.cmd.Process.Pid))
	return rss
}

type scaleStats struct {
	Conns      int              `json:"conns"`
	Heap       int64            `json:"heap"`
	Stack      int64            `json:"stack"`
	Goroutines int              `json:"goroutines"`
	NoFile     uint64           `json:"nofile"`
	FanOutNs   int64            `json:"fanout_ns"`
	Classes    map[string]int64 `json:"classes"`
	Err        string           `json:"err"`
}

type clientReady struct {
	OK        int    `json:"ok"`
	Failed    int    `json:"failed"`
	Err       string `json:"err"`
	ConnectNs int64  `json:"connect_ns"`
}

type clientResult struct {
	Round      int   `json:"round"`
	Got        int   `json:"got"`
	Lost       int   `json:"lost"`
	LastUnixNs int64 `json:"last_unix_ns"`
}

// scaleOne holds total connections to lib over shards server processes
// and broadcasts to them.
// With prof, the first server writes a CPU profile of its broadcast there.
func scaleOne(ctx context.Context, srvBin, cliBin, lib string, total, shards int, prof string) (cell scaleCell) {
	cell = scaleCell{Lib: lib, Shards: shards, Conns: total}
	ctx, cancel := context.WithTimeout(ctx, scaleRunTimeout)
	defer cancel()
	var errs []string
	fail := func(err error) {
		errs = append(errs, err.Error())
	}
	defer func() { cell.Err = strings.Join(errs, "; ") }()

	srvs := make([]*scaleProc, shards)
	addrs := make([]string, shards)
	defer func() {
		for _, s := range srvs {
			if s != nil {
				s.stop()
			}
		}
	}()
	for i := range srvs {
		args := []string{"-lib", lib, "-addr", "127.0.0.1:0"}
		if prof != "" && i == 0 {
			args = append(args, "-broadcast-cpuprofile", prof)
		}
		s, err := startScaleProc(ctx, srvBin, args...)
		if err != nil {
			fail(err)
			return
		}
		srvs[i] = s
		l, err := s.line(10 * time.Second)
		if err != nil {
			fail(err)
			return
		}
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "ws":
				addrs[i] = v
			case "nofile":
				n, _ := strconv.ParseUint(v, 10, 64)
				if cell.NoFile == 0 || n < cell.NoFile {
					cell.NoFile = n
				}
			}
		}
	}
	if per := (total + shards - 1) / shards; cell.NoFile > 0 && uint64(per)+64 > cell.NoFile {
		fail(fmt.Errorf("%d connections per server process, over its open-file limit of %d", per, cell.NoFile))
		return
	}
	// Baselines, after the servers settled.
	time.Sleep(200 * time.Millisecond)
	base := make([]scaleStats, shards)
	var baseRSS int64
	for i, s := range srvs {
		if err := s.ask("stats", 30*time.Second, &base[i]); err != nil {
			fail(err)
			return
		}
		baseRSS += s.rss()
	}

	// One client process per server, all connecting at once.
	clis := make([]*scaleProc, shards)
	defer func() {
		for _, cl := range clis {
			if cl != nil {
				cl.stop()
			}
		}
	}()
	t0 := time.Now()
	for i := range clis {
		n := total / shards
		if i < total%shards {
			n++
		}
		cl, err := startScaleProc(ctx, cliBin, "-addr", addrs[i], "-n", strconv.Itoa(n), "-src", strconv.Itoa(scaleSources),
			"-timeout", scaleTimeout.String())
		if err != nil {
			fail(err)
			return
		}
		clis[i] = cl
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, cl := range clis {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r clientReady
			l, err := cl.line(scaleTimeout + 5*time.Second)
			if err == nil {
				err = json.Unmarshal([]byte(l), &r)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fail(err)
				cell.ClientsFailed++
				return
			}
			cell.Opened += r.OK
			if r.Err != "" {
				fail(fmt.Errorf("%d connections failed, first: %s", r.Failed, r.Err))
			}
		}()
	}
	wg.Wait()
	connect := time.Since(t0)
	cell.ConnectSecs = connect.Seconds()
	cell.AcceptRate = float64(cell.Opened) / connect.Seconds()
	if cell.Opened == 0 || ctx.Err() != nil {
		return
	}

	// Memory, after a collection in every server.
	var rss, heap, stack int64
	held := 0
	for i, s := range srvs {
		var st scaleStats
		if err := s.ask("stats", 60*time.Second, &st); err != nil {
			fail(err)
			return
		}
		held += st.Conns
		rss += s.rss()
		heap += st.Heap - base[i].Heap
		stack += st.Stack - base[i].Stack
		for k, v := range st.Classes {
			if cell.Classes == nil {
				cell.Classes = map[string]float64{}
			}
			cell.Classes[k] += float64(v-base[i].Classes[k]) / float64(cell.Opened)
		}
	}
	cell.RSSMB, cell.BaseRSSMB = float64(rss)/1e6, float64(baseRSS)/1e6
	cell.RSSPerConn = float64(rss-baseRSS) / float64(cell.Opened)
	cell.HeapPerConn = float64(heap) / float64(cell.Opened)
	cell.StackPerConn = float64(stack) / float64(cell.Opened)
	if held != cell.Opened {
		fail(fmt.Errorf("servers hold %d connections, clients opened %d", held, cell.Opened))
	}

	// The broadcast, scaleRounds times: ordered to every server at once,
	// timed until the last client has it; the median is reported.
	var times, fanOuts []float64
	for round := 1; round <= scaleRounds && ctx.Err() == nil; round++ {
		results := make(chan clientResult, shards)
		for _, cl := range clis {
			go func() {
				var r clientResult
				l, err := cl.line(scaleTimeout)
				if err == nil {
					err = json.Unmarshal([]byte(l), &r)
				}
				if err != nil || r.Round != round {
					r.Got = -1
				}
				results <- r
			}()
		}
		tb := time.Now()
		fanOut := make(chan int64, shards)
		for _, s := range srvs {
			go func() {
				var st scaleStats
				if err := s.ask("broadcast", scaleTimeout, &st); err != nil || st.Err != "" {
					mu.Lock()
					fail(errors.Join(err, errorsNew(st.Err)))
					mu.Unlock()
				}
				fanOut <- st.FanOutNs
			}()
		}
		var last int64
		got, broken := 0, 0
		for range clis {
			r := <-results
			if r.Got < 0 {
				broken++
				continue
			}
			got += r.Got
			last = max(last, r.LastUnixNs)
		}
		var fo int64
		for range srvs {
			fo = max(fo, <-fanOut)
		}
		if broken > 0 || got < cell.Opened {
			cell.ClientsFailed += broken
			fail(fmt.Errorf("round %d: only %d of %d connections got the broadcast", round, got, cell.Opened))
			cell.Got = got
			break
		}
		cell.Got = got
		times = append(times, float64(last-tb.UnixNano())/1e6)
		fanOuts = append(fanOuts, float64(fo)/1e6)
	}
	cell.BroadcastRunsMs = times
	cell.BroadcastMs, cell.FanOutMs = medianF(times), medianF(fanOuts)
	return cell
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func errorsNew(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// scaleBars are issue #15's bars 7 and 8.
func (r *results) scaleBars() []bar {
	var bars []bar
	// Bar 7: idle bytes per connection, against fixed figures.
	for _, b := range []struct {
		lib   string
		limit float64
		what  string
	}{{"hybi", 4300, "a goroutine each (conn.Handler)"}, {"hybi-poll", 1300, "conn/poll"}} {
		name := fmt.Sprintf("Idle connection with %s ≤ %s B RSS", b.what, num(b.limit))
		h, ok := find(r.Idle, func(c idleCell) bool { return c.Lib == b.lib && c.Err == "" })
		if !ok {
			bars = append(bars, bar{name, "not measured", "N/A"})
			continue
		}
		m := fmt.Sprintf("%s B (heap %s, stack %s) at %s conns", num(h.RSSPerConn), num(h.HeapPerConn), num(h.StackPerConn), commas(int64(h.Conns)))
		for _, peer := range []string{"gobwas", "gorilla", "gws"} {
			if p, ok := find(r.Idle, func(c idleCell) bool { return c.Lib == peer && c.Err == "" }); ok && p.RSSPerConn > 0 {
				m += fmt.Sprintf("; %.2f× %s (%s B)", h.RSSPerConn/p.RSSPerConn, peer, num(p.RSSPerConn))
			}
		}
		bars = append(bars, bar{name, m, verdict(h.RSSPerConn <= b.limit)})
	}

	// Bar 8: 100,000 connections, sharded.
	name := "100,000 connections: server RSS ≤ 200 MB (summed over the shards), broadcast to all ≤ 1 s"
	var parts []string
	pass, measured := false, false
	for _, c := range r.Scale {
		if c.Conns < scaleTotal {
			continue // one process's most, below 100,000
		}
		measured = true
		if c.Err != "" && c.Opened == 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", c.Lib, c.Err))
			continue
		}
		ok := c.Err == "" && c.Opened >= scaleTotal && c.Got >= scaleTotal && c.RSSMB <= 200 && c.BroadcastMs <= 1000
		if c.Lib == "hybi-poll" || c.Lib == "hybi" {
			pass = pass || ok
		}
		if c.Lib == scaleReference {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s conns over %d server processes (open-file limit %s each): RSS %.1f MB (%s B/conn over %.1f MB of baselines), all had the broadcast in %.0f ms",
			c.Lib, commas(int64(c.Opened)), c.Shards, commas(int64(c.NoFile)), c.RSSMB, num(c.RSSPerConn), c.BaseRSSMB, c.BroadcastMs))
	}
	if !measured {
		bars = append(bars, bar{name, "not measured", "N/A"})
	} else {
		bars = append(bars, bar{name, strings.Join(parts, "; "), verdict(pass)})
	}
	return bars
}

func (r *results) scaleMarkdown(p func(string, ...any)) {
	if len(r.Scale) == 0 {
		return
	}
	p("## 100,000 connections (scale)\n\n")
	p("Connections held idle, then one 16 B text message broadcast to all of them (hybi: a PreparedMessage written by GOMAXPROCS goroutines; gws: its Broadcaster). `netconn` is not a library: a net/http handler that hijacks, answers 101 and keeps the net.Conn, the floor under any library served by net/http (its net.Conn, netFD, addresses and the runtime's poll descriptor). ")
	p("**Sharded:** the open-file limit here is hard-capped at 20,000 per process (RLIMIT_NOFILE cannot be raised: no CAP_SYS_RESOURCE; CI has the same cap), so no one process can hold 100,000 sockets. ")
	p("`single` is the most one server process holds under that limit; `sharded` spreads 100,000 over k server processes (one port each), each driven by its own epoll load-client process over source addresses 127.0.0.1-127.0.0.%d. ", scaleSources)
	p("RSS is summed over the server processes (baselines included); B/conn is over the baselines. Broadcast time runs from the order to the servers to the last arrival at any client, median of %d broadcasts (each run's times in results.json); server fan-out is the longest time a server spent writing. On this 2-core machine the sharded broadcast shares the cores with the other server and client processes: it is bound by CPU (the kernel's loopback send, about 10 µs per write, is most of a server's profile).\n\n", scaleRounds)
	if n := r.Scale[0].NoFileNote; n != "" {
		p("Open-file limit: %s.\n\n", mdEscape(n))
	}
	p("| Library | Mode | Servers | Conns open | open-file limit | RSS MB (baselines) | RSS B/conn | heap B/conn | stack B/conn | accepts/s | broadcast to all ms | server fan-out ms | got it |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Scale {
		p("| %s | %s | %d | %s | %s | %.1f (%.1f) | %s | %s | %s | %s | %.0f | %.0f | %s |", c.Lib, c.Mode, c.Shards, commas(int64(c.Opened)),
			commas(int64(c.NoFile)), c.RSSMB, c.BaseRSSMB, num(c.RSSPerConn), num(c.HeapPerConn), num(c.StackPerConn), num(c.AcceptRate),
			c.BroadcastMs, c.FanOutMs, commas(int64(c.Got)))
		if c.Err != "" {
			p(" error: %s", mdEscape(c.Err))
		}
		p("\n")
	}
	p("\n")
}

func (r *results) scaleErrors() []string {
	var e []string
	for _, c := range r.Scale {
		if c.Err != "" {
			e = append(e, fmt.Sprintf("scale %s %s: %s", c.Lib, c.Mode, c.Err))
		}
	}
	return e
}
