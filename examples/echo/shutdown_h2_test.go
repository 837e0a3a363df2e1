package main

import (
	"context"
	"crypto/tls"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// TestServeShutdownHTTP2 is TestServeShutdown over HTTP/2 (RFC 8441): at
// shutdown the server closes the WebSocket with 1001 and the closing
// handshake completes, although net/http then ends the requests' base
// context, and with it the streams of handlers that use r.Context().
func TestServeShutdownHTTP2(t *testing.T) {
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
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, newHandler(false, true, log.New(&logs, "", 0)), cfg) }()

	dctx := testContext(t)
	c, resp, err := conn.Dial(dctx, "wss://"+ln.Addr().String()+"/ws", &conn.DialOptions{Dialer: handshake.Dialer{
		TLSConfig: &tls.Config{InsecureSkipVerify: true},
		HTTP2:     handshake.HTTP2Always,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.ProtoMajor != 2 {
		t.Fatalf("dialled over %s", resp.Proto)
	}
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
	if l := logs.String(); strings.TrimSpace(l) != "" {
		t.Errorf("server logged:\n%s", l)
	}
}
