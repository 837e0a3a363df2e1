package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildScale builds the scale scenario's server and client.
func buildScale(t *testing.T) (srv, cli string) {
	t.Helper()
	dir := t.TempDir()
	srv, cli = filepath.Join(dir, "scale-server"), filepath.Join(dir, "scale-client")
	for bin, pkg := range map[string]string{srv: "../scale-server", cli: "../scale-client"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return srv, cli
}

// TestScaleSharded runs the scale scenario in small: connections spread
// over two server processes, each with its own client process, every one
// of them must get the broadcast, and the memory and timing figures must
// be filled in.
func TestScaleSharded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs child processes")
	}
	srv, cli := buildScale(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, lib := range scaleLibs {
		t.Run(lib, func(t *testing.T) {
			c := scaleOne(ctx, srv, cli, lib, 301, 2, "")
			if c.Err != "" {
				t.Fatal(c.Err)
			}
			if c.Opened != 301 || c.Got != 301 {
				t.Fatalf("opened %d, %d got the broadcast; want 301 and 301", c.Opened, c.Got)
			}
			if c.RSSMB <= c.BaseRSSMB || c.BroadcastMs <= 0 || c.AcceptRate <= 0 || c.NoFile == 0 {
				t.Fatalf("figures missing: %+v", c)
			}
			if c.Classes["heap/objects"] <= 0 {
				t.Fatalf("no memory classes: %v", c.Classes)
			}
		})
	}
}

// TestScaleOverLimit checks that the scenario refuses, with a clear error,
// to put more connections in one process than its open-file limit allows,
// instead of running into EMFILE half-way.
func TestScaleOverLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs child processes")
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Max > 200_000 {
		t.Skipf("open-file limit %d: too high to exceed cheaply", rl.Max)
	}
	srv, cli := buildScale(t)
	c := scaleOne(context.Background(), srv, cli, "hybi-poll", int(rl.Max)+100, 1, "")
	if !strings.Contains(c.Err, "over its open-file limit") || c.Opened != 0 {
		t.Fatalf("err %q, opened %d; want the limit refused before connecting", c.Err, c.Opened)
	}
}

// TestScaleBars checks the verdicts of bars 7 and 8 and that the report
// says the 100,000 are sharded.
func TestScaleBars(t *testing.T) {
	r := &results{
		Idle: []idleCell{
			{Lib: "hybi", Conns: 10000, RSSPerConn: 4200},
			{Lib: "hybi-poll", Conns: 10000, RSSPerConn: 1400},
			{Lib: "gobwas", Conns: 10000, RSSPerConn: 5600},
		},
		Scale: []scaleCell{
			{Lib: "hybi-poll", Mode: "single", Shards: 1, Conns: 19000, Opened: 19000, Got: 19000, NoFile: 20000,
				NoFileNote: "raising RLIMIT_NOFILE to 101000: operation not permitted"},
			{Lib: "hybi-poll", Mode: "sharded", Shards: 6, Conns: 100000, Opened: 100000, Got: 100000, NoFile: 20000, RSSMB: 180, BroadcastMs: 900},
			{Lib: "gws", Mode: "sharded", Shards: 6, Conns: 100000, Opened: 100000, Got: 100000, NoFile: 20000, RSSMB: 800, BroadcastMs: 1300},
		},
	}
	bars := r.scaleBars()
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3", len(bars))
	}
	if bars[0].Status != "PASS" || bars[1].Status != "FAIL" {
		t.Errorf("bar 7: %s %s, want PASS (4,200 ≤ 4,300) and FAIL (1,400 > 1,300)", bars[0].Status, bars[1].Status)
	}
	if bars[2].Status != "PASS" {
		t.Errorf("bar 8: %s (%s), want PASS (180 MB, 900 ms)", bars[2].Status, bars[2].Measured)
	}
	r.Scale[1].BroadcastMs = 1001
	if b := r.scaleBars()[2]; b.Status != "FAIL" {
		t.Errorf("bar 8 with a 1,001 ms broadcast: %s", b.Status)
	}
	md := r.markdown()
	for _, s := range []string{"**Sharded:**", "operation not permitted", "| hybi-poll | sharded | 6 | 100,000 | 20,000 |"} {
		if !strings.Contains(md, s) {
			t.Errorf("results.md lacks %q", s)
		}
	}
}
