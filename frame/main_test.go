package frame

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMain fails the run if a test leaves a goroutine behind: after the
// tests, the goroutine count has 2s to come back to where it started.
func TestMain(m *testing.M) {
	start := runtime.NumGoroutine()
	code := m.Run()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > start {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "leaked goroutines: %d at the end, %d at the start\n\n%s\n",
				runtime.NumGoroutine(), start, buf)
			os.Exit(1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Exit(code)
}
