package conn_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// rawServer serves one Raw-session connection to h and returns the ws URL.
func rawServer(t *testing.T, h func(rc *raw.Conn)) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		res, err := (&handshake.Upgrader{}).Upgrade(w, r)
		if err != nil {
			return
		}
		rc := raw.New(res.Conn, res.Buffered, raw.Server, nil)
		defer rc.Close()
		h(rc)
	}))
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// serverFrames reads frames until a close frame or the end, returning
// their opcodes and payloads.
func serverFrames(rc *raw.Conn, until frame.Opcode) (got []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		h, err := rc.NextFrame(ctx)
		if err != nil {
			return got
		}
		p, _ := io.ReadAll(rc)
		got = append(got, h.Opcode.String()+":"+string(p))
		if h.Opcode == until {
			return got
		}
	}
}

// After CloseWrite, the messages the peer sent before its close frame are
// read, then its CloseError; Close would have discarded them.
func TestCloseWriteReadsToPeerClose(t *testing.T) {
	url := rawServer(t, func(rc *raw.Conn) {
		serverFrames(rc, frame.OpClose)
		ctx := context.Background()
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, []byte("late one"))
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary}, []byte("late two"))
		rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, 4000, "done"))
		serverFrames(rc, frame.OpClose) // until the client drops TCP
	})
	c := dial(t, url, nil)
	if err := c.CloseWrite(conn.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), conn.MessageText, []byte("x")); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("Write after CloseWrite: %v, want ErrClosed", err)
	}
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			if conn.CloseStatus(err) != 4000 {
				t.Errorf("read ended with %v, want the peer's 4000", err)
			}
			break
		}
		got = append(got, string(p))
	}
	if strings.Join(got, ",") != "late one,late two" {
		t.Errorf("read %q", got)
	}
	if r := c.CloseReason(); r == nil || r.Code != 4000 || r.Reason != "done" {
		t.Errorf("CloseReason %v", r)
	}
}

// A peer that never answers has the connection closed after CloseTimeout:
// the reader gets 1006, not a hang. A second CloseWrite and a Close send
// no second close frame.
func TestCloseWriteTimeout(t *testing.T) {
	saw := make(chan []string, 1)
	url := rawServer(t, func(rc *raw.Conn) { saw <- serverFrames(rc, 0xff) })
	c := dial(t, url, &conn.DialOptions{Options: conn.Options{CloseTimeout: 200 * time.Millisecond}})
	if err := c.CloseWrite(4001, "going"); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(4002, "again"); !errors.Is(err, conn.ErrClosed) {
		t.Errorf("second CloseWrite: %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := c.Read(ctx)
	if conn.CloseStatus(err) != conn.StatusAbnormalClosure || ctx.Err() != nil {
		t.Fatalf("read: %v after %v, want 1006 after the CloseTimeout", err, time.Since(start))
	}
	c.Close(conn.StatusNormalClosure, "")
	if got := <-saw; len(got) != 1 || got[0] != "close:\x0f\xa1going" {
		t.Errorf("server saw %q, want one close frame", got)
	}
}
