package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// echoServer starts an httptest server that echoes every message.
func echoServer(t *testing.T, o *conn.AcceptOptions) (url string, done <-chan error) {
	t.Helper()
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, o)
		if err != nil {
			errc <- err
			return
		}
		ctx := context.Background()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				errc <- err
				return
			}
			if err := c.Write(ctx, typ, p); err != nil {
				errc <- err
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), errc
}

func dial(t *testing.T, url string, o *conn.DialOptions) *conn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestEchoSizes(t *testing.T) {
	url, done := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx := context.Background()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
			p := bytes.Repeat([]byte("é"), n/2)
			if n%2 == 1 {
				p = append(p, 'x')
			}
			if err := c.Write(ctx, typ, p); err != nil {
				t.Fatal(err)
			}
			gt, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if gt != typ || !bytes.Equal(got, p) {
				t.Fatalf("n=%d typ=%v: got %v len %d", n, typ, gt, len(got))
			}
		}
	}
	if err := c.Close(conn.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := <-done
	var ce *conn.CloseError
	if !errors.As(err, &ce) || ce.Code != conn.StatusNormalClosure || ce.Reason != "bye" {
		t.Fatalf("server saw %v", err)
	}
}

func TestStreamedMessage(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, &conn.DialOptions{Options: conn.Options{WriteBufferSize: 1000}})
	ctx := context.Background()
	w, err := c.Writer(ctx, conn.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := 0; i < 500; i++ {
		s := strings.Repeat("ü", i%7) + "abc"
		want.WriteString(s)
		io.WriteString(w, s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	typ, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || typ != conn.MessageText || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("typ %v err %v len %d want %d", typ, err, len(got), want.Len())
	}
	c.Close(conn.StatusNormalClosure, "")
}

// The Read that returns a message's last bytes returns io.EOF with them,
// so that reading a small message to its end is one call.
func TestReaderEOFWithLastBytes(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx := context.Background()
	for _, n := range []int{1, 16, 1000} {
		w, err := c.Writer(ctx, conn.MessageBinary)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte{'x'}, n))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, r, err := c.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		buf := make([]byte, 4096)
		for {
			k, err := r.Read(buf)
			got += k
			if err == io.EOF {
				if k == 0 {
					t.Fatalf("n=%d: io.EOF came alone, after the last bytes", n)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if got >= n {
				t.Fatalf("n=%d: the last bytes came without io.EOF", n)
			}
		}
		if got != n {
			t.Fatalf("n=%d: read %d bytes", n, got)
		}
		if k, err := r.Read(buf); k != 0 || err != io.EOF {
			t.Fatalf("n=%d: Read after the end = %d, %v", n, k, err)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx := context.Background()
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if err := c.Write(ctx, conn.MessageBinary, bytes.Repeat([]byte{byte(i)}, 1000+j)); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	seen := 0
	for seen < writers*each {
		_, p, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range p {
			if b != p[0] {
				t.Fatal("interleaved message")
			}
		}
		seen++
	}
	wg.Wait()
	c.Close(conn.StatusNormalClosure, "")
}

func TestPing(t *testing.T) {
	url, _ := echoServer(t, nil)
	c := dial(t, url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	readDone := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readDone <- err
	}()
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if err := c.Ping(pctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-readDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("read: %v", err)
	}
	// The cancelled read did not kill the connection.
	if err := c.Write(context.Background(), conn.MessageText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	_, p, err := c.Read(context.Background())
	if err != nil || string(p) != "still here" {
		t.Fatalf("after cancel: %q %v", p, err)
	}
	c.Close(conn.StatusNormalClosure, "")
}

func TestServerClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(4001, "server says bye")
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	_, _, err := c.Read(context.Background())
	if conn.CloseStatus(err) != 4001 {
		t.Fatalf("got %v", err)
	}
	var ce *conn.CloseError
	if !errors.As(err, &ce) || ce.Reason != "server says bye" {
		t.Fatalf("got %v", err)
	}
}

func TestReadLimit(t *testing.T) {
	url, done := echoServer(t, &conn.AcceptOptions{Options: conn.Options{ReadLimit: 1000}})
	c := dial(t, url, nil)
	ctx := context.Background()
	if err := c.Write(ctx, conn.MessageBinary, make([]byte, 1001)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	if conn.CloseStatus(err) != conn.StatusMessageTooBig {
		t.Fatalf("client got %v", err)
	}
	if err := <-done; conn.CloseStatus(err) != conn.StatusMessageTooBig {
		t.Fatalf("server got %v", err)
	}
}

// When Ping returns, the pong it waited for has been taken note of
// everywhere: RTT reports its round trip and OnPong has been called with
// it (the hybi CLI prints each pong before the next line goes out).
func TestPingReturnsAfterThePongIsNoted(t *testing.T) {
	url, _ := echoServer(t, nil)
	var seen atomic.Int64
	c := dial(t, url, &conn.DialOptions{Options: conn.Options{OnPong: func([]byte) {
		time.Sleep(100 * time.Microsecond) // a slow hook widens the window
		seen.Add(1)
	}}})
	ctx := context.Background()
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	for i := int64(1); i <= 50; i++ {
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if c.RTT() <= 0 {
			t.Fatalf("ping %d returned with RTT %v", i, c.RTT())
		}
		if n := seen.Load(); n != i {
			t.Fatalf("ping %d returned with OnPong called %d times", i, n)
		}
	}
}
