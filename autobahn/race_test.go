//go:build race

package autobahn

// raceEnabled: the race detector slows the runner tenfold, too much for
// the whole catalogue; see TestCompliance.
const raceEnabled = true
