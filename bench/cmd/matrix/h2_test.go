package main

import (
	"strings"
	"testing"
)

// TestH2Report checks that the h2 scenario's cells reach results.md with
// their ratios against hybi over HTTP/1.1, and that a cell that failed
// counts as an error, which makes the matrix exit with status 2.
func TestH2Report(t *testing.T) {
	r := &results{
		H2: []h2Cell{
			{Transport: transH1, Size: 1024, WebSockets: 16, TCPConns: 16, Rate: 1000, P99Ms: 2, CPUPerMsgUs: 10},
			{Transport: transH2, Size: 1024, WebSockets: 16, TCPConns: 1, Rate: 500, P99Ms: 3, CPUPerMsgUs: 15, ReadsPerMsg: 0.5, WritesPerMsg: 1.25},
			{Transport: transH2, Size: 1024, WebSockets: 16, TCPConns: 16, Err: "boom | bang"},
		},
		H2Idle: []h2IdleCell{
			{Transport: transH1, WebSockets: 1000, TCPConns: 1000, RSSPerWS: 8000, HeapPerWS: 2000},
			{Transport: transH2, WebSockets: 1000, TCPConns: 1, RSSPerWS: 24000, HeapPerWS: 12000, Goroutines: 2000},
		},
	}
	md := r.markdown()
	for _, want := range []string{
		"## WebSockets over HTTP/2",
		"| 16 | hybi-h2 | 1 | 500 | 0.50× | 0.00 | 0.000 | 3.000 | 1.50× | 15.0 | 1.50× | 0.00 | 0.50 + 1.25 |",
		"| 16 | hybi-h2 | 16 | error: boom \\| bang |",
		"| hybi-h2 | 1,000 | 1 | 24,000 | 3.00× | 12,000 | 6.00× | 0.00 | 2.00 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	errs := r.errors()
	if len(errs) != 1 || !strings.Contains(errs[0], "h2 hybi-h2 1KiB×16/16: boom") {
		t.Errorf("errors() = %q", errs)
	}
}
