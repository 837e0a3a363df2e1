// Package procfs reads the memory figures of a process from /proc, for
// both the bench server (of itself) and the matrix (of its children).
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// RSS reads VmRSS and VmHWM, in bytes, from a /proc/PID/status file:
// "self" or a process id.
func RSS(pid string) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	return rss, hwm, nil
}
