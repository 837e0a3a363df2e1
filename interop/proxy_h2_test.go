package interop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// WebSockets over HTTP/2 (RFC 8441) through third-party reverse proxies
// that terminate TLS and HTTP/2 and speak extended CONNECT on their
// frontend: Debian's nghttpx and HAProxy. hybi's client dials them with
// handshake.HTTP2Always. TestProxyH2Client puts Node's ws behind them over
// HTTP/1.1; TestProxyH2Server puts hybi's server behind them over
// cleartext HTTP/2, where they open the WebSocket with an extended CONNECT
// of their own.

// An h2Proxy is a reverse proxy run as a child process. Its peer's argv
// ignores the script name; dir is set per run.
type h2Proxy struct {
	peer
	// config writes into dir the configuration of a proxy that listens
	// with TLS (certificate and key in dir, see writeCert) on listen and
	// forwards to backend, over HTTP/2 in cleartext if h2 is set and
	// HTTP/1.1 otherwise, and returns the proxy's arguments.
	config func(dir, listen, backend string, h2 bool) ([]string, error)
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
		config: func(dir, listen, backend string, h2 bool) ([]string, error) {
			host, port, _ := net.SplitHostPort(listen)
			bhost, bport, _ := net.SplitHostPort(backend)
			proto := "http/1.1"
			if h2 {
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
		config: func(dir, listen, backend string, h2 bool) ([]string, error) {
			proto := ""
			if h2 {
				proto = " proto h2"
			}
			cfg := fmt.Sprintf(`global
	nbthread 1
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
`, listen, backend, proto, proxyTimeout, filepath.Join(dir, "haproxy.pem"))
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

// startProxy starts p in front of backend and returns the address it
// serves TLS on and a TLS configuration that trusts it.
func startProxy(t *testing.T, p h2Proxy, backend string, h2 bool) (string, *tls.Config) {
	t.Helper()
	p.dir = t.TempDir()
	roots := writeCert(t, p.dir)
	// The proxy binds a port that was just free. Should another process
	// take it in between, the proxy exits, and a new port is tried.
	var why string
	for range 3 {
		listen := freeAddr(t)
		args, err := p.config(p.dir, listen, backend, h2)
		if err != nil {
			t.Fatal(err)
		}
		pr := p.start(t, "", args...)
		if err := waitListening(pr, listen, 10*time.Second); err != nil {
			why = fmt.Sprintf("%v; stderr:\n%s", err, pr.stderr.String())
			pr.cancel()
			<-pr.done
			continue
		}
		return listen, &tls.Config{RootCAs: roots}
	}
	t.Fatalf("%s did not start: %s", p.name, why)
	return "", nil
}

// freeAddr returns "127.0.0.1:PORT" for a port that is free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	for name, data := range map[string][]byte{
		"cert.pem":    certPEM,
		"key.pem":     keyPEM,
		"haproxy.pem": append(append([]byte(nil), certPEM...), keyPEM...),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return roots
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
	// dialer returns a Dialer for HTTP/2 only, whose TLS handshakes record
	// the protocol the proxy selected, and whose TCP dials are counted.
	type dialStats struct {
		dials atomic.Int64
		alpn  atomic.Pointer[string]
		conn  atomic.Pointer[countingConn]
	}
	dialer := func(st *dialStats, pool *handshake.HTTP2Pool) handshake.Dialer {
		cfg := s.tls.Clone()
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			p := cs.NegotiatedProtocol
			st.alpn.Store(&p)
			return nil
		}
		return handshake.Dialer{
			TLSConfig: cfg,
			HTTP2:     handshake.HTTP2Always,
			HTTP2Pool: pool,
			Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
			NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				nc, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				st.dials.Add(1)
				cc := &countingConn{Conn: nc}
				st.conn.Store(cc)
				return cc, nil
			},
		}
	}
	dialWith := func(t *testing.T, st *dialStats, pool *handshake.HTTP2Pool, url string) (*conn.Conn, context.Context) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		t.Cleanup(cancel)
		o := conn.DialOptions{Dialer: dialer(st, pool)}
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
	dial := func(t *testing.T, url string) (*conn.Conn, context.Context) {
		t.Helper()
		var st dialStats
		c, ctx := dialWith(t, &st, nil, url)
		if n := st.dials.Load(); n != 1 {
			t.Errorf("Dial made %d TCP connections, want 1", n)
		}
		if p := st.alpn.Load(); p == nil || *p != "h2" {
			t.Errorf("TLS selected protocol %v, want h2", p)
		}
		return c, ctx
	}
	closeWith := func(t *testing.T, c *conn.Conn, code conn.StatusCode, reason string) {
		t.Helper()
		// nil means the proxy's close frame came back with the same code
		// (conn checks it against what it sent).
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
			var st dialStats
			c, ctx := dialWith(t, &st, nil, s.url)
			echo(t, c, ctx, conn.MessageText, compressibleText())
			closeWith(t, c, conn.StatusNormalClosure, "")
			cc := st.conn.Load()
			if cc == nil {
				t.Fatal("Dial did not use Dialer.NetDialContext")
			}
			checkWire(t, 2*compressibleSize, cc.total())
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
		var st dialStats
		pool := new(handshake.HTTP2Pool)
		defer pool.CloseIdleConnections()
		var cs []*conn.Conn
		var ctx context.Context
		for range 3 {
			var c *conn.Conn
			c, ctx = dialWith(t, &st, pool, s.url)
			cs = append(cs, c)
		}
		for i, c := range cs {
			echo(t, c, ctx, conn.MessageBinary, payload(1000+i, conn.MessageBinary))
		}
		if n := st.dials.Load(); n != 1 {
			t.Errorf("3 WebSockets on one pool made %d TCP connections, want 1", n)
		}
		for _, c := range cs {
			closeWith(t, c, conn.StatusNormalClosure, "")
		}
	})

	t.Run("close/by-hybi", func(t *testing.T) {
		c, _ := dial(t, s.url)
		closeWith(t, c, proxyCloseByHybi, "bye")
		s.peerClosed(t, proxyCloseByHybi, "bye")
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
				addr, cfg := startProxy(t, p, backend, false)
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
				addr, cfg := startProxy(t, p, backend, true)
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
