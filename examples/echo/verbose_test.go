package main

import (
	"github.com/hybi-go/hybi/internal/syncbuf"
	"log"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// TestVerboseClose checks that -v logs the code and reason of the
// client's close, after the accept line.
func TestVerboseClose(t *testing.T) {
	var logs syncbuf.Buffer
	h := newHandler(false, true, log.New(&logs, "", 0))
	h.verbose = true
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		h.wait()
	}()
	ctx := testContext(t)
	c, _, err := conn.Dial(ctx, wsURL(srv, "/ws"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Close(4000, "bye ✓"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want := regexp.MustCompile(`^accept 127\.0\.0\.1:\d+ HTTP/1\.1 "" ""\nclose 127\.0\.0\.1:\d+ 4000 "bye ✓"\n$`)
	deadline := time.Now().Add(10 * time.Second)
	for !want.MatchString(logs.String()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if l := logs.String(); !want.MatchString(l) {
		t.Errorf("log %q does not match %q", l, want)
	}
}
