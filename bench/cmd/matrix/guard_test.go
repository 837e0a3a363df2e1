package main

import (
	"slices"
	"strings"
	"testing"
)

func TestRotate(t *testing.T) {
	libs := []string{"a", "b", "c"}
	for turn, want := range [][]string{{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}, {"a", "b", "c"}} {
		if got := rotate(libs, turn); !slices.Equal(got, want) {
			t.Errorf("rotate(%v, %d) = %v, want %v", libs, turn, got, want)
		}
	}
	if !slices.Equal(libs, []string{"a", "b", "c"}) {
		t.Errorf("rotate changed its argument: %v", libs)
	}
}

// guardResults has two runs of hybi and the floor in every guard cell,
// hybi's costing hybi1 and hybi2 µs per echo, the floor's 10 each.
func guardResults(hybi1, hybi2 float64) *results {
	r := &results{}
	for _, size := range guardSizes {
		for _, n := range guardConns {
			r.Echo = append(r.Echo, echoCell{Lib: "hybi", Size: size, Conns: n, CPUPerMsgUs: hybi1}, echoCell{Lib: "floor", Size: size, Conns: n, CPUPerMsgUs: 10})
			r.EchoGuard = append(r.EchoGuard, echoCell{Lib: "floor", Size: size, Conns: n, CPUPerMsgUs: 10}, echoCell{Lib: "hybi", Size: size, Conns: n, CPUPerMsgUs: hybi2})
		}
	}
	return r
}

func TestGuardBar(t *testing.T) {
	for _, tc := range []struct {
		hybi1, hybi2 float64
		want         string
	}{
		{10, 10.9, "PASS"}, // 1.045×
		{9, 12, "PASS"},    // the two runs weigh together: 1.05×
		{10, 11.2, "FAIL"}, // 1.06×
		{12, 12, "FAIL"},
	} {
		if b := guardResults(tc.hybi1, tc.hybi2).guardBar(); b.Status != tc.want {
			t.Errorf("hybi %v+%v µs against the floor's 10+10: %s (%s), want %s", tc.hybi1, tc.hybi2, b.Status, b.Measured, tc.want)
		}
	}
	r := guardResults(10, 10)
	r.EchoGuard = r.EchoGuard[2:] // one cell with a single run of each
	if b := r.guardBar(); b.Status != "N/A" || !strings.Contains(b.Measured, "5 of 6") {
		t.Errorf("with a cell measured once: %s (%s), want N/A for 5 of 6 cells", b.Status, b.Measured)
	}
}

func TestABBA(t *testing.T) {
	if got, want := abba("floor", "hybi", 3), []string{"floor", "hybi", "hybi", "floor", "floor", "hybi"}; !slices.Equal(got, want) {
		t.Errorf("abba(floor, hybi, 3) = %v, want %v", got, want)
	}
}

// With more runs of each, all of them weigh, and the report lists them.
func TestGuardBarManyRuns(t *testing.T) {
	r := guardResults(10, 10)
	for _, size := range guardSizes {
		for _, n := range guardConns {
			r.EchoGuard = append(r.EchoGuard,
				echoCell{Lib: "hybi", Size: size, Conns: n, CPUPerMsgUs: 12},
				echoCell{Lib: "floor", Size: size, Conns: n, CPUPerMsgUs: 10},
				echoCell{Lib: "hybi", Size: size, Conns: n, CPUPerMsgUs: 10.5},
				echoCell{Lib: "floor", Size: size, Conns: n, CPUPerMsgUs: 10})
		}
	}
	// hybi 10+10+12+10.5 = 42.5 against 40: 1.06×.
	b := r.guardBar()
	if b.Status != "FAIL" || !strings.Contains(b.Measured, "1.06× (hybi 10.0+10.0+12.0+10.5 vs floor 10.0+10.0+10.0+10.0 µs") {
		t.Errorf("four runs each: %s (%s), want FAIL at 1.06× with every run listed", b.Status, b.Measured)
	}
}

// The guard's report gives hybi-poll's cost against the floor's, over
// the runs of each.
func TestGuardBarPoll(t *testing.T) {
	r := guardResults(10, 10)
	for _, size := range guardSizes {
		for _, n := range guardConns {
			r.Echo = append(r.Echo, echoCell{Lib: "hybi-poll", Size: size, Conns: n, CPUPerMsgUs: 11})
		}
	}
	if b := r.guardBar(); !strings.Contains(b.Measured, "hybi-poll 1.10× the floor") {
		t.Errorf("guard report %q does not give hybi-poll at 1.10× the floor", b.Measured)
	}
}
