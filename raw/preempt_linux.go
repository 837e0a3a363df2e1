package raw

import "syscall"

// preemptions returns how many times the calling thread has been taken
// off its processor for another (involuntary context switches).
//
//go:noinline
func preemptions() int64 {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return -1
	}
	return int64(ru.Nivcsw)
}
