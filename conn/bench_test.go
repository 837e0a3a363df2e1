package conn_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/raw"
)

var benchSizes = []int{16, 1 << 10, 16 << 10, 1 << 20}

// pipePair returns a client and a server Conn joined by net.Pipe, with the
// opening handshake skipped.
func pipePair() (client, server *conn.Conn) { return pipePairWith(nil) }

// pipePairWith is pipePair with options o for both ends.
func pipePairWith(o *conn.Options) (client, server *conn.Conn) {
	a, b := net.Pipe()
	client = conn.New(raw.New(a, nil, raw.Client, nil), "", o)
	server = conn.New(raw.New(b, nil, raw.Server, nil), "", o)
	return client, server
}

// tcpPair returns a client and a server Conn over loopback TCP, with a real
// opening handshake.
func tcpPair(b *testing.B, ao *conn.AcceptOptions, do *conn.DialOptions) (client, server *conn.Conn) {
	ch := make(chan *conn.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			b.Error(err)
		}
		ch <- c
	}))
	b.Cleanup(srv.Close)
	c, _, err := conn.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), do)
	if err != nil {
		b.Fatal(err)
	}
	return c, <-ch
}

// echoLoop echoes through the streaming API into one reused buffer, the
// steady state a server that does not keep messages runs in.
func echoLoop(s *conn.Conn, buf []byte) {
	ctx := context.Background()
	for {
		typ, r, err := s.Reader(ctx)
		if err != nil {
			return
		}
		n, err := io.ReadFull(r, buf)
		if err != nil && err != io.ErrUnexpectedEOF {
			return
		}
		if err := s.Write(ctx, typ, buf[:n]); err != nil {
			return
		}
	}
}

func benchEcho(b *testing.B, pair func() (*conn.Conn, *conn.Conn)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c, s := pair()
			go echoLoop(s, make([]byte, n))
			roundTrips(b, c, s, conn.MessageBinary, [][]byte{make([]byte, n)})
		})
	}
}

// roundTrips is the timed loop of the echo benchmarks: it writes the msgs
// in turn (all of one size) and reads each echo into one reused buffer,
// then closes both ends.
func roundTrips(b *testing.B, c, s *conn.Conn, typ conn.MessageType, msgs [][]byte) {
	buf := make([]byte, len(msgs[0]))
	ctx := context.Background()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Write(ctx, typ, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		_, r, err := c.Reader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.CloseNow()
	s.CloseNow()
}

func BenchmarkEchoPipe(b *testing.B) { benchEcho(b, pipePair) }

func BenchmarkEchoTCP(b *testing.B) {
	benchEcho(b, func() (*conn.Conn, *conn.Conn) { return tcpPair(b, nil, nil) })
}

// BenchmarkWrite measures writing one message, client side (masked), to a
// sink: it must not allocate.
func BenchmarkWrite(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			a, d := net.Pipe()
			go io.Copy(io.Discard, d)
			c := conn.New(raw.New(a, nil, raw.Client, nil), "", nil)
			msg := make([]byte, n)
			ctx := context.Background()
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.CloseNow()
			d.Close()
		})
	}
}

// TestSteadyStateAllocs pins the zero-allocation promise: reading a message
// into the caller's buffer and writing one allocate nothing.
func TestSteadyStateAllocs(t *testing.T) {
	if allocs, _ := echoAllocs(t, nil); allocs != 0 {
		t.Fatalf("%v allocations per echo, want 0", allocs)
	}
}

// echoAllocs returns the allocations of one echo, written and read back
// into a reused buffer, between two Conns made with o, and the client,
// which has echoed 201 messages of 1 KiB.
func echoAllocs(t *testing.T, o *conn.Options) (float64, *conn.Conn) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c, s := pipePairWith(o)
	t.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	go echoLoop(s, make([]byte, 1024))
	msg := make([]byte, 1024)
	buf := make([]byte, 1024)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() { echoInto(t, ctx, c, msg, buf) })
	return allocs, c
}

// echoInto writes msg from c and reads its echo back into buf, which has
// its length.
// It does not call t.Helper, which allocates: the tests that use it count
// allocations.
func echoInto(t *testing.T, ctx context.Context, c *conn.Conn, msg, buf []byte) {
	if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	_, r, err := c.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkIdleConn reports the Go heap an idle, open server connection
// holds once its handshake is done and a first message was echoed: the
// Conn, its Raw session and the net.Conn, and no read or write buffer. It
// is measured as the heap released when the server side's connections are
// dropped while their clients stay open.
func BenchmarkIdleConn(b *testing.B) {
	benchIdle(b, 1000, nil, nil, []byte("hello"))
}

// benchIdle opens n connections with ao and do, echoes msg once on each,
// and reports the heap released when the server sides are dropped.
func benchIdle(b *testing.B, n int, ao *conn.AcceptOptions, do *conn.DialOptions, msg []byte) {
	ready := make(chan *conn.Conn, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			return
		}
		go echoLoop(c, make([]byte, max(64, len(msg))))
		ready <- c
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		clients := make([]*conn.Conn, 0, n)
		servers := make([]*conn.Conn, 0, n)
		for j := 0; j < n; j++ {
			cl, _, err := conn.Dial(ctx, url, do)
			if err != nil {
				b.Fatal(err)
			}
			if err := cl.Write(ctx, conn.MessageText, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := cl.Read(ctx); err != nil {
				b.Fatal(err)
			}
			clients = append(clients, cl)
			servers = append(servers, <-ready)
		}
		withServers := heapInUse()
		// Dropping the server side: its echo goroutines end and its
		// objects become garbage; the clients stay as they were.
		for _, s := range servers {
			s.CloseNow()
		}
		servers = nil
		time.Sleep(100 * time.Millisecond)
		without := heapInUse()
		b.ReportMetric(float64(int64(withServers)-int64(without))/float64(n), "B/idle-server-conn")
		for _, c := range clients {
			c.CloseNow()
		}
	}
}

// BenchmarkRead measures Read and AppendRead of whole messages: Read
// allocates exactly the message, AppendRead into a reused slice nothing.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{1 << 10, 16 << 10, 1 << 20} {
		for _, mode := range []string{"Read", "AppendRead"} {
			b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
				c, s := pipePair()
				go echoLoop(s, make([]byte, n))
				msg := make([]byte, n)
				ctx := context.Background()
				var dst []byte
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if err := c.Write(ctx, conn.MessageBinary, msg); err != nil {
						b.Fatal(err)
					}
					var err error
					if mode == "Read" {
						_, dst, err = c.Read(ctx)
					} else {
						_, dst, err = c.AppendRead(ctx, dst[:0])
					}
					if err != nil || len(dst) != n {
						b.Fatal(err, len(dst))
					}
				}
				b.StopTimer()
				c.CloseNow()
				s.CloseNow()
			})
		}
	}
}
