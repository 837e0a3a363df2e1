//go:build unix && !linux

package raw

// preemptions is 0: this platform does not say how often a thread was
// taken off its processor, and spins back off only when they find nothing.
func preemptions() int64 { return 0 }
