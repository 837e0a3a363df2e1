package interop_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/selfsigned"
	"github.com/hybi-go/hybi/internal/testnet"
)

// WebSockets over HTTP/2 (RFC 8441) through third-party reverse proxies
// that terminate TLS and HTTP/2 and speak extended CONNECT on their
// frontend: Debian's nghttpx and HAProxy. hybi's client dials them with
// handshake.HTTP2Always. TestProxyH2Client puts Node's ws behind them over
// HTTP/1.1; TestProxyH2Server puts hybi's server behind them over
// cleartext HTTP/2, where they open the WebSocket with an extended CONNECT
// of their own. TestProxyH2Fallback checks HTTP2IfOffered's fallback to
// HTTP/1.1 against HAProxy told not to announce extended CONNECT.

// An h2Proxy is a reverse proxy run as a child process. Its peer's argv
// ignores the script name; dir is set per run.
type h2Proxy struct {
	peer
	// config writes into dir the configuration of a proxy that listens
	// with TLS (certificate and key in dir, see writeCert) as c says, and
	// returns the proxy's arguments.
	config func(dir string, c proxyConfig) ([]string, error)
}

// A proxyConfig is what a proxy is started with.
type proxyConfig struct {
	listen  string // 127.0.0.1:PORT, TLS with ALPN h2 and http/1.1
	backend string // 127.0.0.1:PORT
	// h2Backend forwards over cleartext HTTP/2 (prior knowledge), with
	// extended CONNECT for WebSockets; otherwise over HTTP/1.1.
	h2Backend bool
	// noExtendedConnect keeps the frontend from announcing extended
	// CONNECT on HTTP/2 (HAProxy's h2-workaround-bogus-websocket-clients),
	// so that clients use HTTP/1.1 for WebSockets.
	noExtendedConnect bool
}

// proxyTimeout is HAProxy's timeout on either side, which it warns about
// when none is set; the checks end well before it.
const proxyTimeout = "60s"

var h2Proxies = []h2Proxy{
	{
		peer: binaryPeer("nghttpx", "nghttp2-proxy"),
		// nghttpx takes RFC 8441 on its frontend, and on an HTTP/2
		// backend opens the WebSocket with an extended CONNECT when the
		// backend allows it, with no setting for either.
		config: func(dir string, c proxyConfig) ([]string, error) {
			if c.noExtendedConnect {
				return nil, errors.New("nghttpx always announces extended CONNECT")
			}
			host, port, _ := net.SplitHostPort(c.listen)
			bhost, bport, _ := net.SplitHostPort(c.backend)
			proto := "http/1.1"
			if c.h2Backend {
				proto = "h2"
			}
			cfg := fmt.Sprintf(`frontend=%s,%s
backend=%s,%s;;proto=%s
private-key-file=%s
certificate-file=%s
workers=1
single-process=yes
no-ocsp=yes
errorlog-file=/dev/stderr
`, host, port, bhost, bport, proto, filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem"))
			name := filepath.Join(dir, "nghttpx.conf")
			return []string{"--conf=" + name}, os.WriteFile(name, []byte(cfg), 0o600)
		},
	},
	{
		peer: binaryPeer("haproxy", "haproxy"),
		// HAProxy (2.4 and later) announces extended CONNECT on an
		// HTTP/2 frontend unless h2-workaround-bogus-websocket-clients
		// is set, and uses it towards an HTTP/2 server ("proto h2").
		config: func(dir string, c proxyConfig) ([]string, error) {
			proto, workaround := "", ""
			if c.h2Backend {
				proto = " proto h2"
			}
			if c.noExtendedConnect {
				workaround = "\n\th2-workaround-bogus-websocket-clients"
			}
			cfg := fmt.Sprintf(`global
	nbthread 1%[6]s
defaults
	mode http
	timeout connect 5s
	timeout client %[4]s
	timeout server %[4]s
	timeout tunnel %[4]s
frontend fe
	bind %[1]s ssl crt %[5]s alpn h2,http/1.1
	default_backend be
backend be
	server s1 %[2]s%[3]s
`, c.listen, c.backend, proto, proxyTimeout, filepath.Join(dir, "haproxy.pem"), workaround)
			name := filepath.Join(dir, "haproxy.cfg")
			// -db: stay in the foreground, logging to stderr.
			return []string{"-db", "-f", name}, os.WriteFile(name, []byte(cfg), 0o600)
		},
	},
}

// binaryPeer is the peer for the executable bin of Debian's package pkg,
// found on PATH or in /usr/sbin, where Debian puts both proxies and which
// is on no PATH but root's.
func binaryPeer(bin, pkg string) peer {
	look := func() (string, error) {
		path, err := exec.LookPath(bin)
		if err != nil {
			path, err = exec.LookPath(filepath.Join("/usr/sbin", bin))
		}
		return path, err
	}
	return peer{
		name: bin,
		argv: func(_ string, args ...string) []string {
			path, err := look()
			if err != nil {
				path = bin // start reports it
			}
			return append([]string{path}, args...)
		},
		missing: func() string {
			if _, err := look(); err != nil {
				return fmt.Sprintf("%s is not installed: run `apt-get install -y %s`", bin, pkg)
			}
			return ""
		},
	}
}

// startProxy starts p as c says, on a free port whatever c.listen, and
// returns the address it serves TLS on and a TLS configuration that trusts
// it.
func startProxy(t *testing.T, p h2Proxy, c proxyConfig) (string, *tls.Config) {
	t.Helper()
	p.dir = t.TempDir()
	roots := writeCert(t, p.dir)
	// The proxy binds a port that was just free. Should another process
	// take it in between, the proxy exits, and a new port is tried.
	var why string
	for range 3 {
		c.listen = testnet.FreeAddr(t)
		args, err := p.config(p.dir, c)
		if err != nil {
			t.Fatal(err)
		}
		pr := p.start(t, "", args...)
		if err := waitListening(pr, c.listen, 10*time.Second); err != nil {
			why = fmt.Sprintf("%v; stderr:\n%s", err, pr.stderr.String())
			pr.cancel()
			<-pr.done
			continue
		}
		return c.listen, &tls.Config{RootCAs: roots}
	}
	t.Fatalf("%s did not start: %s", p.name, why)
	return "", nil
}

// waitListening waits until addr accepts TCP connections, failing early if
// pr exits.
func waitListening(pr *process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := pr.exitErr(); err != nil {
			return fmt.Errorf("exited before listening on %s: %v", addr, err)
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeCert writes a new self-signed certificate for 127.0.0.1 and its key
// to dir as cert.pem and key.pem, both in haproxy.pem (HAProxy's form), and
// returns a pool that trusts it.
func writeCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	c, err := selfsigned.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := c.PEM()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"cert.pem":    certPEM,
		"key.pem":     keyPEM,
		"haproxy.pem": append(append([]byte(nil), certPEM...), keyPEM...),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c.Pool()
}

// A proxyDialer makes the handshake.Dialer of a test, which records the
// protocol each of its TLS handshakes selected and counts the bytes of its
// TCP connections.
type proxyDialer struct {
	tls  *tls.Config // trusts the proxy
	mode handshake.HTTP2Mode
	pool *handshake.HTTP2Pool // nil: none

	mu    sync.Mutex
	alpn  []string        // NegotiatedProtocol of each TLS handshake
	conns []*countingConn // each TCP connection dialled
}

func (pd *proxyDialer) dialer() handshake.Dialer {
	cfg := pd.tls.Clone()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		pd.mu.Lock()
		defer pd.mu.Unlock()
		pd.alpn = append(pd.alpn, cs.NegotiatedProtocol)
		return nil
	}
	return handshake.Dialer{
		TLSConfig: cfg,
		HTTP2:     pd.mode,
		HTTP2Pool: pd.pool,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cc := &countingConn{Conn: nc}
			pd.mu.Lock()
			defer pd.mu.Unlock()
			pd.conns = append(pd.conns, cc)
			return cc, nil
		},
	}
}

// protocols returns what each TLS handshake selected, in order.
func (pd *proxyDialer) protocols() []string {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return slices.Clone(pd.alpn)
}

// wire returns the bytes read and written on all the TCP connections.
func (pd *proxyDialer) wire() int64 {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	var n int64
	for _, c := range pd.conns {
		n += c.total()
	}
	return n
}

// proxySizes are the echo sizes through a proxy: the three length
// encodings at their edges, and 1 MiB, which spans many HTTP/2 DATA frames
// and flow control windows on both hops.
var proxySizes = []int{0, 125, 126, 65535, 65536, 1 << 20}

// Close codes in the application range, which no proxy or library would
// put in by itself: what arrives was sent by the other end.
const (
	proxyCloseByHybi = conn.StatusCode(4001)
	proxyCloseByPeer = conn.StatusCode(4002)
)

// A proxySuite is one run of the hybi client's checks through a proxy.
type proxySuite struct {
	url  string // wss:// URL of the proxy, ending in "/"
	tls  *tls.Config
	exts func() []extension.Extension // of every Dial; nil: none
	ext  wantExtensions
	// peerClosed waits for the backend to report a close frame with
	// code and reason from hybi.
	peerClosed func(t *testing.T, code conn.StatusCode, reason string)
}

// runProxyClient runs the checks of s, one WebSocket each, and checks that
// every one was opened on HTTP/2.
func runProxyClient(t *testing.T, s proxySuite) {
	dialWith := func(t *testing.T, pd *proxyDialer, url string) (*conn.Conn, context.Context) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		t.Cleanup(cancel)
		o := conn.DialOptions{Dialer: pd.dialer()}
		o.ReadLimit = readLimit
		if s.exts != nil {
			o.Extensions = s.exts()
		}
		c, resp, err := conn.Dial(ctx, url, &o)
		if err != nil {
			t.Fatalf("Dial %s: %v (response %v)", url, err, resp)
		}
		t.Cleanup(func() { c.CloseNow() })
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
			t.Errorf("handshake response %s %q, want HTTP/2.0 200", resp.Proto, resp.Status)
		}
		if err := s.ext.check(c.Extensions()); err != nil {
			t.Errorf("Extensions() = %q: %v", c.Extensions(), err)
		}
		return c, ctx
	}
	// dialMode opens a WebSocket on a TCP connection of its own, which
	// must have selected h2 in TLS.
	dialMode := func(t *testing.T, mode handshake.HTTP2Mode, url string) (*conn.Conn, context.Context) {
		t.Helper()
		pd := &proxyDialer{tls: s.tls, mode: mode}
		c, ctx := dialWith(t, pd, url)
		if alpn := pd.protocols(); len(alpn) != 1 || alpn[0] != "h2" {
			t.Errorf("TLS handshakes selected %q, want one, of h2", alpn)
		}
		return c, ctx
	}
	dial := func(t *testing.T, url string) (*conn.Conn, context.Context) {
		t.Helper()
		return dialMode(t, handshake.HTTP2Always, url)
	}
	closeWith := func(t *testing.T, c *conn.Conn, code conn.StatusCode, reason string) {
		t.Helper()
		// nil: the backend's close frame came back through the proxy.
		if err := c.Close(code, reason); err != nil {
			t.Errorf("Close(%d, %q): %v", code, reason, err)
		}
	}
	echo := func(t *testing.T, c *conn.Conn, ctx context.Context, typ conn.MessageType, want []byte) {
		t.Helper()
		if err := c.Write(ctx, typ, want); err != nil {
			t.Fatalf("Write: %v", err)
		}
		gotType, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		expectMessage(t, gotType, got, typ, want)
	}

	for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
		for _, n := range proxySizes {
			t.Run(fmt.Sprintf("echo/%s/%d", typeName(typ), n), func(t *testing.T) {
				c, ctx := dial(t, s.url)
				echo(t, c, ctx, typ, payload(n, typ))
				closeWith(t, c, conn.StatusNormalClosure, "")
			})
		}
	}

	t.Run("echo/utf8", func(t *testing.T) {
		c, ctx := dial(t, s.url)
		echo(t, c, ctx, conn.MessageText, []byte(utf8Text))
		closeWith(t, c, conn.StatusNormalClosure, "")
	})

	if s.ext.deflate {
		t.Run(fmt.Sprintf("echo/compressible/%d", compressibleSize), func(t *testing.T) {
			// The proxy forwards the compressed frames as they are: the
			// client's TCP connection carries a fraction of the message.
			pd := &proxyDialer{tls: s.tls, mode: handshake.HTTP2Always}
			c, ctx := dialWith(t, pd, s.url)
			echo(t, c, ctx, conn.MessageText, compressibleText())
			closeWith(t, c, conn.StatusNormalClosure, "")
			if alpn := pd.protocols(); len(alpn) != 1 || alpn[0] != "h2" {
				t.Fatalf("TLS handshakes selected %q, want one, of h2", alpn)
			}
			checkWire(t, 2*compressibleSize, pd.wire())
		})
	}

	t.Run("pipelined", func(t *testing.T) {
		c, ctx := dial(t, s.url)
		const n = 100
		for i := range n {
			if err := c.Write(ctx, conn.MessageText, fmt.Appendf(nil, "msg %d", i)); err != nil {
				t.Fatalf("Write %d: %v", i, err)
			}
		}
		for i := range n {
			gotType, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("Read %d: %v", i, err)
			}
			expectMessage(t, gotType, got, conn.MessageText, fmt.Appendf(nil, "msg %d", i))
		}
		closeWith(t, c, conn.StatusNormalClosure, "")
	})

	t.Run("ping", func(t *testing.T) {
		c, ctx := dial(t, s.url)
		readDone := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx)
			readDone <- err
		}()
		if err := c.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		closeWith(t, c, conn.StatusNormalClosure, "")
		if err := <-readDone; err == nil {
			t.Errorf("Read after Close returned no error")
		}
	})

	t.Run("pool", func(t *testing.T) {
		// WebSockets dialled with one HTTP2Pool share one TCP connection
		// to the proxy, each on its own stream, open at the same time.
		pd := &proxyDialer{tls: s.tls, mode: handshake.HTTP2Always, pool: new(handshake.HTTP2Pool)}
		defer pd.pool.CloseIdleConnections()
		var cs []*conn.Conn
		var ctx context.Context
		for range 3 {
			var c *conn.Conn
			c, ctx = dialWith(t, pd, s.url)
			cs = append(cs, c)
		}
		for i, c := range cs {
			echo(t, c, ctx, conn.MessageBinary, payload(1000+i, conn.MessageBinary))
		}
		if alpn := pd.protocols(); len(alpn) != 1 {
			t.Errorf("3 WebSockets on one pool made %d TCP connections, want 1", len(alpn))
		}
		for _, c := range cs {
			closeWith(t, c, conn.StatusNormalClosure, "")
		}
	})

	t.Run("if-offered", func(t *testing.T) {
		// HTTP2IfOffered sees the proxy's SETTINGS_ENABLE_CONNECT_PROTOCOL
		// and stays on HTTP/2.
		c, ctx := dialMode(t, handshake.HTTP2IfOffered, s.url)
		echo(t, c, ctx, conn.MessageText, []byte(utf8Text))
		closeWith(t, c, conn.StatusNormalClosure, "")
	})

	t.Run("close/by-hybi", func(t *testing.T) {
		c, _ := dial(t, s.url)
		closeWith(t, c, proxyCloseByHybi, "bye")
		s.peerClosed(t, proxyCloseByHybi, "bye")
		// Both backends answer a close frame with its code.
		if ce := c.CloseReason(); ce == nil || ce.Code != proxyCloseByHybi {
			t.Errorf("CloseReason() = %v, want the backend's answer with code %d", ce, proxyCloseByHybi)
		}
	})

	t.Run("close/by-peer", func(t *testing.T) {
		c, ctx := dial(t, fmt.Sprintf("%s?close=%d&reason=done", s.url, proxyCloseByPeer))
		typ, p, err := c.Read(ctx)
		if err == nil {
			t.Fatalf("Read returned a %s message %q, want the peer's close", typeName(typ), p)
		}
		var ce *conn.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("Read error %v (%T) is no *conn.CloseError", err, err)
		}
		if ce.Code != proxyCloseByPeer || ce.Reason != "done" {
			t.Errorf("CloseError = %d %q, want %d \"done\"", ce.Code, ce.Reason, proxyCloseByPeer)
		}
	})
}

// TestProxyH2Client runs hybi's client over HTTP/2 through each proxy to
// Node's ws over HTTP/1.1, without and with permessage-deflate, which the
// proxy passes through in the handshake headers.
func TestProxyH2Client(t *testing.T) {
	node := peerNamed(t, "node-ws")
	for _, p := range h2Proxies {
		for _, deflated := range []bool{false, true} {
			name := p.name + "/node-ws"
			if deflated {
				name += "/deflate"
			}
			t.Run(name, func(t *testing.T) {
				p.require(t)
				node.require(t)
				var args []string
				s := proxySuite{}
				if deflated {
					args = []string{`{"threshold":0}`}
					s.exts = func() []extension.Extension { return []extension.Extension{deflate.New(nil)} }
					s.ext = wantExtensions{deflate: true}
				}
				srv, backend := node.startServer(t, args...)
				addr, cfg := startProxy(t, p, proxyConfig{backend: backend})
				s.url, s.tls = "wss://"+addr+"/", cfg
				s.peerClosed = func(t *testing.T, code conn.StatusCode, reason string) {
					t.Helper()
					want := fmt.Sprintf("close %d %s", code, reason)
					if _, ok := srv.waitLine(10*time.Second, func(l string) bool { return l == want }); !ok {
						lines, _ := srv.out.snapshot()
						t.Errorf("ws never printed %q; its output: %q", want, lines)
					}
				}
				runProxyClient(t, s)
			})
		}
	}
}

// TestProxyH2Fallback runs hybi's client against HAProxy told not to
// announce extended CONNECT (h2-workaround-bogus-websocket-clients): it
// still selects h2 in TLS, so HTTP2Always must fail with
// ErrExtendedConnectNotSupported, and HTTP2IfOffered must fall back to
// the HTTP/1.1 handshake on a new connection, through the same proxy to
// Node's ws.
func TestProxyH2Fallback(t *testing.T) {
	var p h2Proxy
	for _, q := range h2Proxies {
		if q.name == "haproxy" {
			p = q
		}
	}
	p.require(t)
	node := peerNamed(t, "node-ws")
	node.require(t)
	_, backend := node.startServer(t)
	addr, cfg := startProxy(t, p, proxyConfig{backend: backend, noExtendedConnect: true})
	url := "wss://" + addr + "/"
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()

	t.Run("always", func(t *testing.T) {
		pd := &proxyDialer{tls: cfg, mode: handshake.HTTP2Always}
		c, resp, err := conn.Dial(ctx, url, &conn.DialOptions{Dialer: pd.dialer()})
		if err == nil {
			c.CloseNow()
			t.Fatalf("Dial succeeded (%s), want an error", resp.Proto)
		}
		if !errors.Is(err, handshake.ErrExtendedConnectNotSupported) || resp != nil {
			t.Errorf("Dial: %v (response %v), want an error wrapping ErrExtendedConnectNotSupported and no response", err, resp)
		}
		if alpn := pd.protocols(); !slices.Equal(alpn, []string{"h2"}) {
			t.Errorf("TLS handshakes selected %q, want [h2]", alpn)
		}
	})

	t.Run("if-offered", func(t *testing.T) {
		pd := &proxyDialer{tls: cfg, mode: handshake.HTTP2IfOffered}
		c, resp, err := conn.Dial(ctx, url, &conn.DialOptions{Dialer: pd.dialer()})
		if err != nil {
			t.Fatalf("Dial: %v (response %v)", err, resp)
		}
		defer c.CloseNow()
		if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("handshake response %s %q, want HTTP/1.1 101", resp.Proto, resp.Status)
		}
		// The HTTP/2 connection without the setting, then one that
		// offers no ALPN, as HTTP2Never does with TLSConfig.NextProtos
		// unset, so that HAProxy speaks HTTP/1.1.
		if alpn := pd.protocols(); !slices.Equal(alpn, []string{"h2", ""}) {
			t.Errorf("TLS handshakes selected %q, want [h2 \"\"]", alpn)
		}
		want := payload(70000, conn.MessageBinary)
		if err := c.Write(ctx, conn.MessageBinary, want); err != nil {
			t.Fatalf("Write: %v", err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		expectMessage(t, typ, got, conn.MessageBinary, want)
		if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestProxyH2Server runs hybi's client through each proxy to hybi's server
// on cleartext HTTP/2, where the proxy opens each WebSocket with an
// extended CONNECT of its own: the server must see nothing but those.
func TestProxyH2Server(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	for _, p := range h2Proxies {
		for _, deflated := range []bool{false, true} {
			name := p.name + "/hybi"
			if deflated {
				name += "/deflate"
			}
			t.Run(name, func(t *testing.T) {
				p.require(t)
				es := &echoServer{t: t}
				s := proxySuite{}
				if deflated {
					exts := []extension.Extension{deflate.New(nil)}
					es.opts = &conn.AcceptOptions{Extensions: exts}
					s.exts = func() []extension.Extension { return []extension.Extension{deflate.New(nil)} }
					s.ext = wantExtensions{deflate: true}
				}
				backend, reqs := startH2Backend(t, es)
				addr, cfg := startProxy(t, p, proxyConfig{backend: backend, h2Backend: true})
				s.url, s.tls = "wss://"+addr+"/", cfg
				s.peerClosed = func(t *testing.T, code conn.StatusCode, reason string) {
					t.Helper()
					waitEchoEnd(t, es, code, reason)
				}
				runProxyClient(t, s)

				reqs.mu.Lock()
				defer reqs.mu.Unlock()
				if len(reqs.seen) == 0 {
					t.Fatal("the backend saw no request")
				}
				for r, n := range reqs.seen {
					if r != "HTTP/2.0 CONNECT websocket" {
						t.Errorf("the backend saw %d requests %q, want only %q", n, r, "HTTP/2.0 CONNECT websocket")
					}
				}
			})
		}
	}
}

// requestLog counts the requests a backend saw by protocol, method and
// :protocol pseudo-header.
type requestLog struct {
	mu   sync.Mutex
	seen map[string]int
}

// startH2Backend serves es on 127.0.0.1 over cleartext HTTP/2 (prior
// knowledge) and HTTP/1.1, and returns its address and the log of its
// requests. The server is closed, and es's handlers waited for, when the
// test ends.
func startH2Backend(t *testing.T, es *echoServer) (string, *requestLog) {
	t.Helper()
	reqs := &requestLog{seen: make(map[string]int)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Protocols: &protos,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqs.mu.Lock()
			reqs.seen[strings.TrimSpace(r.Proto+" "+r.Method+" "+r.Header.Get(":protocol"))]++
			reqs.mu.Unlock()
			es.ServeHTTP(w, r)
		}),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(l)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-served
		done := make(chan struct{})
		go func() { es.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("echo handlers still running 10s after the server closed")
		}
	})
	return l.Addr().String(), reqs
}

// waitEchoEnd waits up to 10 s for an echo loop of es to end with a close
// frame of code and reason.
func waitEchoEnd(t *testing.T, es *echoServer, code conn.StatusCode, reason string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es.mu.Lock()
		ends := append([]error(nil), es.ends...)
		es.mu.Unlock()
		for _, err := range ends {
			var ce *conn.CloseError
			if errors.As(err, &ce) && ce.Code == code && ce.Reason == reason {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no echo loop ended with a close frame %d %q; loop ends: %v", code, reason, ends)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
