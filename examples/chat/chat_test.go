package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/wsjson"
	"github.com/hybi-go/hybi/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// startRoom serves a room on a test server; at cleanup its members are
// closed and waited for.
func startRoom(t *testing.T) (*httptest.Server, *room) {
	rm := newRoom(log.New(testWriter{t}, "", 0))
	srv := httptest.NewServer(rm)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rm.shutdown(ctx)
	})
	return srv, rm
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// next reads events until one of kind.
func next(t *testing.T, c *conn.Conn, kind string) event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		var ev event
		if err := wsjson.Read(ctx, c, &ev); err != nil {
			t.Fatalf("waiting for %s: %v", kind, err)
		}
		if ev.Kind == kind {
			return ev
		}
	}
}

func TestPage(t *testing.T) {
	srv, _ := startRoom(t)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(body, []byte("new WebSocket(")) || !bytes.Contains(body, []byte("textContent")) {
		t.Fatalf("GET / = %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
}

// TestRoom: two members exchange messages and one sees the other leave.
func TestRoom(t *testing.T) {
	srv, rm := startRoom(t)
	ctx := testCtx(t)
	alice, _, err := conn.Dial(ctx, wsURL(srv, "/ws?name=alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.CloseNow()
	if ev := next(t, alice, "welcome"); ev.Name != "alice" || ev.Count != 1 {
		t.Fatalf("welcome %+v", ev)
	}
	if ev := next(t, alice, "join"); ev.Name != "alice" { // her own
		t.Fatalf("join %+v", ev)
	}
	bob, _, err := conn.Dial(ctx, wsURL(srv, "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.CloseNow()
	bobName := next(t, bob, "welcome").Name
	if !strings.HasPrefix(bobName, "guest-") {
		t.Fatalf("bob is %q", bobName)
	}
	if ev := next(t, alice, "join"); ev.Name != bobName || ev.Count != 2 {
		t.Fatalf("alice saw %+v", ev)
	}

	wsjson.Write(ctx, alice, post{Text: "  hello bob  "})
	if ev := next(t, bob, "msg"); ev.Name != "alice" || ev.Text != "hello bob" {
		t.Fatalf("bob got %+v", ev)
	}
	bob.Write(ctx, conn.MessageText, []byte("not json")) // ignored
	wsjson.Write(ctx, bob, post{Text: "hi alice"})
	// Everyone sees the messages in the same order, their own included.
	for _, c := range []*conn.Conn{alice, bob} {
		if c == alice {
			if ev := next(t, c, "msg"); ev.Name != "alice" || ev.Text != "hello bob" {
				t.Fatalf("first msg %+v", ev)
			}
		}
		if ev := next(t, c, "msg"); ev.Name != bobName || ev.Text != "hi alice" {
			t.Fatalf("second msg %+v", ev)
		}
	}

	if err := alice.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, bob, "leave"); ev.Name != "alice" || ev.Count != 1 {
		t.Fatalf("bob saw %+v", ev)
	}
	if rm.hub.Len() != 1 {
		t.Errorf("hub has %d members", rm.hub.Len())
	}
	bob.Close(conn.StatusNormalClosure, "")
}

// TestServeShutdown: when ctx ends, members are closed with 1001 and serve
// returns.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, newRoom(log.New(testWriter{t}, "", 0))) }()

	dctx := testCtx(t)
	var members []*conn.Conn
	for i := range 3 {
		c, _, err := conn.Dial(dctx, fmt.Sprintf("ws://%s/ws?name=m%d", ln.Addr(), i), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		next(t, c, "welcome")
		members = append(members, c)
	}
	stop()
	for _, c := range members {
		for {
			_, _, err := c.Read(dctx)
			if err == nil {
				continue // join and leave notices
			}
			if conn.CloseStatus(err) != conn.StatusGoingAway {
				t.Fatalf("member got %v, want 1001", err)
			}
			break
		}
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return")
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"  alice ":              "alice",
		"a\x00b\nc":             "abc",
		strings.Repeat("é", 30): strings.Repeat("é", 24),
		"":                      "",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
