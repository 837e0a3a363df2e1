package wsjson_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/wsjson"
)

// A JSON request and response, one value per message.
func Example() {
	type request struct{ A, B int }
	type response struct{ Sum int }

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			var req request
			if err := wsjson.Read(r.Context(), c, &req); err != nil {
				return
			}
			if err := wsjson.Write(r.Context(), c, response{req.A + req.B}); err != nil {
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
	if err := wsjson.Write(ctx, c, request{A: 2, B: 40}); err != nil {
		fmt.Println(err)
		return
	}
	var resp response
	err = wsjson.Read(ctx, c, &resp)
	fmt.Println(resp.Sum, err)
	c.Close(conn.StatusNormalClosure, "")
	// Output:
	// 42 <nil>
}
