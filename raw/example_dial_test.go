package raw_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// Accept and Dial run the opening handshake and start a Raw session: here
// a server that answers each text frame with its length.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := raw.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered the request
		}
		defer c.Close()
		ctx := r.Context()
		for {
			h, err := c.NextFrame(ctx)
			if err != nil || h.Opcode == frame.OpClose {
				return
			}
			p, _ := io.ReadAll(c)
			reply := fmt.Sprintf("%d bytes", len(p))
			c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, []byte(reply))
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := raw.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hello"))
	h, _ := c.NextFrame(ctx)
	p, _ := io.ReadAll(c)
	fmt.Printf("%v %q\n", h.Opcode, p)
	c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, frame.StatusNormalClosure, ""))
	// Output:
	// text "5 bytes"
}

// A handshake done with package handshake (here a Dialer with a header of
// its own and a subprotocol) is turned into a Raw session with
// NewFromResult, which also records the extensions agreed (none here).
func ExampleNewFromResult() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := handshake.Upgrader{Subprotocols: []string{"chat.v1"}}
		res, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		c := raw.NewFromResult(res, raw.Server, nil, nil)
		defer c.Close()
		c.WriteFrame(r.Context(), frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hello, "+r.Header.Get("X-Name")))
	}))
	defer srv.Close()

	d := handshake.Dialer{Subprotocols: []string{"chat.v1"}, Header: http.Header{"X-Name": {"gopher"}}}
	ctx := context.Background()
	res, _, err := d.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c := raw.NewFromResult(res, raw.Client, nil, nil)
	defer c.Close()
	h, _ := c.NextFrame(ctx)
	p, _ := io.ReadAll(c)
	fmt.Printf("subprotocol %q, extensions %q: %v %q\n", res.Subprotocol, c.Extensions(), h.Opcode, p)
	// Output:
	// subprotocol "chat.v1", extensions "": text "hello, gopher"
}
