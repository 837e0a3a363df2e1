//go:build !race

package handshake

import (
	"net/http"
	"testing"
)

// TestUpgradeHelpersAllocs pins what the server's handshake allocates
// beyond net/http: the response, in one allocation, and nothing to check
// the key or the tokens. Every connection pays for this garbage, and a
// short-lived object that shares a span with an idle connection's objects
// keeps the span's free room from going back to the system.
func TestUpgradeHelpersAllocs(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	h := http.Header{"Connection": {"keep-alive, Upgrade"}}
	u := &Upgrader{}
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"ComputeAccept", 1, func() { _ = ComputeAccept(key) }},
		{"hasToken", 0, func() { _ = hasToken(h, "Connection", "upgrade") }},
		{"validKey", 0, func() { _ = validKey(key) }},
		{"response", 1, func() { _ = u.response(key, "", "") }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}
