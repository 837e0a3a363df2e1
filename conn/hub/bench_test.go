package hub_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/raw"
)

// BenchmarkBroadcast measures one fan-out: a 1 KiB message broadcast to n
// members, from the Broadcast call until every peer has read it. Peers are
// Raw clients that read and discard. Over net.Pipe, 10,000 members need no
// file descriptors; over TCP, each member takes two.
func BenchmarkBroadcast(b *testing.B) {
	for _, bc := range []struct {
		name    string
		n       int
		tcp     bool
		timeout time.Duration
	}{
		{"pipe/1000", 1000, false, 0},
		{"pipe/10000", 10000, false, 0},
		{"tcp/1000", 1000, true, 0},
		{"tcp/5000", 5000, true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := hub.New(&hub.Options{WriteTimeout: bc.timeout})
			var got sync.WaitGroup
			stop := fanOutPeers(b, h, bc.n, bc.tcp, &got)
			defer stop()
			msg := make([]byte, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				got.Add(bc.n)
				h.Broadcast(conn.MessageBinary, msg)
				got.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(bc.n), "ns/member")
		})
	}
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
	members := make([]*hub.Member, 0, n)
	peers := make([]*raw.Conn, 0, n)
	var readers sync.WaitGroup
	for range n {
		var a, s net.Conn
		if tcp {
			var err error
			if a, err = net.Dial("tcp", ln.Addr().String()); err != nil {
				b.Fatalf("after %d connections: %v", len(peers), err)
			}
			if s, err = ln.Accept(); err != nil {
				b.Fatal(err)
			}
		} else {
			a, s = net.Pipe()
		}
		peer := raw.New(a, nil, raw.Client, nil)
		members = append(members, h.Add(conn.New(raw.New(s, nil, raw.Server, nil), "", nil)))
		peers = append(peers, peer)
		readers.Add(1)
		go func() {
			defer readers.Done()
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
				got.Done()
			}
		}()
	}
	return func() {
		for i, m := range members {
			h.Remove(m)
			m.Conn().CloseNow()
			peers[i].Close()
		}
		readers.Wait()
	}
}
