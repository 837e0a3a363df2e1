package interop_test

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hybi-go/hybi/internal/chromium"
)

// skips records the tests skipped for a missing peer, so that the package
// run can say so once at its end: `go test ./...` prints only "ok" for a
// package whose tests passed or skipped, which would hide that a peer
// never ran.
var skips struct {
	mu  sync.Mutex
	why map[string]string // peer -> why it is missing
	n   map[string]int    // peer -> tests skipped
}

// skipMissing records that t skips for peer, missing because of why, and
// skips it.
func skipMissing(t testing.TB, peer, why string) {
	t.Helper()
	skips.mu.Lock()
	if skips.why == nil {
		skips.why, skips.n = map[string]string{}, map[string]int{}
	}
	skips.why[peer] = why
	skips.n[peer]++
	skips.mu.Unlock()
	t.Skipf("peer %s unavailable: %s", peer, why)
}

// requireChromium is chromium.Require, recording a skip.
func requireChromium(t testing.TB) string {
	t.Helper()
	if chromium.Find() == "" && os.Getenv("CI") != "true" {
		skipMissing(t, "chromium", "chromium is not installed: run `apt-get install -y chromium`")
	}
	return chromium.Require(t)
}

// skipSummary returns the report of the skipped peers, "" if none.
func skipSummary() string {
	skips.mu.Lock()
	defer skips.mu.Unlock()
	if len(skips.why) == 0 {
		return ""
	}
	names := make([]string, 0, len(skips.why))
	for name := range skips.why {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("interop: some peers are missing, and the tests that need them were SKIPPED (CI=true makes them fail):\n")
	for _, name := range names {
		fmt.Fprintf(&b, "interop:   %s: %d test(s) skipped: %s\n", name, skips.n[name], skips.why[name])
	}
	return b.String()
}

// reportSkips runs the tests, then prints the skip summary: to stderr,
// which go test shows with -v or when the package fails, and to the
// terminal (/dev/tty) when there is one, since `go test ./...` discards
// the output of a package that passed. In CI there is no terminal, and a
// missing peer fails instead.
type reportSkips struct{ m *testing.M }

func (r reportSkips) Run() int {
	code := r.m.Run()
	if s := skipSummary(); s != "" {
		io.WriteString(os.Stderr, s)
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			io.WriteString(tty, s)
			tty.Close()
		}
	}
	return code
}

// The summary names each missing peer once, with the number of tests it
// cost and how to install it.
func TestSkipSummary(t *testing.T) {
	skips.mu.Lock()
	savedWhy, savedN := skips.why, skips.n
	skips.why, skips.n = nil, nil
	skips.mu.Unlock()
	defer func() {
		skips.mu.Lock()
		skips.why, skips.n = savedWhy, savedN
		skips.mu.Unlock()
	}()
	for i := 0; i < 3; i++ {
		t.Run("skipped", func(t *testing.T) {
			skipMissing(t, "node-ws", "node ws is not installed: run `npm ci` in interop/node")
		})
	}
	got := skipSummary()
	if strings.Count(got, "node-ws") != 1 || !strings.Contains(got, "3 test(s) skipped") || !strings.Contains(got, "npm ci") {
		t.Errorf("summary:\n%s", got)
	}
}
