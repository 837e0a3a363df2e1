//go:build linux

package poll_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
)

// An echo server whose idle connections hold no goroutine.
func Example() {
	p, err := poll.New(nil)
	if err != nil {
		fmt.Println(err) // errors.ErrUnsupported off Linux
		return
	}
	defer p.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		p.Serve(c, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			return c.Write(ctx, typ, b)
		})
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := conn.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	c.Write(ctx, conn.MessageText, []byte("hello"))
	_, b, err := c.Read(ctx)
	fmt.Println(string(b), err)
	c.Close(conn.StatusNormalClosure, "")
	// Output: hello <nil>
}
