// Package servers holds one echo server per WebSocket library, each written
// the way that library's own examples and users write one.
package servers

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options configures an echo server.
type Options struct {
	// Deflate turns on permessage-deflate negotiation, in the library's
	// usual configuration.
	Deflate bool
	// TLS, if not nil, serves HTTPS with it: HTTP/2 (where WebSockets
	// are RFC 8441 streams) and HTTP/1.1, chosen by ALPN. Only libraries
	// whose Lib.TLS is set honour it.
	TLS *tls.Config
}

// ServeFunc serves WebSocket echo on ln until ln is closed.
type ServeFunc func(ln net.Listener, o Options) error

// Lib describes one library's echo server.
type Lib struct {
	Name string
	// Deflate reports whether the adapter supports permessage-deflate;
	// DeflateMode says in which configuration.
	Deflate bool
	// TLS reports whether the adapter serves Options.TLS.
	TLS         bool
	DeflateMode string
	// Notes says what is idiomatic about the adapter.
	Notes string
	// Variant marks an alternative configuration, run only when named.
	Variant bool
	// Reference marks a server that is neither hybi nor a peer (the
	// floor): shown for comparison, never counted as the best peer.
	Reference bool
	// Scenarios lists the scenarios the library runs in; empty means
	// all. It keeps a mode that matters to one scenario (conn/poll for
	// idle connections, say) out of the others.
	Scenarios []string
	Serve     ServeFunc
}

// Runs reports whether l takes part in the named scenario.
func (l *Lib) Runs(scenario string) bool {
	return len(l.Scenarios) == 0 || slices.Contains(l.Scenarios, scenario)
}

var registry = map[string]*Lib{}

func register(l *Lib) { registry[l.Name] = l }

// Get returns the named library.
func Get(name string) (*Lib, error) {
	l, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown lib %q (have %v)", name, Names())
	}
	return l, nil
}

// Names lists the libraries of the default set: hybi, its modes, then the
// peers.
func Names() []string {
	var n []string
	for k, l := range registry {
		if !l.Variant {
			n = append(n, k)
		}
	}
	sortHybiFirst(n)
	return n
}

// sortHybiFirst sorts library names: hybi and its modes, then the peers.
func sortHybiFirst(n []string) {
	sort.Slice(n, func(i, j int) bool {
		if hi, hj := IsHybi(n[i]), IsHybi(n[j]); hi != hj {
			return hi
		}
		return n[i] < n[j]
	})
}

// Variants lists the alternative configurations.
func Variants() []string {
	var n []string
	for k, l := range registry {
		if l.Variant {
			n = append(n, k)
		}
	}
	sort.Strings(n)
	return n
}

// IsHybi reports whether name is hybi or one of its variants: those are
// never counted as peers.
func IsHybi(name string) bool { return name == "hybi" || strings.HasPrefix(name, "hybi-") }

// IsPeer reports whether name is one of the libraries hybi is measured
// against.
func IsPeer(name string) bool {
	l, ok := registry[name]
	return ok && !IsHybi(name) && !l.Reference
}

// serveHTTP serves h on ln with a plain net/http server, as every adapter
// built on net/http does; with o.TLS, HTTPS with HTTP/2 as well.
func serveHTTP(ln net.Listener, h http.Handler, o Options) error {
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if o.TLS == nil {
		return s.Serve(ln)
	}
	s.TLSConfig = o.TLS
	// Each WebSocket on an HTTP/2 connection is a stream that stays open:
	// net/http's default of 250 concurrent streams would refuse the
	// 251st WebSocket, and the benchmark puts up to 1,000 on one
	// connection.
	s.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: maxStreams}
	return s.ServeTLS(ln, "", "")
}

// maxStreams is the HTTP/2 server's limit on streams, so on WebSockets,
// per connection.
const maxStreams = 100_000

// readLimit is raised for every library, so that 1 MiB messages pass.
const readLimit = 64 << 20
