package main

import (
	"strings"
	"testing"

	"github.com/hybi-go/hybi/bench/micro"
)

// microResults returns cells of every op and size with hybi at the given
// multiple of its reference's throughput.
func microResults(mask, ascii, multi float64) *results {
	r := &results{}
	for _, n := range []int{16, 128, 1 << 10, 16 << 10, 1 << 20} {
		add := func(op, kernel string, gbps float64) {
			r.Micro = append(r.Micro, microCell{Op: op, Size: n, Bytes: n, Kernel: kernel, GBps: gbps, NsOp: float64(n) / gbps, Median: float64(n) / gbps, Rounds: 5})
		}
		add("mask", "hybi", 10*mask)
		add("mask", "copy", 10)
		add("mask", "gobwas", 5)
		add("utf8-ascii", "hybi", 10*ascii)
		add("utf8-ascii", "utf8.Valid", 10)
		add("utf8-ascii", micro.ReadFloor, 20.5)
		add("utf8-multibyte", "hybi", 10*multi)
		add("utf8-multibyte", "utf8.Valid", 10)
	}
	return r
}

// TestMicroBars checks the verdicts of the masking and UTF-8 bars on each
// side of their thresholds, the sizes they weigh, and that a failed cell
// makes the bar unmeasured and counts as an error.
func TestMicroBars(t *testing.T) {
	verdicts := func(r *results) (string, string) {
		b := r.microBars()
		if len(b) != 2 {
			t.Fatalf("microBars() = %d bars, want 2", len(b))
		}
		return b[0].Status, b[1].Status
	}
	for _, tt := range []struct {
		mask, ascii, multi float64
		wantMask, wantUTF8 string
	}{
		{1.2, 2.5, 1.5, "PASS", "PASS"},
		{0.9, 2.5, 1.5, "FAIL", "PASS"}, // below 1× at 16 KiB and 1 MiB
		{1.2, 1.9, 1.5, "PASS", "FAIL"},
		{1.2, 2.5, 0.95, "PASS", "FAIL"},
	} {
		m, u := verdicts(microResults(tt.mask, tt.ascii, tt.multi))
		if m != tt.wantMask || u != tt.wantUTF8 {
			t.Errorf("mask %.2f×, ascii %.2f×, multibyte %.2f×: %s, %s; want %s, %s", tt.mask, tt.ascii, tt.multi, m, u, tt.wantMask, tt.wantUTF8)
		}
	}

	// 0.5× copy suffices at 128 B and 1 KiB, not at 16 KiB.
	r := microResults(1.2, 2.5, 1.5)
	for i, c := range r.Micro {
		if c.Op == "mask" && c.Kernel == "hybi" && (c.Size == 128 || c.Size == 1<<10) {
			r.Micro[i].GBps = 5.5
		}
	}
	if m, _ := verdicts(r); m != "PASS" {
		t.Errorf("mask at 0.55× copy at 128 B and 1 KiB: %s, want PASS", m)
	}
	// The UTF-8 bar leaves out 16 B and 128 B, and says so.
	for i, c := range r.Micro {
		if c.Op == "utf8-ascii" && c.Kernel == "hybi" && c.Size <= 128 {
			r.Micro[i].GBps = 12
		}
	}
	b := r.microBars()
	if b[1].Status != "PASS" || !strings.Contains(b[1].Measured, "outside the bar: ascii 16B 1.20×, ascii 128B 1.20×") {
		t.Errorf("UTF-8 bar with small texts at 1.2×: %+v", b[1])
	}
	// The read floor is reported beside the bar, on ASCII at its sizes,
	// and is not a validator: its cells change no verdict.
	if want := "the read floor on ASCII: 1KiB 2.05×, 16KiB 2.05×, 1MiB 2.05×"; !strings.Contains(b[1].Measured, want) {
		t.Errorf("UTF-8 bar: %q does not say %q", b[1].Measured, want)
	}

	// A failed cell: not measured, and an error.
	r = microResults(1.2, 2.5, 1.5)
	for i, c := range r.Micro {
		if c.Op == "mask" && c.Kernel == "hybi" && c.Size == 1<<10 {
			r.Micro[i].Err = "benchmark failed"
		}
	}
	if m, _ := verdicts(r); m != "N/A" {
		t.Errorf("mask bar with a failed cell: %s, want N/A", m)
	}
	if errs := r.errors(); len(errs) != 1 || !strings.Contains(errs[0], "micro mask 1KiB hybi: benchmark failed") {
		t.Errorf("errors() = %q", errs)
	}
	md := r.markdown()
	for _, want := range []string{"## Masking and UTF-8 validation", "| mask | 16KiB | hybi | 1365.33 | 12.00 | 1.20× | 1365.33 | 0 |", "| mask | 1KiB | hybi | error: benchmark failed |"} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q", want)
		}
	}
}
