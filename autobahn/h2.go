package autobahn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/autobahn/suite"
	"github.com/hybi-go/hybi/autobahn/testee"
	"github.com/hybi-go/hybi/internal/selfsigned"
)

// The catalogue over HTTP/2 (RFC 8441): the same cases, each on a stream
// opened with an extended CONNECT instead of a TCP connection with an
// HTTP/1.1 upgrade.

// ExtendedConnectEnabled reports whether this process's environment
// allows net/http's HTTP/2 server the extended CONNECT of RFC 8441: it
// does only when GODEBUG held http2xconnect=1 when the process started
// (Go 1.24 to 1.27), which this approximates by the environment now.
func ExtendedConnectEnabled() bool {
	return strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1")
}

// ReexecWithExtendedConnect runs this command again with
// GODEBUG=http2xconnect=1, which net/http's HTTP/2 server needs at start
// to take extended CONNECT, and returns its exit status.
func ReexecWithExtendedConnect() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot run again with GODEBUG=http2xconnect=1:", err)
		return 2
	}
	godebug := os.Getenv("GODEBUG")
	if godebug != "" {
		godebug += ","
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug+"http2xconnect=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Pass signals on, and wait for the child to end.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sig {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sig)
	close(sig)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// errNoExtendedConnect is the error of serving HTTP/2 without it.
var errNoExtendedConnect = errors.New("autobahn: net/http's HTTP/2 server refuses extended CONNECT in this process; start it with GODEBUG=http2xconnect=1")

// HTTP2 runs the catalogue over HTTP/2, with a self-signed certificate
// for 127.0.0.1, ::1 and localhost that its clients trust.
type HTTP2 struct {
	server *tls.Config
	client *tls.Config
}

// NewHTTP2 makes a certificate for an HTTP2 run. It fails when the
// process cannot serve extended CONNECT (see ExtendedConnectEnabled).
func NewHTTP2() (*HTTP2, error) {
	if !ExtendedConnectEnabled() {
		return nil, errNoExtendedConnect
	}
	server, client, err := SelfSigned()
	if err != nil {
		return nil, err
	}
	return &HTTP2{server: server, client: client}, nil
}

// ClientTLS returns a client configuration that trusts the servers h
// starts.
func (h *HTTP2) ClientTLS() *tls.Config { return h.client.Clone() }

// Start serves handler over TLS with HTTP/2 (and HTTP/1.1) on a free port
// of 127.0.0.1 and returns its wss:// URL and a function that stops it.
func (h *HTTP2) Start(handler http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: handler, TLSConfig: h.server.Clone(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 1 << 16}
	go srv.ServeTLS(ln, "", "")
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	}
	return "wss://" + ln.Addr().String(), stop, nil
}

// RunHybiServer starts hybi's echo server testee in-process, served over
// HTTP/2, and runs cases against it with the runner's extended CONNECT.
func (h *HTTP2) RunHybiServer(ctx context.Context, t testee.Options, cases []*suite.Case, o *suite.Options) ([]*suite.Result, error) {
	u, stop, err := h.Start(testee.Handler(t))
	if err != nil {
		return nil, err
	}
	defer stop()
	return suite.RunClient(ctx, u, cases, h.options(o)), nil
}

// options returns a copy of o that speaks HTTP/2 and trusts h's server.
func (h *HTTP2) options(o *suite.Options) *suite.Options {
	var c suite.Options
	if o != nil {
		c = *o
	}
	c.HTTP2 = true
	c.TLSConfig = h.ClientTLS()
	return &c
}

// RunClient is RunClient with the fuzzing server served over HTTP/2: the
// client gets a wss:// base and must trust ClientTLS.
func (h *HTTP2) RunClient(ctx context.Context, client ClientFunc, cases []*suite.Case, o *suite.Options) ([]*suite.Result, error) {
	return runClient(ctx, client, cases, o, h.Start)
}

// HybiClient is the ClientFunc of hybi's client testee dialling over
// HTTP/2 (handshake.HTTP2Always) and trusting h's server.
func (h *HTTP2) HybiClient(t testee.Options) ClientFunc {
	t.HTTP2 = true
	t.TLSConfig = h.ClientTLS()
	return HybiClient(t)
}

// SelfSigned returns the TLS configurations of a server with a new
// self-signed certificate for 127.0.0.1, ::1 and localhost, valid for a
// day, and of a client that trusts it.
func SelfSigned() (server, client *tls.Config, err error) {
	c, err := selfsigned.New("hybi autobahn testee")
	if err != nil {
		return nil, nil, err
	}
	server = c.ServerConfig()
	server.NextProtos = []string{"h2", "http/1.1"}
	return server, &tls.Config{RootCAs: c.Pool()}, nil
}
