package suite

import (
	"crypto/tls"
	"strconv"
	"strings"
	"time"
)

// Case is one test case of the catalogue.
type Case struct {
	// ID is the suite's number, like "6.4.3".
	ID string
	// Description and Expectation say what the case sends and what a
	// conforming peer does, in the words of this runner.
	Description string
	Expectation string
	// Tags name the faults the case is designed to catch, for tests of
	// the runner itself ("invalid-utf8" for text that must be refused).
	Tags []string

	// deflate, for the compression cases, is what the runner offers as a
	// client and how it answers offers as a server.
	deflate *deflateSpec

	// Start runs when the connection is open. It sets expectations and
	// sends; handlers it installs on the session run later.
	Start func(s *Session)
}

// Section returns the first number of the ID ("6" for "6.4.3").
func (c *Case) Section() string {
	sec, _, _ := strings.Cut(c.ID, ".")
	return sec
}

// HasTag reports whether the case carries tag.
func (c *Case) HasTag(tag string) bool {
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// IDLess orders case IDs numerically, component by component.
func IDLess(a, b string) bool { return idLess(a, b) }

func idLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}

// Options configure a run of the runner.
type Options struct {
	// Agent names the peer under test in reports.
	Agent string
	// CloseTimeout bounds the closing handshake and, when the runner is
	// the client, the wait for the server to drop TCP (the suite's
	// closeHandshakeTimeout and serverConnectionDropTimeout). 0 means 1 s.
	CloseTimeout time.Duration
	// MaxWait caps the time a case waits for a peer that does not answer
	// before it closes (the performance cases would wait up to 1000 s).
	// 0 means 60 s.
	MaxWait time.Duration
	// DeflateMessages is how many messages each 12.* and 13.* case sends;
	// 0 means the suite's 1000.
	DeflateMessages int
	// Logf, if set, receives one line per case.
	Logf func(format string, args ...any)

	// HTTP2 makes the fuzzing client open each case's WebSocket over
	// HTTP/2 (RFC 8441): a TLS connection of its own that selects "h2",
	// then an extended CONNECT; the server URL is wss://. The fuzzing
	// server needs no option: it takes the extended CONNECT of any
	// request that comes to it over HTTP/2.
	HTTP2 bool
	// TLSConfig configures the fuzzing client's TLS connections (HTTP2);
	// nil means the defaults. The runner sets ServerName and NextProtos.
	TLSConfig *tls.Config
}

func (o *Options) closeTimeout() time.Duration {
	if o == nil || o.CloseTimeout <= 0 {
		return time.Second
	}
	return o.CloseTimeout
}

func (o *Options) maxWait() time.Duration {
	if o == nil || o.MaxWait <= 0 {
		return 60 * time.Second
	}
	return o.MaxWait
}

func (o *Options) linger() time.Duration { return 2 * o.closeTimeout() }

func (o *Options) caseLimit() time.Duration { return o.maxWait() + 30*time.Second }

func (o *Options) deflateMessages() int {
	if o == nil || o.DeflateMessages <= 0 {
		return 1000
	}
	return o.DeflateMessages
}

func (o *Options) logf(format string, args ...any) {
	if o != nil && o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Select returns the cases of the catalogue whose IDs match one of the
// patterns and none of the exclusions, in catalogue order. A pattern is
// an ID in which * matches any run of characters ("6.*", "*").
func Select(all []*Case, patterns, exclude []string) []*Case {
	var out []*Case
	for _, c := range all {
		if matchAny(patterns, c.ID) && !matchAny(exclude, c.ID) {
			out = append(out, c)
		}
	}
	return out
}

func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if globMatch(p, id) {
			return true
		}
	}
	return false
}

// globMatch matches s against p, where * matches any run of characters.
func globMatch(p, s string) bool {
	star := strings.IndexByte(p, '*')
	if star < 0 {
		return p == s
	}
	if !strings.HasPrefix(s, p[:star]) {
		return false
	}
	rest := p[star+1:]
	for i := star; i <= len(s); i++ {
		if globMatch(rest, s[i:]) {
			return true
		}
	}
	return false
}
