package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// TestServeTLS serves with -tls and -v and echoes over HTTP/2 and over
// HTTP/1.1, each logged with its protocol.
func TestServeTLS(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := selfSigned()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	h := newHandler(false, true, log.New(&logs, "", 0))
	h.verbose = true
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, h, cfg) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	url := "wss://" + ln.Addr().String() + "/ws"
	for _, mode := range []handshake.HTTP2Mode{handshake.HTTP2Always, handshake.HTTP2Never} {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := conn.Dial(dctx, url, &conn.DialOptions{Dialer: handshake.Dialer{
			TLSConfig: &tls.Config{InsecureSkipVerify: true},
			HTTP2:     mode,
		}})
		if err != nil {
			cancel()
			t.Fatalf("mode %d: %v", mode, err)
		}
		if err := c.Write(dctx, conn.MessageText, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.Read(dctx); err != nil || string(p) != "hi" {
			t.Fatalf("echo: %q, %v", p, err)
		}
		c.Close(conn.StatusNormalClosure, "")
		cancel()
		want := "accept 127.0.0.1:"
		proto := " HTTP/1.1 \"\" \""
		if mode == handshake.HTTP2Always {
			proto = " HTTP/2.0 \"\" \""
		}
		if resp.Proto != strings.Fields(proto)[0] {
			t.Errorf("mode %d: response over %s", mode, resp.Proto)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), proto) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if l := logs.String(); !strings.Contains(l, want) || !strings.Contains(l, proto) {
			t.Errorf("log %q lacks %q...%q", l, want, proto)
		}
	}
}

// TestDialTLSHTTP2 runs -dial on a wss:// URL with -insecure and -h2.
func TestDialTLSHTTP2(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	serverErr := make(chan error, 1)
	s := testnet.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serverErr <- func() error {
			if r.ProtoMajor != 2 {
				return errors.New("dialled over " + r.Proto)
			}
			c, err := conn.Accept(w, r, nil)
			if err != nil {
				return err
			}
			defer c.CloseNow()
			ctx := r.Context()
			if err := c.Write(ctx, conn.MessageText, []byte("ping")); err != nil {
				return err
			}
			if _, p, err := c.Read(ctx); err != nil || string(p) != "ping" {
				return errors.New("no echo")
			}
			return c.Close(conn.StatusNormalClosure, "bye")
		}()
	}), nil)
	var stdout, stderr bytes.Buffer
	args := []string{"-dial", s.WSURL("/"), "-insecure", "-h2"}
	if code := run(testContext(t), args, &stdout, &stderr); code != 0 {
		t.Errorf("run %q exited %d; stderr:\n%s", args, code, stderr.String())
	}
	if got, want := stdout.String(), "close 1000 bye\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if err := <-serverErr; err != nil {
		t.Errorf("server: %v", err)
	}
}
