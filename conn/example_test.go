package conn_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// An echo server and a client that talks to it, then closes.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
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
	if err := c.Write(ctx, conn.MessageText, []byte("hello")); err != nil {
		fmt.Println(err)
		return
	}
	typ, msg, err := c.Read(ctx)
	fmt.Println(typ, string(msg), err)
	fmt.Println(c.Close(conn.StatusNormalClosure, "bye"))
	// Output:
	// text hello <nil>
	// <nil>
}

// A client learns the server's close code and reason from the error its
// read returns.
func ExampleCloseStatus() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(conn.StatusGoingAway, "restarting")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, err = c.Read(ctx)
	fmt.Println(conn.CloseStatus(err))
	var ce *conn.CloseError
	if errors.As(err, &ce) {
		fmt.Println(ce.Reason)
	}
	// Output:
	// 1001 (going away)
	// restarting
}

// Streaming a message in pieces: each Write may become a frame, and Close
// sends the last one.
func ExampleConn_Writer() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, msg, err := c.Read(r.Context())
		if err == nil {
			c.Write(r.Context(), conn.MessageText, []byte(fmt.Sprintf("got %d bytes", len(msg))))
		}
		c.Close(conn.StatusNormalClosure, "")
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
	w, err := c.Writer(ctx, conn.MessageText)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 3; i++ {
		fmt.Fprintf(w, "part %d;", i)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	_, reply, err := c.Read(ctx)
	fmt.Println(string(reply), err)
	// Output:
	// got 21 bytes <nil>
}
