package conn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// h2Server is an HTTPS server whose handler accepts WebSockets over HTTP/1.1
// and HTTP/2 and hands each to serve in the handler's goroutine, as HTTP/2
// requires; ended receives what serve returned.
type h2Server struct {
	*testnet.TLSServer
	ended chan error
}

func newH2Server(t *testing.T, o *conn.AcceptOptions, serve func(ctx context.Context, r *http.Request, c *conn.Conn) error) *h2Server {
	return newH2ServerConfig(t, o, serve, &http.HTTP2Config{MaxConcurrentStreams: 2000})
}

func newH2ServerConfig(t *testing.T, o *conn.AcceptOptions, serve func(ctx context.Context, r *http.Request, c *conn.Conn) error, h2 *http.HTTP2Config) *h2Server {
	s := &h2Server{ended: make(chan error, 100)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, o)
		if err != nil {
			s.ended <- err
			return
		}
		defer c.CloseNow()
		s.ended <- serve(r.Context(), r, c)
	})
	s.TLSServer = testnet.NewTLSServer(t, h, func(hs *httptest.Server) {
		hs.Config.HTTP2 = h2
	})
	return s
}

// wait returns what the next serve returned.
func (s *h2Server) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
		return nil
	}
}

// echo serves by echoing messages until the connection ends.
func echo(ctx context.Context, r *http.Request, c *conn.Conn) error {
	if r.ProtoMajor != 2 {
		return errors.New("not HTTP/2: " + r.Proto)
	}
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return err
		}
	}
}

func (s *h2Server) dialOptions(mode handshake.HTTP2Mode) *conn.DialOptions {
	return &conn.DialOptions{Dialer: handshake.Dialer{
		TLSConfig: s.ClientTLS(),
		HTTP2:     mode,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
	}}
}

// TestHTTP2 runs WebSockets over HTTP/2 (RFC 8441) between hybi's server
// and client, on net/http's HTTP/2 over loopback TLS.
func TestHTTP2(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	t.Run("Echo", testH2Echo)
	t.Run("Deflate", testH2Deflate)
	t.Run("Subprotocol", testH2Subprotocol)
	t.Run("OriginRefused", testH2OriginRefused)
	t.Run("CloseFromClient", testH2CloseFromClient)
	t.Run("CloseFromServer", testH2CloseFromServer)
	t.Run("DroppedStream", testH2DroppedStream)
	t.Run("SharedConnection", testH2SharedConnection)
	t.Run("IfOffered", testH2IfOffered)
	t.Run("ServerReadCancel", testH2ServerReadCancel)
	t.Run("Handler", testH2Handler)
	t.Run("HandlerReturned", testH2HandlerReturned)
	t.Run("ClientReadCancel", testH2ClientReadCancel)
	t.Run("DialContextEnds", testH2DialContextEnds)
	t.Run("HandshakeTimeout", testH2HandshakeTimeout)
	t.Run("IdleHeap", testH2IdleHeap)
}

// testH2ClientReadCancel: a client read cut by its context leaves the
// stream usable.
func testH2ClientReadCancel(t *testing.T) {
	s := newH2Server(t, nil, echo)
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := c.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read: %v, want DeadlineExceeded", err)
	}
	echoOnce(t, c, conn.MessageBinary, bytes.Repeat([]byte{7}, 100000))
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

// testH2DialContextEnds: Dial's context bounds the handshake only; the
// stream outlives it.
func testH2DialContextEnds(t *testing.T) {
	s := newH2Server(t, nil, echo)
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := conn.Dial(ctx, s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	echoOnce(t, c, conn.MessageText, []byte("after the dial's context"))
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

// testH2HandshakeTimeout: a server that never answers the extended
// CONNECT fails Dial at HandshakeTimeout.
func testH2HandshakeTimeout(t *testing.T) {
	release := make(chan struct{})
	s := testnet.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}), nil)
	defer close(release)
	o := (&h2Server{TLSServer: s}).dialOptions(handshake.HTTP2Always)
	o.Dialer.HandshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	_, _, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial took %v", d)
	}
}

// testH2IdleHeap reports what an idle WebSocket over HTTP/2 costs, both
// ends in this process, on one shared connection: heap, goroutine stacks
// and goroutines. net/http's HTTP/2 client holds a buffer of the server's
// SETTINGS_MAX_FRAME_SIZE (at most 512 KiB) for each request body it
// sends, the WebSocket's whole life: the cost depends on the server's
// MaxReadFrameSize (1 MiB by default on Go servers).
func testH2IdleHeap(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measures memory; not with -race or -short")
	}
	for _, size := range []uint32{0, 16 << 10} {
		h2 := &http.HTTP2Config{MaxConcurrentStreams: 2000, MaxReadFrameSize: int(size)}
		t.Run(fmt.Sprintf("MaxReadFrameSize=%d", size), func(t *testing.T) { idleHeap(t, h2) })
	}
}

func idleHeap(t *testing.T, h2 *http.HTTP2Config) {
	const n = 1000
	s := newH2ServerConfig(t, nil, echo, h2)
	var pool handshake.HTTP2Pool
	defer pool.CloseIdleConnections()
	o := s.dialOptions(handshake.HTTP2Always)
	o.Dialer.HTTP2Pool = &pool
	ctx := context.Background()
	// A first WebSocket makes the connection, whose cost is shared.
	first, _, err := conn.Dial(ctx, s.WSURL("/"), o)
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, first, conn.MessageText, []byte("hello"))
	g0, heap0, stack0 := runtime.NumGoroutine(), heapInUse(), stackInUse()
	cs := []*conn.Conn{first}
	for range n {
		c, _, err := conn.Dial(ctx, s.WSURL("/"), o)
		if err != nil {
			t.Fatal(err)
		}
		echoOnce(t, c, conn.MessageText, []byte("hello"))
		cs = append(cs, c)
	}
	time.Sleep(100 * time.Millisecond)
	g1, heap1, stack1 := runtime.NumGoroutine(), heapInUse(), stackInUse()
	t.Logf("%d idle WebSockets over HTTP/2 on %d TCP connection(s), both ends: %.0f B heap, %.0f B stack, %.1f goroutines each",
		n, s.Accepts(), float64(int64(heap1)-int64(heap0))/n, float64(int64(stack1)-int64(stack0))/n, float64(g1-g0)/n)
	for _, c := range cs {
		c.CloseNow()
		if code := conn.CloseStatus(s.wait(t)); code != conn.StatusAbnormalClosure {
			t.Fatalf("server ended with %v, want 1006", code)
		}
	}
}

func stackInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}

// testH2HandlerReturned: a handler that returns while its WebSocket is in
// use ends the stream; the Conn then fails (1006) instead of writing to a
// ResponseWriter that net/http has recycled.
func testH2HandlerReturned(t *testing.T) {
	done := make(chan error, 1)
	s := testnet.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			done <- err
			return
		}
		go func() {
			defer c.CloseNow()
			<-r.Context().Done() // the handler has returned
			err := c.Write(context.Background(), conn.MessageText, []byte("late"))
			if err == nil {
				_, _, err = c.Read(context.Background())
			}
			done <- err
		}()
	}), nil)
	o := (&h2Server{TLSServer: s}).dialOptions(handshake.HTTP2Always)
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := <-done; err == nil {
		t.Error("the Conn of a returned handler still works")
	}
	if _, _, err := c.Read(context.Background()); conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Errorf("client read %v, want 1006", err)
	}
}

// echoOnce writes p and checks that it comes back.
func echoOnce(t *testing.T, c *conn.Conn, typ conn.MessageType, p []byte) {
	t.Helper()
	ctx := context.Background()
	if err := c.Write(ctx, typ, p); err != nil {
		t.Fatalf("write: %v", err)
	}
	gtyp, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gtyp != typ || !bytes.Equal(got, p) {
		t.Fatalf("echo of %v %d bytes: got %v %d bytes", typ, len(p), gtyp, len(got))
	}
}

func testH2Deflate(t *testing.T) {
	exts := []extension.Extension{deflate.New(nil)}
	s := newH2Server(t, &conn.AcceptOptions{Extensions: exts}, echo)
	o := s.dialOptions(handshake.HTTP2Always)
	o.Extensions = exts
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Extensions(), "permessage-deflate") {
		t.Fatalf("Extensions() = %q, want permessage-deflate", c.Extensions())
	}
	for _, n := range []int{0, 126, 65536, 1 << 20} {
		echoOnce(t, c, conn.MessageText, bytes.Repeat([]byte("hybi "), n/5))
	}
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

func testH2Subprotocol(t *testing.T) {
	ao := &conn.AcceptOptions{Upgrader: handshake.Upgrader{Subprotocols: []string{"superchat", "other"}}}
	s := newH2Server(t, ao, func(ctx context.Context, r *http.Request, c *conn.Conn) error {
		if c.Subprotocol() != "superchat" {
			return errors.New("server subprotocol " + c.Subprotocol())
		}
		return c.Close(conn.StatusNormalClosure, "")
	})
	o := s.dialOptions(handshake.HTTP2Always)
	o.Dialer.Subprotocols = []string{"chat", "superchat"}
	c, resp, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "superchat" || resp.Header.Get("Sec-WebSocket-Protocol") != "superchat" {
		t.Errorf("Subprotocol() = %q, header %q; want superchat", c.Subprotocol(), resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != "" {
		t.Errorf("Sec-WebSocket-Accept sent over HTTP/2 (RFC 8441, Section 5)")
	}
	if _, _, err := c.Read(context.Background()); conn.CloseStatus(err) != conn.StatusNormalClosure {
		t.Errorf("client read %v, want a close with 1000", err)
	}
	if err := s.wait(t); err != nil {
		t.Error(err)
	}
}

func testH2OriginRefused(t *testing.T) {
	s := newH2Server(t, nil, echo)
	o := s.dialOptions(handshake.HTTP2Always)
	o.Dialer.Header = http.Header{"Origin": {"https://evil.example"}}
	_, resp, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if !errors.Is(err, handshake.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial: %v, response %v; want ErrBadHandshake and 403", err, resp)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("refusal over %s, want HTTP/2.0", resp.Proto)
	}
	// The client's error shows the status and the server's reason, as
	// over HTTP/1.1.
	for _, want := range []string{"403 Forbidden", "extended CONNECT", `"https://evil.example"`, "Upgrader.AllowedOrigins"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if err := s.wait(t); !errors.Is(err, handshake.ErrOriginNotAllowed) {
		t.Errorf("Accept: %v, want ErrOriginNotAllowed", err)
	}
}

func testH2CloseFromClient(t *testing.T) {
	s := newH2Server(t, nil, echo)
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	if err := c.Close(4001, "bye"); err != nil {
		t.Errorf("Close: %v, want nil (handshake complete)", err)
	}
	var ce *conn.CloseError
	if err := s.wait(t); !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Errorf("server read %v, want CloseError 4001 bye", err)
	}
}

func testH2CloseFromServer(t *testing.T) {
	s := newH2Server(t, nil, func(ctx context.Context, r *http.Request, c *conn.Conn) error {
		return c.Close(4002, "done")
	})
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var ce *conn.CloseError
	if _, _, err := c.Read(context.Background()); !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "done" {
		t.Errorf("client read %v, want CloseError 4002 done", err)
	}
	if err := s.wait(t); err != nil {
		t.Errorf("server Close: %v, want nil (handshake complete)", err)
	}
	// The stream ended cleanly: the server's half ended after its
	// close frame, so reading on finds the end of the stream.
	if n, err := c.NetConn().Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes after the close handshake", n)
	}
}

func testH2DroppedStream(t *testing.T) {
	s := newH2Server(t, nil, echo)
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	c.CloseNow() // resets the stream
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusAbnormalClosure {
		t.Errorf("server ended with %v, want 1006", code)
	}
}

func testH2SharedConnection(t *testing.T) {
	s := newH2Server(t, nil, echo)
	var pool handshake.HTTP2Pool
	defer pool.CloseIdleConnections()
	o := s.dialOptions(handshake.HTTP2Always)
	o.Dialer.HTTP2Pool = &pool
	const n = 5
	var cs []*conn.Conn
	for i := 0; i < n; i++ {
		c, _, err := conn.Dial(context.Background(), s.WSURL("/"), o)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for i, c := range cs {
		echoOnce(t, c, conn.MessageBinary, []byte{byte(i)})
	}
	if got := s.Accepts(); got != 1 {
		t.Errorf("%d WebSockets took %d TCP connections, want 1", n, got)
	}
	for _, c := range cs {
		if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
			t.Errorf("Close: %v", err)
		}
		if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
			t.Errorf("server ended with %v, want 1000", code)
		}
	}
}

// testH2IfOffered: a server that offers HTTP/2 with extended CONNECT gets
// it in HTTP2IfOffered mode.
func testH2IfOffered(t *testing.T) {
	s := newH2Server(t, nil, echo)
	c, resp, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2IfOffered))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("IfOffered used %s, want HTTP/2.0", resp.Proto)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	c.Close(conn.StatusNormalClosure, "")
	s.wait(t)
}

// testH2ServerReadCancel: cancelling a server read (raw's context
// interrupter sets a read deadline in the past) leaves the stream usable.
func testH2ServerReadCancel(t *testing.T) {
	s := newH2Server(t, nil, func(ctx context.Context, r *http.Request, c *conn.Conn) error {
		rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, _, err := c.Read(rctx); !errors.Is(err, context.DeadlineExceeded) {
			return errors.New("first read: " + errString(err))
		}
		return echo(ctx, r, c)
	})
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // after the server's read gave up
	echoOnce(t, c, conn.MessageText, []byte("still there"))
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// testH2Handler: conn.Handler serves an HTTP/2 WebSocket in the handler's
// goroutine, since returning from it would end the stream.
func testH2Handler(t *testing.T) {
	done := make(chan error, 1)
	h := conn.Handler(nil, func(ctx context.Context, c *conn.Conn) {
		_, p, err := c.Read(ctx)
		if err == nil {
			err = c.Write(ctx, conn.MessageText, p)
		}
		if err == nil {
			_, _, err = c.Read(ctx)
		}
		done <- err
	})
	s := testnet.NewTLSServer(t, h, nil)
	o := (&h2Server{TLSServer: s}).dialOptions(handshake.HTTP2Always)
	c, _, err := conn.Dial(context.Background(), s.WSURL("/"), o)
	if err != nil {
		t.Fatal(err)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; conn.CloseStatus(err) != conn.StatusNormalClosure {
		t.Errorf("serve read %v, want a close with 1000", err)
	}
}

// TestHTTP2NotOffered dials a server whose HTTP/2 does not allow extended
// CONNECT, as net/http's without GODEBUG=http2xconnect=1.
func TestHTTP2NotOffered(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		t.Skip("this process's HTTP/2 server allows extended CONNECT")
	}
	s := newH2Server(t, nil, func(ctx context.Context, r *http.Request, c *conn.Conn) error {
		if r.ProtoMajor != 1 {
			return errors.New("fell back to " + r.Proto)
		}
		return echo1(ctx, c)
	})
	_, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if !errors.Is(err, handshake.ErrExtendedConnectNotSupported) {
		t.Fatalf("HTTP2Always: %v, want ErrExtendedConnectNotSupported", err)
	}
	if n := strings.Count(err.Error(), "handshake:"); n != 1 {
		t.Errorf("HTTP2Always: %q names the package %d times", err, n)
	}
	c, resp, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2IfOffered))
	if err != nil {
		t.Fatalf("HTTP2IfOffered: %v", err)
	}
	if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("HTTP2IfOffered: %s %s, want HTTP/1.1 101", resp.Proto, resp.Status)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

// TestHTTP2NotNegotiated dials a TLS server that does not speak HTTP/2.
func TestHTTP2NotNegotiated(t *testing.T) {
	s := newH2Server(t, nil, func(ctx context.Context, r *http.Request, c *conn.Conn) error { return echo1(ctx, c) })
	s.Close()
	s.TLSServer = testnet.NewTLSServer(t, s.Config.Handler, func(hs *httptest.Server) {
		hs.EnableHTTP2 = false
	})
	_, _, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if !errors.Is(err, handshake.ErrExtendedConnectNotSupported) {
		t.Fatalf("HTTP2Always: %v, want ErrExtendedConnectNotSupported", err)
	}
	before := s.Accepts()
	c, resp, err := conn.Dial(context.Background(), s.WSURL("/"), s.dialOptions(handshake.HTTP2IfOffered))
	if err != nil {
		t.Fatalf("HTTP2IfOffered: %v", err)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("HTTP2IfOffered used %s", resp.Proto)
	}
	if n := s.Accepts() - before; n != 1 {
		t.Errorf("HTTP2IfOffered took %d TCP connections, want 1: the one where TLS chose HTTP/1.1", n)
	}
	echoOnce(t, c, conn.MessageText, []byte("hi"))
	c.Close(conn.StatusNormalClosure, "")
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

// echo1 is echo for any HTTP version.
func echo1(ctx context.Context, c *conn.Conn) error {
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return err
		}
	}
}

func testH2Echo(t *testing.T) {
	s := newH2Server(t, nil, echo)
	ctx := context.Background()
	c, resp, err := conn.Dial(ctx, s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("response %s %s, want HTTP/2.0 200", resp.Proto, resp.Status)
	}
	if got, want := c.NetConn().RemoteAddr().String(), s.Listener.Addr().String(); got != want {
		t.Errorf("RemoteAddr %s, want the server's %s", got, want)
	}
	for _, n := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
		for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
			p := bytes.Repeat([]byte("a"), n)
			if err := c.Write(ctx, typ, p); err != nil {
				t.Fatalf("write %v %d: %v", typ, n, err)
			}
			gtyp, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read %v %d: %v", typ, n, err)
			}
			if gtyp != typ || !bytes.Equal(got, p) {
				t.Fatalf("echo of %v %d bytes: got %v %d bytes", typ, n, gtyp, len(got))
			}
		}
	}
	if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}
