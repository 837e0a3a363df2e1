package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// An echo server: Accept in a net/http handler, then a loop over the
// messages.
func ExampleAccept() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return // Accept wrote the HTTP error
		}
		defer c.CloseNow()
		for msg, err := range c.Messages(r.Context()) {
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), msg.Type, msg.Data); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	c.Write(ctx, conn.MessageBinary, []byte{1, 2, 3})
	typ, p, err := c.Read(ctx)
	fmt.Println(typ, p, err)
	fmt.Println(c.Close(conn.StatusNormalClosure, ""))
	// Output:
	// binary [1 2 3] <nil>
	// <nil>
}

// A client: dial, send, read the reply, close.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, p, err := c.Read(r.Context())
		if err == nil {
			c.Write(r.Context(), conn.MessageText, []byte("hello, "+string(p)))
		}
		c.Read(r.Context()) // until the client closes
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	if err := c.Write(ctx, conn.MessageText, []byte("gopher")); err != nil {
		fmt.Println(err)
		return
	}
	_, reply, err := c.Read(ctx)
	fmt.Println(string(reply), err)
	fmt.Println(c.Close(conn.StatusNormalClosure, "bye"))
	// Output:
	// hello, gopher <nil>
	// <nil>
}

// Reading with range: the loop ends when the peer closes, and CloseReason
// tells how.
func ExampleConn_Messages() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		for _, s := range []string{"one", "two", "three"} {
			c.Write(r.Context(), conn.MessageText, []byte(s))
		}
		c.Close(conn.StatusNormalClosure, "that's all")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(msg.Type, string(msg.Data))
	}
	r := c.CloseReason()
	fmt.Println("closed:", r.Code, r.Reason)
	// Output:
	// text one
	// text two
	// text three
	// closed: 1000 (normal closure) that's all
}

// A line protocol written for net.Conn runs unchanged over a WebSocket.
func ExampleNetConn() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		nc := conn.NetConn(r.Context(), c, conn.MessageText)
		defer nc.Close()
		sc := bufio.NewScanner(nc)
		for sc.Scan() {
			fmt.Fprintf(nc, "%s!\n", strings.ToUpper(sc.Text()))
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	nc := conn.NetConn(ctx, c, conn.MessageText)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(nc, "hello\nwebsocket\n")
	rd := bufio.NewReader(nc)
	for range 2 {
		line, err := rd.ReadString('\n')
		fmt.Printf("%q %v\n", line, err)
	}
	// Output:
	// "HELLO!\n" <nil>
	// "WEBSOCKET!\n" <nil>
}

// Graceful shutdown: http.Server.Shutdown does not close WebSockets (it
// forgets hijacked HTTP/1.1 ones and waits for HTTP/2 ones), so a Tracker
// closes them with 1001, before Shutdown.
func ExampleTracker() {
	var tracker conn.Tracker
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tracker.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, err := range c.Messages(context.Background()) {
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	for tracker.Len() == 0 { // the handler may not have tracked it yet
		time.Sleep(time.Millisecond)
	}

	// At shutdown, first (then srv.Config.Shutdown(ctx) for plain HTTP):
	fmt.Println(tracker.Shutdown(ctx))
	fmt.Println(conn.CloseStatus(<-readErr))
	// Output:
	// <nil>
	// 1001 (going away)
}

// A message prepared once is written to many connections without being
// framed again for each.
func ExamplePreparedMessage() {
	received := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, p, err := c.Read(r.Context())
		if err == nil {
			received <- string(p)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pm := conn.NewPreparedMessage(conn.MessageText, []byte("news for everyone"))
	for range 3 {
		c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.CloseNow()
		if err := c.WritePrepared(ctx, pm); err != nil {
			fmt.Println(err)
		}
	}
	for range 3 {
		fmt.Println(<-received)
	}
	// Output:
	// news for everyone
	// news for everyone
	// news for everyone
}

// A server that runs the opening handshake itself, with handshake.Upgrader
// and extension.Negotiate, and then starts the Default session on what
// they agreed: the same as Accept, with the handshake in the caller's
// hands (to look at the Result first, or because another HTTP stack did
// it).
func ExampleNewFromResult() {
	exts := []extension.Extension{deflate.New(nil)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var agreed []extension.Agreed
		u := handshake.Upgrader{
			Subprotocols: []string{"chat.v2"},
			NegotiateExtensions: func(offers []string) (string, error) {
				resp, a, err := extension.Negotiate(exts, offers)
				agreed = a
				return resp, err
			},
		}
		res, err := u.Upgrade(w, r)
		if err != nil {
			return // Upgrade wrote the HTTP error
		}
		c := conn.NewFromResult(res, raw.Server, agreed, nil)
		defer c.CloseNow()
		typ, p, err := c.Read(r.Context())
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, bytes.ToUpper(p))
		c.Close(conn.StatusNormalClosure, "")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{
		Dialer:     handshake.Dialer{Subprotocols: []string{"chat.v2"}},
		Extensions: []extension.Extension{deflate.New(nil)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	fmt.Printf("%s, %s\n", c.Subprotocol(), c.Extensions())
	c.Write(ctx, conn.MessageText, []byte(strings.Repeat("hello ", 40)))
	_, p, err := c.Read(ctx)
	fmt.Println(len(p), string(p[:5]), err)
	// Output:
	// chat.v2, permessage-deflate
	// 240 HELLO <nil>
}
