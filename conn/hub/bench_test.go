package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// BenchmarkBroadcast measures one fan-out: a 1 KiB message (JSON-like
// text) broadcast to n members, from the Broadcast call until every peer
// has read it. Peers are Raw clients that read and discard. Over net.Pipe,
// 10,000 members need no file descriptors; over TCP, each member takes
// two.
//
// The deflate cases agree permessage-deflate in a real opening handshake
// (over net.Pipe): "deflate" with server_no_context_takeover, where the
// message is compressed once per fan-out and every member sends the same
// frame; "deflate-takeover" with context takeover, also compressed once
// but each member adds the message to its send window; "deflate-per-conn"
// hides extension.PreparedEncoder, so that every member compresses the
// message itself, as before encode-once; "deflate-off" sets up the same
// connections with SetCompression(false), to tell the cost of the setup
// from that of compression.
func BenchmarkBroadcast(b *testing.B) {
	for _, bc := range []struct {
		name    string
		n       int
		tcp     bool
		ext     string
		timeout time.Duration
	}{
		{"pipe/1000", 1000, false, "", 0},
		{"pipe/10000", 10000, false, "", 0},
		{"pipe/10000/deflate", 10000, false, "deflate", 0},
		{"pipe/10000/deflate-takeover", 10000, false, "deflate-takeover", 0},
		{"pipe/10000/deflate-per-conn", 10000, false, "deflate-per-conn", 0},
		{"pipe/10000/deflate-off", 10000, false, "deflate-off", 0},
		{"tcp/1000", 1000, true, "", 0},
		{"tcp/5000", 5000, true, "", 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := hub.New(&hub.Options{WriteTimeout: bc.timeout})
			var got sync.WaitGroup
			var stop func()
			if bc.ext != "" {
				stop = deflatePeers(b, h, bc.n, bc.ext, &got)
			} else {
				stop = fanOutPeers(b, h, bc.n, bc.tcp, &got)
			}
			defer stop()
			msg := benchMessage(1024)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				got.Add(bc.n)
				h.Broadcast(conn.MessageText, msg)
				got.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bc.n), "ns/member")
		})
	}
}

// benchMessage is n bytes of JSON-like text, which deflate compresses
// about threefold.
func benchMessage(n int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < n; i++ {
		fmt.Fprintf(&buf, `{"id":%d,"user":"u%d","score":%d,"tags":["x%d","y"]},`, i, i*7%1000, i*31%977, i%11)
	}
	return buf.Bytes()[:n]
}

// fanOutPeers adds n members to h, each with a peer that reads frames and
// calls got.Done for each. stop closes everything.
func fanOutPeers(b *testing.B, h *hub.Hub, n int, tcp bool, got *sync.WaitGroup) (stop func()) {
	var ln net.Listener
	if tcp {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
	}
	f := &fanOut{h: h, got: got}
	for range n {
		var a, s net.Conn
		if tcp {
			var err error
			if a, err = net.Dial("tcp", ln.Addr().String()); err != nil {
				b.Fatalf("after %d connections: %v", len(f.peers), err)
			}
			if s, err = ln.Accept(); err != nil {
				b.Fatal(err)
			}
		} else {
			a, s = net.Pipe()
		}
		f.add(raw.New(a, nil, raw.Client, nil), conn.New(raw.New(s, nil, raw.Server, nil), "", nil))
	}
	return f.stop
}

// fanOut is a hub's members and their reading peers.
type fanOut struct {
	h       *hub.Hub
	got     *sync.WaitGroup
	members []*hub.Member
	peers   []*raw.Conn
	readers sync.WaitGroup
}

func (f *fanOut) add(peer *raw.Conn, c *conn.Conn) {
	f.members = append(f.members, f.h.Add(c))
	f.peers = append(f.peers, peer)
	f.readers.Add(1)
	go func() {
		defer f.readers.Done()
		var buf [2048]byte
		ctx := context.Background()
		for {
			if _, err := peer.NextFrame(ctx); err != nil {
				return
			}
			for {
				if _, err := peer.Read(buf[:]); err != nil {
					break
				}
			}
			f.got.Done()
		}
	}()
}

func (f *fanOut) stop() {
	for i, m := range f.members {
		f.h.Remove(m)
		m.Conn().CloseNow()
		f.peers[i].Close()
	}
	f.readers.Wait()
}

// deflatePeers is fanOutPeers with permessage-deflate agreed in an opening
// handshake over net.Pipe, in the mode named by mode.
func deflatePeers(b *testing.B, h *hub.Hub, n int, mode string, got *sync.WaitGroup) (stop func()) {
	var x extension.Extension = deflate.New(nil)
	offer := "permessage-deflate; server_no_context_takeover"
	switch mode {
	case "deflate-takeover":
		offer = "permessage-deflate"
	case "deflate-per-conn":
		x = perConnExt{x}
	}
	ln := newPipeListener()
	accepted := make(chan *conn.Conn)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: []extension.Extension{x}})
		if err != nil {
			return
		}
		accepted <- c
	})}
	served := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(served)
	}()
	defer func() {
		srv.Close()
		<-served
	}()
	d := &handshake.Dialer{
		NetDialContext:  ln.dial,
		Proxy:           func(*http.Request) (*url.URL, error) { return nil, nil },
		Extensions:      []string{offer},
		CheckExtensions: func(string) error { return nil },
	}
	f := &fanOut{h: h, got: got}
	ctx := context.Background()
	for range n {
		res, _, err := d.Dial(ctx, "ws://pipe/")
		if err != nil {
			b.Fatalf("after %d connections: %v", len(f.peers), err)
		}
		if res.Extensions != offer {
			b.Fatalf("agreed %q, want %q", res.Extensions, offer)
		}
		peer := raw.New(res.Conn, res.Buffered, raw.Client, &raw.Options{AllowedRSV: frame.RSV1})
		c := <-accepted
		if mode == "deflate-off" {
			c.SetCompression(false)
		}
		f.add(peer, c)
	}
	return f.stop
}

// perConnExt hides extension.PreparedEncoder from the connections, so
// that each compresses a prepared message itself.
type perConnExt struct{ extension.Extension }

func (x perConnExt) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	resp, a, err := x.Extension.Accept(offers)
	if a != nil {
		a = perConnAgreed{a}
	}
	return resp, a, err
}

type perConnAgreed struct{ extension.Agreed }

func (a perConnAgreed) NewEncoder() extension.Encoder {
	return struct{ extension.Encoder }{a.Agreed.NewEncoder()}
}

// pipeListener is a net.Listener of net.Pipe connections, dialed with
// dial: an HTTP server on it needs no file descriptors.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	a, s := net.Pipe()
	select {
	case l.conns <- s:
		return a, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
