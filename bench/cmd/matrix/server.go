package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/hybi-go/hybi/bench/internal/procfs"
)

// server is one bench-server child process.
type server struct {
	lib  string
	cmd  *exec.Cmd
	ws   string // WebSocket address
	ctl  string // control address
	done chan struct{}
}

// stats mirrors bench-server's /stats.
type stats struct {
	RSS        int64 `json:"rss"`
	HWM        int64 `json:"hwm"`
	HeapInuse  int64 `json:"heap"`
	HeapAlloc  int64 `json:"heap_alloc"`
	StackInuse int64 `json:"stack"`
	Sys        int64 `json:"sys"`
	Goroutines int   `json:"goroutines"`
	CPUNanos   int64 `json:"cpu_ns"`
	Mallocs    int64 `json:"mallocs"`
	TotalAlloc int64 `json:"total_alloc"`
	NumGC      int64 `json:"num_gc"`
	SyscR      int64 `json:"syscr"`
	SyscW      int64 `json:"syscw"`
}

// startServer starts bench-server and waits for its addresses.
func startServer(ctx context.Context, bin, lib string, deflate bool) (*server, error) {
	args := []string{"-lib", lib, "-addr", "127.0.0.1:0"}
	if deflate {
		args = append(args, "-deflate")
	}
	return startServerArgs(ctx, bin, lib, args, nil)
}

// startServerTLS starts bench-server, with useTLS serving HTTPS: HTTP/2
// with WebSockets over it, which net/http's server offers only when
// GODEBUG holds http2xconnect=1 at start (Go 1.24 to 1.27), and HTTP/1.1.
func startServerTLS(ctx context.Context, bin, lib string, useTLS bool) (*server, error) {
	args := []string{"-lib", lib, "-addr", "127.0.0.1:0"}
	if !useTLS {
		return startServerArgs(ctx, bin, lib, args, nil)
	}
	godebug := os.Getenv("GODEBUG")
	if godebug != "" {
		godebug += ","
	}
	env := append(os.Environ(), "GODEBUG="+godebug+"http2xconnect=1")
	return startServerArgs(ctx, bin, lib, append(args, "-tls"), env)
}

// startServerArgs starts bench-server with args, and env if not nil.
func startServerArgs(ctx context.Context, bin, lib string, args, env []string) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{lib: lib, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	line := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		l, _ := br.ReadString('\n')
		line <- l
		io.Copy(io.Discard, br)
	}()
	select {
	case l := <-line:
		for _, f := range strings.Fields(l) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "ws":
				s.ws = v
			case "ctl":
				s.ctl = v
			}
		}
		if s.ws == "" || s.ctl == "" {
			s.stop()
			return nil, fmt.Errorf("%s: server did not start (%q)", lib, l)
		}
		return s, nil
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	s.stop()
	return nil, fmt.Errorf("%s: server start timed out", lib)
}

// stop kills the child we started and waits for it.
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

var ctlClient = &http.Client{Timeout: 30 * time.Second}

// stats reads the server's /stats; with gc, after a collection. RSS is then
// read from /proc/PID/status by the parent as well.
func (s *server) stats(gc bool) (stats, error) {
	var st stats
	u := "http://" + s.ctl + "/stats"
	if gc {
		u += "?gc=1"
	}
	resp, err := ctlClient.Get(u)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, err
	}
	if rss, hwm, err := procRSS(s.cmd.Process.Pid); err == nil {
		st.RSS, st.HWM = rss, hwm
	}
	return st, nil
}

// procRSS reads VmRSS and VmHWM of pid.
func procRSS(pid int) (rss, hwm int64, err error) {
	return procfs.RSS(strconv.Itoa(pid))
}

// profile fetches a CPU and an allocation profile of the server over the
// next d into dir, named after cell.
// The returned func waits for both.
func (s *server) profile(dir, cell string, d time.Duration) (wait func()) {
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	fetch := func(path, file string) { s.fetch(path+"?seconds="+secs, dir+"/"+file) }
	done := make(chan struct{}, 2)
	for _, p := range [][2]string{{"/debug/pprof/profile", ".cpu.pprof"}, {"/debug/pprof/allocs", ".allocs.pprof"}} {
		go func() {
			fetch(p[0], s.lib+"-"+cell+p[1])
			done <- struct{}{}
		}()
	}
	return func() { <-done; <-done }
}

// fetch saves the control server's answer at path to file.
func (s *server) fetch(path, file string) {
	resp, err := ctlClient.Get("http://" + s.ctl + path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprof:", err)
		return
	}
	io.Copy(f, resp.Body)
	f.Close()
}
