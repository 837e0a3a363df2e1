package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension/deflate"
)

// stallingDeflateServer sends the first frames of a compressed text
// message, waits for stall to close, sends the rest, then a second
// message "after". o configures the server's permessage-deflate.
func stallingDeflateServer(t *testing.T, o *deflate.Options, stall <-chan struct{}) *httptest.Server {
	first := jsonish(300000, 3) // flate emits a block per 64 KiB of input
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: exts(o), Options: conn.Options{WriteBufferSize: 256}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		wr, err := c.Writer(ctx, conn.MessageText)
		if err != nil {
			return
		}
		wr.Write(first)
		<-stall
		wr.Write(jsonish(1000, 9))
		if wr.Close() != nil {
			return
		}
		c.Write(ctx, conn.MessageText, []byte("after"))
		c.Read(ctx) // until the client closes
	}))
}

// readUntilCut reads r until it fails, with ctx's cancel called once some
// of the message was decoded and the reads then wait on the stalled
// server: however slow the machine, the cut falls inside the message.
func readUntilCut(r io.Reader, cancel context.CancelFunc) (int64, error) {
	var n int64
	buf := make([]byte, 4096)
	for {
		k, err := r.Read(buf)
		if n == 0 && k > 0 {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
}

// TestDeflateCancelReadSkips: with no context takeover on the messages
// this end receives, a read cut short in the middle of a compressed
// message leaves the connection open, as it does without compression: the
// cut reader returns the context's error and no bytes, and the next read
// skips the rest of the message and returns the next one. It failed
// before decoders could say they may skip (the connection was closed with
// 1006).
func TestDeflateCancelReadSkips(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server *deflate.Options
		client *deflate.Options
	}{
		{"client asks server_no_context_takeover", nil, &deflate.Options{ServerNoContextTakeover: true}},
		{"server imposes server_no_context_takeover", &deflate.Options{ServerNoContextTakeover: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stall := make(chan struct{})
			srv := stallingDeflateServer(t, tc.server, stall)
			defer srv.Close()
			c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{Extensions: exts(tc.client)})
			defer c.CloseNow()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, r, err := c.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, err := readUntilCut(r, cancel)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("read: %d bytes, %v; want the cancellation", n, err)
			}
			if conn.CloseStatus(err) != 0 {
				t.Fatalf("the cut read reports a closed connection: %v", err)
			}
			if n == 0 {
				t.Fatal("nothing was decoded before the stall; the test does not cut a message in the middle")
			}
			// The cut reader hands out nothing more: what is left on the
			// wire is compressed, and the decoder was stopped.
			if k, err := r.Read(make([]byte, 1024)); k != 0 || !errors.Is(err, context.Canceled) {
				t.Fatalf("the cut reader read again: %d bytes, %v", k, err)
			}
			close(stall)
			rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer rcancel()
			typ, p, err := c.Read(rctx)
			if err != nil {
				t.Fatalf("the read after the cut one: %v", err)
			}
			if typ != conn.MessageText || !bytes.Equal(p, []byte("after")) {
				t.Fatalf("the read after the cut one got %v %.40q, want text \"after\"", typ, p)
			}
			if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// TestDeflateCancelReadTakeover: with context takeover, the decoder's
// window would no longer match the sender's after a message left
// unfinished, so a read cut short in the middle of one closes the
// connection, and says so: the error wraps the context's error and
// carries 1006.
func TestDeflateCancelReadTakeover(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	srv := stallingDeflateServer(t, nil, stall)
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{Extensions: exts(nil)})
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = readUntilCut(r, cancel)
	if !errors.Is(err, context.Canceled) || conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Fatalf("read: %v; want the cancellation and 1006", err)
	}
	if _, _, err := c.Read(context.Background()); conn.CloseStatus(err) != conn.StatusAbnormalClosure {
		t.Fatalf("after the interrupted message: %v", err)
	}
}
