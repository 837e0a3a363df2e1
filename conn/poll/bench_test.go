//go:build linux

package poll_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
)

// idleConns is how many idle connections BenchmarkIdlePoll holds; each
// takes two descriptors in this process (client and server).
const idleConns = 5000

// memInUse returns the Go heap in use plus goroutine stacks, after
// collecting.
func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// raiseNoFile raises the soft descriptor limit to the hard one and
// returns how many connections fit.
func raiseNoFile(b *testing.B) int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		b.Fatal(err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	n := min(idleConns, int(l.Cur/2)-100)
	if n < 100 {
		b.Skipf("descriptor limit %d too low", l.Cur)
	}
	return n
}

// BenchmarkIdlePoll reports what an idle server connection costs once it
// has echoed one message: heap plus goroutine stacks, and goroutines, per
// connection, measured as what is released when the server side is
// dropped while the clients stay open. "poll" serves the connections
// from a Poller; "goroutine" from conn.Handler, one goroutine each,
// reading with AppendRead into a reused buffer as bench/servers does.
func BenchmarkIdlePoll(b *testing.B) {
	n := raiseNoFile(b)
	echoMsg := func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r []byte) error {
		return c.Write(ctx, typ, r)
	}
	b.Run("poll", func(b *testing.B) {
		for range b.N {
			p, err := poll.New(nil)
			if err != nil {
				b.Fatal(err)
			}
			h := func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
				var buf [64]byte
				k, _ := io.ReadFull(r, buf[:])
				return echoMsg(ctx, c, typ, buf[:k])
			}
			measure(b, n, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := conn.Accept(w, r, nil)
				if err != nil {
					return
				}
				p.Serve(c, h)
			}), func() { p.Close() })
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		for range b.N {
			var mu sync.Mutex
			var servers []*conn.Conn
			measure(b, n, conn.Handler(nil, func(ctx context.Context, c *conn.Conn) {
				mu.Lock()
				servers = append(servers, c)
				mu.Unlock()
				buf := make([]byte, 0, 64)
				for {
					typ, p, err := c.AppendRead(ctx, buf[:0])
					if err != nil {
						return
					}
					if echoMsg(ctx, c, typ, p) != nil {
						return
					}
				}
			}), func() {
				mu.Lock()
				defer mu.Unlock()
				for _, c := range servers {
					c.CloseNow()
				}
				servers = nil
			})
		}
	})
}

// measure opens n connections to a server running h, echoes one message
// on each, and reports the memory and goroutines released by drop, which
// must close the server side of every connection.
func measure(b *testing.B, n int, h http.Handler, drop func()) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := make([]*conn.Conn, 0, n)
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	for range n {
		c, _, err := conn.Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
		if err := c.Write(ctx, conn.MessageText, []byte("hello")); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	g1, m1 := runtime.NumGoroutine(), memInUse()
	drop()
	// Wait for the server side's goroutines, if any, to end.
	for i, last := 0, -1; i < 100; i++ {
		g := runtime.NumGoroutine()
		if g == last {
			break
		}
		last = g
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	g2, m2 := runtime.NumGoroutine(), memInUse()
	b.ReportMetric(float64(int64(m1)-int64(m2))/float64(n), "B/idle-server-conn")
	b.ReportMetric(float64(g1-g2)/float64(n), "goroutines/idle-server-conn")
}

// BenchmarkEcho echoes 16-byte messages over one loopback connection
// served by a Poller whose handler reads each message into a reused
// buffer and writes it back. allocs/op counts both ends; the client's
// reads and writes allocate nothing, so they are the server's.
func BenchmarkEcho(b *testing.B) {
	var buf [64]byte
	_, url := server(b, nil, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
		n, err := io.ReadFull(r, buf[:16])
		if err != nil {
			return err
		}
		return c.Write(ctx, typ, buf[:n])
	})
	ctx := context.Background()
	c := dial(b, ctx, url)
	msg := make([]byte, 16)
	p := make([]byte, 0, 64)
	echo := func() {
		if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
			b.Fatal(err)
		}
		var err error
		if _, p, err = c.AppendRead(ctx, p[:0]); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 {
		echo()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		echo()
	}
}
