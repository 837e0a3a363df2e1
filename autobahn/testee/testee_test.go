package testee

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/handshake"
)

// commandServer serves /getCaseCount and /updateReports the way end says
// a server may end a command connection, and counts the reports asked
// for. The count is "0", so that RunClient runs no case.
type commandServer struct {
	end   string // "empty" (the real suite), "1000", "drop", "1011", "nocount"
	mu    sync.Mutex
	asked int
}

func (s *commandServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := handshake.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	res, err := u.Upgrade(w, r)
	if err != nil {
		return
	}
	nc := res.Conn
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	switch r.URL.Path {
	case "/getCaseCount":
		if s.end != "nocount" {
			out = append(out, 0x81, 1, '0') // a text message: "0"
		}
	case "/updateReports":
		s.mu.Lock()
		s.asked++
		s.mu.Unlock()
	}
	switch s.end {
	case "empty", "nocount":
		out = append(out, 0x88, 0) // a close frame with no status code
	case "1000":
		out = append(out, 0x88, 2, 0x03, 0xe8)
	case "1011":
		out = append(out, 0x88, 2, 0x03, 0xf3)
	case "drop":
		// No close frame: TCP ends after the message.
	}
	if _, err := nc.Write(out); err != nil {
		return
	}
	if s.end != "drop" {
		// Wait for the client's close frame (or its end), then drop TCP,
		// as a server does at the end of the closing handshake.
		io.Copy(io.Discard, io.LimitReader(nc, 6))
	}
}

// TestClientCommandEndings runs the client testee's side of the suite's
// protocol against every way a server may end a command connection. The
// real suite ends them with a close frame that carries no status code; a
// testee that accepted only 1000 stopped at its first request.
func TestClientCommandEndings(t *testing.T) {
	for _, o := range []Options{{}, {Raw: true}} {
		for _, tc := range []struct {
			end   string
			valid bool
		}{
			{"empty", true},
			{"1000", true},
			{"drop", true},
			{"1011", false},    // an error in the close frame is an error
			{"nocount", false}, // a count is needed
		} {
			name := tc.end
			if o.Raw {
				name = "raw/" + name
			}
			t.Run(name, func(t *testing.T) {
				s := &commandServer{end: tc.end}
				hs := httptest.NewServer(s)
				defer hs.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				err := RunClient(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), "me", o)
				if tc.valid && err != nil {
					t.Fatalf("RunClient: %v", err)
				}
				if !tc.valid && err == nil {
					t.Fatal("RunClient succeeded")
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				if want := map[bool]int{true: 1, false: 0}[tc.valid]; s.asked != want {
					t.Errorf("reports asked %d times, want %d", s.asked, want)
				}
			})
		}
	}
}
