package testnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ExtendedConnect reports whether net/http's HTTP/2 server in this process
// allows the extended CONNECT of RFC 8441, which it does only when
// GODEBUG holds http2xconnect=1 at start (Go 1.24 to 1.27). When it does
// not, ExtendedConnect runs the top-level test t again in a child process
// whose GODEBUG does, reports the child's failure as t's, and returns
// false: the caller returns at once.
func ExtendedConnect(t *testing.T) bool {
	t.Helper()
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "http2xconnect=1") {
		return true
	}
	if godebug != "" {
		godebug += ","
	}
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-5*time.Second))
		defer cancel()
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug+"http2xconnect=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process with GODEBUG=%shttp2xconnect=1: %v\n%s", godebug, err, out)
	}
	if testing.Verbose() {
		t.Logf("child process:\n%s", out)
	}
	return false
}

// TLSServer is an HTTPS server on 127.0.0.1 that speaks HTTP/2 and
// HTTP/1.1, and counts the TCP connections it accepts.
type TLSServer struct {
	*httptest.Server
	accepts atomic.Int64
}

// NewTLSServer starts a TLSServer with h, closed when the test ends.
// config, if not nil, is called before the server starts.
func NewTLSServer(t testing.TB, h http.Handler, config func(*httptest.Server)) *TLSServer {
	t.Helper()
	s := &TLSServer{Server: httptest.NewUnstartedServer(h)}
	s.Listener = countListener{s.Listener, &s.accepts}
	s.EnableHTTP2 = true
	if config != nil {
		config(s.Server)
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// Accepts returns the number of TCP connections the server accepted.
func (s *TLSServer) Accepts() int64 { return s.accepts.Load() }

// ClientTLS returns a TLS configuration that trusts the server.
func (s *TLSServer) ClientTLS() *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	return &tls.Config{RootCAs: roots}
}

// WSURL returns the server's wss:// URL with path.
func (s *TLSServer) WSURL(path string) string {
	return "wss" + strings.TrimPrefix(s.URL, "https") + path
}

type countListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
