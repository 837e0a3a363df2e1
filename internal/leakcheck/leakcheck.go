// Package leakcheck fails a test binary that leaves goroutines behind. Every
// package's TestMain calls Main, so a leaked connection, handler, timer
// callback or peer process shows up as a failure with its stack.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Grace is how long goroutines that are just finishing get to end.
const Grace = 5 * time.Second

// Main runs the tests and exits; it exits 1 if they passed but goroutines
// that did not exist before them are still running after Grace. m is a
// *testing.M, or a wrapper that does more around its Run.
func Main(m interface{ Run() int }) {
	before := goroutines()
	code := m.Run()
	if code == 0 {
		if leaked := wait(before); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) outlived the tests:\n\n%s\n",
				len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

func wait(before map[string]bool) []string {
	deadline := time.Now().Add(Grace)
	for {
		var leaked []string
		for id, stack := range goroutinesWithStacks() {
			if !before[id] && !ignored(stack) {
				leaked = append(leaked, stack)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ignored reports goroutines that the runtime and the testing package
// start for themselves and keep: the signal watcher that fuzzing starts,
// and this goroutine.
func ignored(stack string) bool {
	return strings.Contains(stack, "os/signal.") ||
		strings.Contains(stack, "runtime.ensureSigM") ||
		strings.Contains(stack, "leakcheck.goroutinesWithStacks") ||
		strings.Contains(stack, "testing.(*M).")
}

func goroutines() map[string]bool {
	ids := make(map[string]bool)
	for id := range goroutinesWithStacks() {
		ids[id] = true
	}
	return ids
}

// goroutinesWithStacks maps each goroutine's "goroutine N" header to its
// stack.
func goroutinesWithStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		m[id] = g
	}
	return m
}
