package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testLogger sends the handler's log to the test log.
func testLogger(t *testing.T) *log.Logger {
	return log.New(testWriter{t}, "", 0)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startServer serves the echo handler on a test server; the handlers of
// hijacked conns are waited for at cleanup, which httptest cannot do.
func startServer(t *testing.T, anyOrigin bool) (*httptest.Server, *handler) {
	h := newHandler(anyOrigin, true, testLogger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.wait()
	})
	return srv, h
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func TestServerLimits(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != 5*time.Second {
		t.Errorf("ReadHeaderTimeout = %v, want 5s", srv.ReadHeaderTimeout)
	}
	if srv.MaxHeaderBytes != 16<<10 {
		t.Errorf("MaxHeaderBytes = %d, want %d", srv.MaxHeaderBytes, 16<<10)
	}
}

func TestPage(t *testing.T) {
	srv, _ := startServer(t, false)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	if !bytes.Contains(body, []byte("new WebSocket(")) || !bytes.Contains(body, []byte("'/ws'")) {
		t.Errorf("page does not connect to /ws:\n%s", body)
	}

	resp, err = http.Get(srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %s, want 404", resp.Status)
	}
}

func TestServerEcho(t *testing.T) {
	srv, _ := startServer(t, false)
	ctx := testContext(t)
	c, _, err := conn.Dial(ctx, wsURL(srv, "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msgs := []struct {
		typ conn.MessageType
		p   []byte
	}{
		{conn.MessageText, []byte("héllo ✓")},
		{conn.MessageBinary, []byte{0, 1, 2, 0xff}},
		{conn.MessageText, nil},
		{conn.MessageBinary, bytes.Repeat([]byte{7}, 70000)},
	}
	for _, m := range msgs {
		if err := c.Write(ctx, m.typ, m.p); err != nil {
			t.Fatalf("Write: %v", err)
		}
		typ, p, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if typ != m.typ || !bytes.Equal(p, m.p) {
			t.Errorf("echo of %d-byte type %d message: got %d bytes of type %d", len(m.p), m.typ, len(p), typ)
		}
	}
	if err := c.Close(conn.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestServerOrigin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		anyOrigin bool
		origin    func(srv *httptest.Server) string
		ok        bool
	}{
		{"same origin", false, func(srv *httptest.Server) string { return srv.URL }, true},
		{"no origin", false, func(*httptest.Server) string { return "" }, true},
		{"other origin refused", false, func(*httptest.Server) string { return "http://evil.example" }, false},
		{"other origin with -any-origin", true, func(*httptest.Server) string { return "http://evil.example" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startServer(t, tc.anyOrigin)
			ctx := testContext(t)
			var o conn.DialOptions
			if origin := tc.origin(srv); origin != "" {
				o.Dialer.Header = http.Header{"Origin": {origin}}
			}
			c, resp, err := conn.Dial(ctx, wsURL(srv, "/ws"), &o)
			if !tc.ok {
				if err == nil {
					c.CloseNow()
					t.Fatal("Dial succeeded, want a refused handshake")
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Errorf("Dial: %v; response %v, want 403", err, resp)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestDialClient runs the -dial client against a server that sends a few
// messages, checks their echoes, and closes with 1000 "bye".
func TestDialClient(t *testing.T) {
	msgs := []struct {
		typ conn.MessageType
		p   []byte
	}{
		{conn.MessageText, []byte("one")},
		{conn.MessageBinary, []byte{1, 2, 3}},
		{conn.MessageText, []byte("")},
		{conn.MessageBinary, bytes.Repeat([]byte("x"), 1<<16)},
		{conn.MessageText, []byte("𝄞 last")},
	}
	serverErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serverErr <- func() error {
			ctx := testContext(t)
			c, err := conn.Accept(w, r, nil)
			if err != nil {
				return err
			}
			defer c.CloseNow()
			// All are sent before any echo is read: the client must keep
			// them in order.
			for _, m := range msgs {
				if err := c.Write(ctx, m.typ, m.p); err != nil {
					return err
				}
			}
			for i, m := range msgs {
				typ, p, err := c.Read(ctx)
				if err != nil {
					return err
				}
				if typ != m.typ || !bytes.Equal(p, m.p) {
					t.Errorf("echo %d: got %d bytes of type %d, want %d bytes of type %d", i, len(p), typ, len(m.p), m.typ)
				}
			}
			return c.Close(conn.StatusNormalClosure, "bye")
		}()
	}))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := run(testContext(t), []string{"-dial", wsURL(srv, "/")}, &stdout, &stderr)
	if code != 0 {
		t.Errorf("run -dial exited %d; stderr:\n%s", code, stderr.String())
	}
	if got, want := stdout.String(), "close 1000 bye\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if err := <-serverErr; err != nil {
		t.Errorf("server: %v", err)
	}
}

// TestDialClientAbnormal checks that any ending but a close frame exits
// non-zero and prints nothing on stdout.
func TestDialClientAbnormal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := (&handshake.Upgrader{}).Upgrade(w, r)
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		res.Conn.Close() // no close frame
	}))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	if code := run(testContext(t), []string{"-dial", wsURL(srv, "/")}, &stdout, &stderr); code == 0 {
		t.Errorf("run -dial exited 0 after the TCP connection dropped")
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}

// TestServeShutdown checks that ending the context closes open WebSocket
// connections with 1001 and that serve returns.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, newHandler(false, true, testLogger(t)), nil) }()

	dctx := testContext(t)
	c, _, err := conn.Dial(dctx, "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(dctx, conn.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(dctx); err != nil {
		t.Fatal(err)
	}
	stop()
	_, _, err = c.Read(dctx)
	if got := conn.CloseStatus(err); got != conn.StatusGoingAway {
		t.Errorf("after shutdown Read error %v has status %d, want 1001", err, got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after the context ended")
	}
}

// TestDeflate checks that the server and the -dial client negotiate
// permessage-deflate by default, and that -no-deflate turns it off.
func TestDeflate(t *testing.T) {
	srv, _ := startServer(t, false)
	ctx := testContext(t)
	c, _, err := conn.Dial(ctx, wsURL(srv, "/ws"), &conn.DialOptions{Extensions: extensions(true)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if !strings.HasPrefix(c.Extensions(), "permessage-deflate") {
		t.Fatalf("server agreed %q, want permessage-deflate", c.Extensions())
	}
	msg := bytes.Repeat([]byte(`{"name":"hybi","ok":true} `), 4000)
	if err := c.Write(ctx, conn.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.Read(ctx); err != nil || !bytes.Equal(p, msg) {
		t.Fatalf("compressed echo: %d bytes, %v", len(p), err)
	}
	c.Close(conn.StatusNormalClosure, "")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "permessage-deflate"},
		{[]string{"-no-deflate"}, ""},
	} {
		agreed := make(chan string, 1)
		peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: extensions(true)})
			if err != nil {
				agreed <- "error: " + err.Error()
				return
			}
			agreed <- c.Extensions()
			c.Close(conn.StatusNormalClosure, "done")
		}))
		var stdout, stderr bytes.Buffer
		code := run(testContext(t), append(tc.args, "-dial", wsURL(peer, "/")), &stdout, &stderr)
		peer.Close()
		got := <-agreed
		if code != 0 || !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
			t.Errorf("args %q: exit %d, agreed %q, want %q; stderr %s", tc.args, code, got, tc.want, stderr.String())
		}
	}
}
