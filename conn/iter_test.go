package conn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve starts a server that runs h on each accepted connection and closes
// it afterwards.
func serve(t *testing.T, h func(c *conn.Conn)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		h(c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestMessagesEndsOnPeerClose(t *testing.T) {
	url := serve(t, func(c *conn.Conn) {
		ctx := context.Background()
		c.Write(ctx, conn.MessageText, []byte("one"))
		c.Write(ctx, conn.MessageBinary, []byte{2})
		c.Write(ctx, conn.MessageText, []byte("three"))
		c.Close(4000, "done")
	})
	c := dial(t, url, nil)
	if r := c.CloseReason(); r != nil {
		t.Fatalf("CloseReason of an open connection = %v, want nil", r)
	}
	var got []string
	for msg, err := range c.Messages(testCtx(t)) {
		if err != nil {
			t.Fatalf("iterator yielded %v", err)
		}
		got = append(got, msg.Type.String()+":"+string(msg.Data))
	}
	if want := "text:one binary:\x02 text:three"; strings.Join(got, " ") != want {
		t.Errorf("messages %q, want %q", strings.Join(got, " "), want)
	}
	r := c.CloseReason()
	if r == nil || r.Code != 4000 || r.Reason != "done" {
		t.Errorf("CloseReason = %v, want 4000 done", r)
	}
}

// A Close of our own, answered by the peer, also ends the loop quietly.
func TestMessagesEndsOnOwnClose(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx := testCtx(t)
	c.Write(ctx, conn.MessageText, []byte("x"))
	n := 0
	for _, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("iterator yielded %v", err)
		}
		n++
		go c.Close(conn.StatusNormalClosure, "bye")
	}
	if n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if r := c.CloseReason(); r == nil || r.Code != conn.StatusNormalClosure {
		t.Errorf("CloseReason = %v, want 1000", r)
	}
}

func TestMessagesDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := (&handshake.Upgrader{}).Upgrade(w, r)
		if err != nil {
			return
		}
		res.Conn.Close() // no close frame
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	var errs []error
	for msg, err := range c.Messages(testCtx(t)) {
		if err == nil {
			t.Fatalf("got message %v", msg)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || conn.CloseStatus(errs[0]) != conn.StatusAbnormalClosure {
		t.Fatalf("errors %v, want one with 1006", errs)
	}
	// The same typed error Read gives.
	_, _, rerr := c.Read(context.Background())
	if rerr.Error() != errs[0].Error() {
		t.Errorf("iterator error %q, Read error %q", errs[0], rerr)
	}
	if r := c.CloseReason(); r == nil || r.Code != conn.StatusAbnormalClosure {
		t.Errorf("CloseReason = %v, want 1006", r)
	}
}

func TestMessagesProtocolError(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	go client.Write(context.Background(), conn.MessageText, []byte{0xff})
	go client.Read(context.Background()) // takes the server's close frame
	var errs []error
	for _, err := range server.Messages(testCtx(t)) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], frame.ErrInvalidUTF8) {
		t.Fatalf("errors %v, want ErrInvalidUTF8", errs)
	}
	if r := server.CloseReason(); r != nil {
		t.Errorf("CloseReason after a protocol error = %v, want nil", r)
	}
}

func TestMessagesCancelAndBreak(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx := testCtx(t)
	for i := range 3 {
		c.Write(ctx, conn.MessageText, []byte{'a' + byte(i)})
	}
	// Break after the first: the connection stays usable.
	for msg, err := range c.Messages(ctx) {
		if err != nil || string(msg.Data) != "a" {
			t.Fatalf("first: %q %v", msg.Data, err)
		}
		break
	}
	// A new loop carries on, then a cancelled context ends it with its
	// error.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got string
	var last error
	for msg, err := range c.Messages(cctx) {
		if err != nil {
			last = err
			continue // the iterator ends after an error
		}
		got += string(msg.Data)
		if got == "bc" {
			cancel()
		}
	}
	if got != "bc" || !errors.Is(last, context.Canceled) {
		t.Fatalf("got %q, last error %v", got, last)
	}
	if err := c.Write(ctx, conn.MessageText, []byte("again")); err != nil {
		t.Fatal(err)
	}
	for msg, err := range c.Messages(ctx) {
		if err != nil || string(msg.Data) != "again" {
			t.Fatalf("after cancel: %q %v", msg.Data, err)
		}
		break
	}
	if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
}
