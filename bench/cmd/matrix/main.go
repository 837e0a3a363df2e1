// Command matrix runs the benchmark matrix of hybi against gorilla, coder,
// gobwas and gws, and writes results.md, results.svg and results.json.
//
//	cd bench && go run ./cmd/matrix -out results          # full, under 10 minutes
//	cd bench && go run ./cmd/matrix -quick -out results   # CI smoke, under a minute
//
// Every server runs as a child process (bench-server, built once), so that
// its RSS can be read from /proc/PID/status; one load client, in this
// process, drives all of them over 127.0.0.0/8.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/bench/servers"
)

type config struct {
	out          string
	quick        bool
	libs         []string
	only         map[string]bool
	d, warmup    time.Duration
	sizes        []int
	conns        []int
	sizesSet     bool // -sizes was given: the h2 scenario takes it too
	connsSet     bool // -conns was given: WebSockets per h2 cell
	idleConns    int
	loadRate     float64
	loadDur      time.Duration
	loadWarmup   time.Duration
	deflateConns int
	deflateEcho  int
	startups     int
	sourceIPs    int
	readLoops    int
	pprofDir     string
	pprofLibs    map[string]bool
	note         string
	bin          string
}

func main() {
	var c config
	var libs, only, sizes, conns string
	flag.StringVar(&c.out, "out", "results", "output directory")
	flag.BoolVar(&c.quick, "quick", false, "run a small subset (under a minute), for CI smoke")
	flag.StringVar(&libs, "libs", strings.Join(servers.Names(), ","), "libraries to run; variants: "+strings.Join(servers.Variants(), ", "))
	flag.StringVar(&only, "only", "", "scenarios to run (comma list of echo,single,pipeline,idle,deflate,startup,h2,scale,micro,broadcast,slowconsumer); empty means all")
	flag.DurationVar(&c.d, "d", 0, "measurement time per echo cell (default 2s, quick 1s)")
	flag.DurationVar(&c.warmup, "warmup", 0, "warmup per echo cell (default 500ms, quick 200ms)")
	flag.StringVar(&sizes, "sizes", "", "echo message sizes in bytes (default 16,1024,16384,1048576; h2: 16,1024,16384)")
	flag.StringVar(&conns, "conns", "", "echo connection counts (default 1,16,256; h2: 16,256 WebSockets)")
	flag.IntVar(&c.idleConns, "idle-conns", 0, "connections for the idle and 10K-load scenarios (default 10000, quick 1000)")
	flag.Float64Var(&c.loadRate, "rate", 0, "total message rate of the 10K load (default 10000/s: one message per connection per second)")
	flag.DurationVar(&c.loadDur, "load-d", 0, "measurement time of the 10K load (default 3s, quick 1s)")
	flag.IntVar(&c.deflateConns, "deflate-conns", 0, "compressed connections for bytes per connection (default 1000, quick 100)")
	flag.IntVar(&c.deflateEcho, "deflate-echo-conns", 16, "connections for the compressed echo throughput")
	flag.IntVar(&c.startups, "startups", 0, "cold starts per library, median reported (default 5, quick 1)")
	flag.IntVar(&c.sourceIPs, "source-ips", 8, "source addresses 127.0.0.1..n to spread connections over")
	flag.IntVar(&c.readLoops, "read-loops", 1, "broadcast: epoll loops the client reads its connections with (0: a goroutine per connection)")
	flag.StringVar(&c.pprofDir, "pprof", "", "if set, save CPU and allocation profiles of the hybi server for every echo and deflate cell here")
	flag.StringVar(&c.note, "note", "", "a note printed under the header (e.g. \"machine shared with other jobs\")")
	pprofLibs := flag.String("pprof-libs", "", "libraries to profile with -pprof (default: hybi and its variants)")
	from := flag.String("from", "", "re-render results.md and results.svg from this results.json instead of running")
	strict := flag.Bool("strict", false, "exit with status 1 when a bar fails (cells that err always give status 2)")
	timeout := flag.Duration("timeout", 0, "abort after this long (default 15m, quick 4m)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *from != "" {
		rerender(*from, c.out)
		return
	}

	def := func(d *time.Duration, full, quick time.Duration) {
		if *d == 0 {
			*d = full
			if c.quick {
				*d = quick
			}
		}
	}
	defi := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.quick {
				*v = quick
			}
		}
	}
	def(&c.d, 2*time.Second, time.Second)
	def(&c.warmup, 500*time.Millisecond, 200*time.Millisecond)
	def(&c.loadDur, 3*time.Second, time.Second)
	def(&c.loadWarmup, time.Second, 300*time.Millisecond)
	def(timeout, 15*time.Minute, 4*time.Minute)
	defi(&c.idleConns, 10000, 1000)
	defi(&c.deflateConns, 1000, 100)
	defi(&c.startups, 5, 1)
	if c.loadRate == 0 {
		c.loadRate = 10000
	}
	c.sizes = []int{16, 1 << 10, 16 << 10, 1 << 20}
	c.conns = []int{1, 16, 256}
	if c.quick {
		c.sizes = []int{16, 1 << 10}
		c.conns = []int{16, 256}
	}
	if sizes != "" {
		c.sizes, c.sizesSet = parseInts(sizes), true
	}
	if conns != "" {
		c.conns, c.connsSet = parseInts(conns), true
	}
	c.libs = strings.Split(libs, ",")
	for _, l := range c.libs {
		if _, err := servers.Get(l); err != nil {
			log.Fatal(err)
		}
	}
	c.pprofLibs = map[string]bool{}
	for _, s := range strings.Split(*pprofLibs, ",") {
		if s != "" {
			c.pprofLibs[s] = true
		}
	}
	c.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s != "" {
			c.only[s] = true
		}
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		log.Fatal(err)
	}
	if c.pprofDir != "" {
		if err := os.MkdirAll(c.pprofDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	raiseNoFile(c.idleConns + 1000)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	tmp, err := os.MkdirTemp("", "hybi-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	c.bin = filepath.Join(tmp, "bench-server")
	log.Printf("building bench-server")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "github.com/hybi-go/hybi/bench/cmd/bench-server")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("go build bench-server: %v", err)
	}

	start := time.Now()
	res := &results{Started: start, Command: commandLine(), Machine: machine(), Note: c.note, Quick: c.quick, Libs: c.libs}
	for _, l := range c.libs {
		lib, _ := servers.Get(l)
		res.LibInfo = append(res.LibInfo, libInfo{Name: l, Notes: lib.Notes, DeflateMode: lib.DeflateMode})
	}
	run := func(name string, f func(context.Context, *config, *results)) {
		if len(c.only) > 0 && !c.only[name] {
			return
		}
		if ctx.Err() != nil {
			log.Printf("%s: skipped, out of time", name)
			return
		}
		t := time.Now()
		f(ctx, &c, res)
		log.Printf("%s: done in %v", name, time.Since(t).Round(time.Millisecond))
	}
	run("startup", runStartup)
	run("echo", runEcho)
	run("single", runSingle)
	run("pipeline", runPipeline)
	run("idle", runIdle)
	run("deflate", runDeflate)
	run("h2", runH2)
	run("scale", runScale) // issue #15: 100,000 connections, sharded (scale.go)
	run("micro", runMicro) // issue #15, bars 5 and 6: masking and UTF-8 (micro.go)
	run("broadcast", runBroadcast)
	run("slowconsumer", runSlowConsumer)
	res.Elapsed = time.Since(start)

	if err := res.write(c.out); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s/results.md, results.svg, results.json in %v", c.out, res.Elapsed.Round(time.Second))
	fmt.Println(res.barsText())
	if errs := res.errors(); len(errs) > 0 {
		for _, e := range errs {
			log.Print("error: ", e)
		}
		os.Exit(2)
	}
	if *strict {
		for _, b := range res.Bars {
			if b.Status == "FAIL" {
				os.Exit(1)
			}
		}
	}
}

// libsFor returns the libraries of the run that take part in scenario.
func (c *config) libsFor(scenario string) []string {
	var libs []string
	for _, name := range c.libs {
		if l, err := servers.Get(name); err == nil && l.Runs(scenario) {
			libs = append(libs, name)
		}
	}
	return libs
}

func parseInts(s string) []int {
	var v []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil {
			log.Fatalf("bad number %q", f)
		}
		v = append(v, n)
	}
	return v
}

func raiseNoFile(want int) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if int(rl.Cur) < want {
		log.Printf("warning: open file limit %d is below the %d connections asked for", rl.Cur, want)
	}
}

func commandLine() string {
	args := slices.Clone(os.Args[1:])
	for i, a := range args {
		if strings.ContainsAny(a, " '\"$;&|") {
			args[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.TrimSpace("cd bench && go run ./cmd/matrix " + strings.Join(args, " "))
}

func machine() machineInfo {
	m := machineInfo{NProc: nproc(), GoVersion: goVersion()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// profiled reports whether lib's server is profiled.
func (c *config) profiled(lib string) bool {
	if c.pprofDir == "" {
		return false
	}
	if len(c.pprofLibs) > 0 {
		return c.pprofLibs[lib]
	}
	return servers.IsHybi(lib)
}

func rerender(from, out string) {
	b, err := os.ReadFile(from)
	if err != nil {
		log.Fatal(err)
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := r.write(out); err != nil {
		log.Fatal(err)
	}
	fmt.Print(r.barsText())
}
