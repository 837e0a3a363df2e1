package handshake_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/hybi-go/hybi/handshake"
)

// The example of RFC 6455, Section 1.3.
func ExampleComputeAccept() {
	fmt.Println(handshake.ComputeAccept("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleUpgrader() {
	u := &handshake.Upgrader{
		Subprotocols:   []string{"chat.v2", "chat.v1"},
		AllowedOrigins: []string{"*.example.com"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) {
		res, err := u.Upgrade(w, r)
		if err != nil {
			return // Upgrade has answered the request already
		}
		defer res.Conn.Close()
		// Frames start with res.Buffered, then continue on res.Conn.
		frames := io.MultiReader(strings.NewReader(string(res.Buffered)), res.Conn)
		_ = frames
	})
	_ = http.ListenAndServe("localhost:8080", mux)
}

func ExampleDialer() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := (&handshake.Upgrader{Subprotocols: []string{"chat"}}).Upgrade(w, r)
		if err != nil {
			return
		}
		res.Conn.Write([]byte("\x81\x05Hello")) // a text frame (RFC 6455, Section 5.7)
		res.Conn.Close()
	}))
	defer srv.Close()

	d := &handshake.Dialer{Subprotocols: []string{"chat"}}
	res, resp, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err != nil {
		log.Fatal(err)
	}
	defer res.Conn.Close()
	frame, _ := io.ReadAll(io.MultiReader(strings.NewReader(string(res.Buffered)), res.Conn))
	fmt.Println(resp.Status)
	fmt.Println(res.Subprotocol)
	fmt.Printf("%q\n", frame)
	// Output:
	// 101 Switching Protocols
	// chat
	// "\x81\x05Hello"
}
