package interop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/internal/leakcheck"
)

// The fixtures below match common.js and common.py (see README.md).
const (
	utf8Text = "héllo wörld ✓ 𝄞"
	// peerClientChecks is how many PASS lines client.js and client.py print.
	peerClientChecks = 19
)

var sizes = []int{0, 125, 126, 65535, 65536, 16 << 20}

// readLimit is the ReadLimit of hybi's ends: the echoes go up to 16 MiB,
// above conn.DefaultReadLimit.
const readLimit = 32 << 20

// checkTimeout bounds one check; the 16 MiB echoes under -race are the
// slowest.
const checkTimeout = 60 * time.Second

func TestMain(m *testing.M) { leakcheck.Main(reportSkips{m}) }

// payload returns the n-byte test message: an ASCII pattern for text, a
// byte pattern for binary, as common.js and common.py build them.
func payload(n int, typ conn.MessageType) []byte {
	b := make([]byte, n)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range b {
		if typ == conn.MessageBinary {
			b[i] = byte(i*31 + 7)
		} else {
			b[i] = alphabet[i%len(alphabet)]
		}
	}
	return b
}

func typeName(typ conn.MessageType) string {
	switch typ {
	case conn.MessageText:
		return "text"
	case conn.MessageBinary:
		return "binary"
	}
	return "type " + strconv.Itoa(int(typ))
}

// expectMessage checks one received message against what was wanted,
// without printing megabytes on a mismatch.
func expectMessage(t *testing.T, gotType conn.MessageType, got []byte, wantType conn.MessageType, want []byte) {
	t.Helper()
	if gotType != wantType {
		t.Fatalf("got %s message, want %s", typeName(gotType), typeName(wantType))
	}
	if !bytes.Equal(got, want) {
		if len(got) <= 64 && len(want) <= 64 {
			t.Fatalf("got %q, want %q", got, want)
		}
		t.Fatalf("payload mismatch: got %d bytes, want %d", len(got), len(want))
	}
}

// TestHybiClient runs conn.Dial against each peer's echo server.
func TestHybiClient(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			p.require(t)
			runHybiClient(t, p, clientSuite{sizes: sizes, pipelined: 1000})
		})
	}
}

// A clientSuite is one run of the hybi client checks against a peer server.
type clientSuite struct {
	serverArgs []string // for the peer server, after its port
	sizes      []int    // of the echo checks
	pipelined  int      // messages written before the first read
	// dialOptions returns the options of every Dial; nil means nil options.
	dialOptions func() *conn.DialOptions
	// ext is what c.Extensions() must show; the zero value is none.
	ext wantExtensions
}

// runHybiClient starts p's server with s.serverArgs and runs the checks of
// s against it, one connection each.
func runHybiClient(t *testing.T, p peer, s clientSuite) {
	srv, addr := p.startServer(t, s.serverArgs...)
	url := "ws://" + addr + "/"

	options := func() *conn.DialOptions {
		if s.dialOptions == nil {
			return nil
		}
		return s.dialOptions()
	}
	dialWith := func(t *testing.T, url string, opts *conn.DialOptions) (*conn.Conn, context.Context) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
		t.Cleanup(cancel)
		var o conn.DialOptions
		if opts != nil {
			o = *opts
		}
		if o.ReadLimit == 0 {
			o.ReadLimit = readLimit
		}
		c, resp, err := conn.Dial(ctx, url, &o)
		if err != nil {
			t.Fatalf("Dial %s: %v (response %v)", url, err, resp)
		}
		// Whatever a check leaves open is torn down; on a closed conn
		// CloseNow only reports that.
		t.Cleanup(func() { c.CloseNow() })
		if err := s.ext.check(c.Extensions()); err != nil {
			t.Errorf("Extensions() = %q: %v", c.Extensions(), err)
		}
		return c, ctx
	}
	dial := func(t *testing.T, url string) (*conn.Conn, context.Context) {
		t.Helper()
		return dialWith(t, url, options())
	}
	closeNormal := func(t *testing.T, c *conn.Conn) {
		t.Helper()
		if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
			t.Errorf("Close: %v", err)
		}
	}

	for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
		for _, n := range s.sizes {
			t.Run(fmt.Sprintf("echo/%s/%d", typeName(typ), n), func(t *testing.T) {
				c, ctx := dial(t, url)
				want := payload(n, typ)
				if err := c.Write(ctx, typ, want); err != nil {
					t.Fatalf("Write: %v", err)
				}
				gotType, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				expectMessage(t, gotType, got, typ, want)
				closeNormal(t, c)
			})
		}
	}

	t.Run("echo/utf8", func(t *testing.T) {
		c, ctx := dial(t, url)
		if err := c.Write(ctx, conn.MessageText, []byte(utf8Text)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		gotType, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		expectMessage(t, gotType, got, conn.MessageText, []byte(utf8Text))
		closeNormal(t, c)
	})

	if s.ext.deflate {
		t.Run(fmt.Sprintf("echo/compressible/%d", compressibleSize), func(t *testing.T) {
			// Count the bytes of this connection on the wire.
			var counted atomic.Pointer[countingConn]
			opts := conn.DialOptions{}
			if o := options(); o != nil {
				opts = *o
			}
			opts.Dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				nc, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				cc := &countingConn{Conn: nc}
				counted.Store(cc)
				return cc, nil
			}
			c, ctx := dialWith(t, url, &opts)
			want := compressibleText()
			if err := c.Write(ctx, conn.MessageText, want); err != nil {
				t.Fatalf("Write: %v", err)
			}
			gotType, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			expectMessage(t, gotType, got, conn.MessageText, want)
			closeNormal(t, c)
			cc := counted.Load()
			if cc == nil {
				t.Fatal("Dial did not use Dialer.NetDialContext")
			}
			checkWire(t, int64(2*len(want)), cc.total())
		})
	}

	t.Run("pipelined", func(t *testing.T) {
		c, ctx := dial(t, url)
		n := s.pipelined
		msgType := func(i int) conn.MessageType {
			if i%2 == 1 {
				return conn.MessageBinary
			}
			return conn.MessageText
		}
		// All of them (at most about 8 KB) are written before the first read;
		// the echoes wait in socket buffers meanwhile.
		for i := range n {
			if err := c.Write(ctx, msgType(i), []byte("msg "+strconv.Itoa(i))); err != nil {
				t.Fatalf("Write %d: %v", i, err)
			}
		}
		for i := range n {
			gotType, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("Read %d: %v", i, err)
			}
			expectMessage(t, gotType, got, msgType(i), []byte("msg "+strconv.Itoa(i)))
		}
		closeNormal(t, c)
	})

	t.Run("ping", func(t *testing.T) {
		c, ctx := dial(t, url)
		// The pong arrives as a frame some Read must take in; keep
		// one running in case Ping leaves reading to the caller. It
		// ends with an error when the conn is closed.
		readDone := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx)
			readDone <- err
		}()
		if err := c.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		closeNormal(t, c)
		if err := <-readDone; err == nil {
			t.Errorf("Read after Close returned no error")
		}
	})

	t.Run("fragments", func(t *testing.T) {
		// The peer sends a text message in pieces split inside
		// multibyte characters (node) or between them (python),
		// then a binary one in 100-byte pieces.
		c, ctx := dial(t, "ws://"+addr+"/fragments")
		gotType, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read text: %v", err)
		}
		expectMessage(t, gotType, got, conn.MessageText, []byte(strings.Repeat(utf8Text, 20)))
		gotType, got, err = c.Read(ctx)
		if err != nil {
			t.Fatalf("Read binary: %v", err)
		}
		want := make([]byte, 1000)
		for i := range want {
			want[i] = byte(i)
		}
		expectMessage(t, gotType, got, conn.MessageBinary, want)
		closeNormal(t, c)
	})

	t.Run("close/by-hybi", func(t *testing.T) {
		c, _ := dial(t, url)
		if err := c.Close(conn.StatusNormalClosure, "bye"); err != nil {
			t.Errorf("Close: %v", err)
		}
		// The peer prints what it received in the close frame.
		if _, ok := srv.waitLine(10*time.Second, func(l string) bool { return l == "close 1000 bye" }); !ok {
			lines, _ := srv.out.snapshot()
			t.Errorf("peer never printed %q; its output: %q", "close 1000 bye", lines)
		}
	})

	t.Run("close/by-peer", func(t *testing.T) {
		c, ctx := dial(t, url+"?close=1000&reason=done")
		typ, p, err := c.Read(ctx)
		if err == nil {
			t.Fatalf("Read returned a %s message %q, want the peer's close", typeName(typ), p)
		}
		if got := conn.CloseStatus(err); got != conn.StatusNormalClosure {
			t.Errorf("CloseStatus(%v) = %d, want 1000", err, got)
		}
		var ce *conn.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("Read error %v (%T) is no *conn.CloseError", err, err)
		}
		if ce.Code != conn.StatusNormalClosure || ce.Reason != "done" {
			t.Errorf("CloseError = %d %q, want 1000 \"done\"", ce.Code, ce.Reason)
		}
	})
}

// echoServer is the hybi side of TestHybiServer: conn.Accept, then echo
// every message with its type until the peer closes. With ?close=CODE&reason=R
// it closes at once instead, as the peer servers do. With ?measure=1 it
// records how many bytes the connection took on the wire. Its listener must
// be a countingListener, its http.Server's ConnContext withConn.
type echoServer struct {
	t    *testing.T
	opts *conn.AcceptOptions
	wg   sync.WaitGroup // handlers still running

	mu       sync.Mutex
	ends     []error        // the error that ended each echo loop
	exts     map[string]int // c.Extensions() of each conn, counted
	measured []measurement  // of the ?measure=1 conns
}

// A measurement is what one connection echoed and what it took on the wire.
type measurement struct {
	payload int64 // bytes of messages read and written
	wire    int64 // bytes read and written on the TCP connection
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	// Not r.Context(): the handshake hijacks the connection, and the conn
	// must outlive nothing but this handler anyway. The bound keeps a
	// wedged peer from holding the test forever.
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	var o conn.AcceptOptions
	if s.opts != nil {
		o = *s.opts
	}
	if o.ReadLimit == 0 {
		o.ReadLimit = readLimit
	}
	c, err := conn.Accept(w, r, &o)
	if err != nil {
		s.t.Errorf("Accept %s: %v", r.URL, err)
		return
	}
	defer c.CloseNow()
	s.mu.Lock()
	if s.exts == nil {
		s.exts = make(map[string]int)
	}
	s.exts[c.Extensions()]++
	s.mu.Unlock()
	q := r.URL.Query()
	if q.Has("close") {
		code, err := strconv.Atoi(q.Get("close"))
		if err != nil {
			s.t.Errorf("bad close code in %s", r.URL)
			return
		}
		if err := c.Close(conn.StatusCode(code), q.Get("reason")); err != nil {
			s.t.Errorf("Close(%d, %q): %v", code, q.Get("reason"), err)
		}
		return
	}
	var echoed int64
	for {
		typ, p, err := c.Read(ctx)
		if err == nil {
			echoed += int64(len(p))
			if err = c.Write(ctx, typ, p); err == nil {
				echoed += int64(len(p))
			}
		}
		if err != nil {
			c.CloseNow()
			s.mu.Lock()
			defer s.mu.Unlock()
			s.ends = append(s.ends, err)
			if q.Has("measure") {
				cc, _ := r.Context().Value(connKey{}).(*countingConn)
				if cc == nil {
					s.t.Errorf("%s: the connection is not counted", r.URL)
					return
				}
				s.measured = append(s.measured, measurement{payload: echoed, wire: cc.total()})
			}
			return
		}
	}
}

// TestHybiServer runs each peer's client checks against a conn.Accept echo
// server.
func TestHybiServer(t *testing.T) {
	for _, p := range peers {
		t.Run(p.name, func(t *testing.T) {
			p.require(t)
			runHybiServer(t, p, serverSuite{checks: peerClientChecks})
		})
	}
}

// A serverSuite is one run of a peer client's checks against the hybi echo
// server.
type serverSuite struct {
	clientArgs []string            // for the peer client, after the URL
	opts       *conn.AcceptOptions // of every Accept
	checks     int                 // how many the peer client runs
	// ext is what c.Extensions() must show; the zero value is none. With
	// permessage-deflate the client must also have run the compressible
	// echo at ?measure=1.
	ext wantExtensions
}

// runHybiServer starts the echo server, runs p's client with s.clientArgs
// against it and turns the client's results into subtests.
func runHybiServer(t *testing.T, p peer, s serverSuite) {
	es := &echoServer{t: t, opts: s.opts}
	hs := httptest.NewUnstartedServer(es)
	hs.Listener = countingListener{hs.Listener}
	hs.Config.ConnContext = withConn
	hs.Start()
	// shutdown stops new conns and waits for the echo handlers: httptest
	// forgets hijacked conns, so it cannot wait for them.
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			hs.Close()
			done := make(chan struct{})
			go func() { es.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("echo handlers still running 10s after the peer client ended")
			}
		})
	}
	t.Cleanup(shutdown)

	url := "ws://" + hs.Listener.Addr().String() + "/echo"
	pr := p.start(t, "client", append([]string{url}, s.clientArgs...)...)
	select {
	case <-pr.done:
	case <-time.After(peerTimeout):
		t.Fatalf("%s client still running after %v", p.name, peerTimeout)
	}
	checkResults(t, pr, s.checks)

	shutdown()
	es.mu.Lock()
	defer es.mu.Unlock()
	// The peer's close 1000 "done" must reach Read as a CloseError.
	found := false
	for _, err := range es.ends {
		var ce *conn.CloseError
		if conn.CloseStatus(err) == conn.StatusNormalClosure && errors.As(err, &ce) && ce.Reason == "done" {
			found = true
		}
	}
	if !found {
		t.Errorf("no echo loop ended with a CloseError 1000 \"done\"; loop ends: %v", es.ends)
	}
	for ext, n := range es.exts {
		if err := s.ext.check(ext); err != nil {
			t.Errorf("Extensions() = %q on %d conns: %v", ext, n, err)
		}
	}
	if s.ext.deflate {
		if len(es.measured) != 1 {
			t.Fatalf("%d conns at ?measure=1, want 1", len(es.measured))
		}
		m := es.measured[0]
		if m.payload < 2*compressibleSize {
			t.Errorf("the ?measure=1 conn echoed %d bytes, want %d (one %d-byte message)", m.payload/2, compressibleSize, compressibleSize)
		}
		checkWire(t, m.payload, m.wire)
	}
}
