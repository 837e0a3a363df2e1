package servers

import (
	"context"
	"io"
	"net"
	"sync"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// hybi-writers is not hybi's idiom but a measurement: the fan-out of
// hub.Broadcast (a SendQueue per member, whose writer goroutine is
// started when a message arrives and exits when the queue is empty)
// against conn.WritePrepared called from a fixed pool of long-lived
// goroutines, as the gobwas adapter writes. The difference is what
// starting a writer per member costs: goroutine creation, the growth of
// its stack through the write path, a write timer.
func init() {
	registerBroadcast(&BroadcastLib{
		Name:    "hybi-writers",
		Deflate: true,
		Notes:   "not an idiom, a measurement: conn.Handler, the message prepared once (conn.NewPreparedMessage) and written with WritePrepared by a pool of 128 long-lived goroutines, no queue, no timeout",
		Serve:   serveHybiWritersBroadcast,
	})
	// Listed for the matrix's -libs; it has no echo server of its own.
	register(&Lib{
		Name:      "hybi-writers",
		Variant:   true,
		Scenarios: []string{"broadcast"},
		Notes:     "hybi's broadcast written by a fixed pool of 128 goroutines instead of the hub (a measurement, not an idiom)",
		Serve:     func(ln net.Listener, o Options) error { return serveHybiWith(ln, o, nil, true, hybiPooledEcho) },
	})
}

func serveHybiWritersBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	var mu sync.Mutex
	members := map[*conn.Conn]struct{}{}
	type task struct {
		c  *conn.Conn
		pm *conn.PreparedMessage
	}
	tasks := make(chan task, 128)
	for range 128 {
		go func() {
			for t := range tasks {
				t.c.WritePrepared(context.Background(), t.pm)
			}
		}()
	}
	opts := &conn.AcceptOptions{}
	if o.Deflate {
		opts.Extensions = []extension.Extension{deflate.New(noTakeover)}
	}
	handler := conn.Handler(opts, func(ctx context.Context, c *conn.Conn) {
		mu.Lock()
		members[c] = struct{}{}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(members, c)
			mu.Unlock()
		}()
		for {
			_, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			io.Copy(io.Discard, r)
		}
	})
	broadcast := func(p []byte) {
		pm := conn.NewPreparedMessage(conn.MessageText, p)
		mu.Lock()
		list := make([]*conn.Conn, 0, len(members))
		for c := range members {
			list = append(list, c)
		}
		mu.Unlock()
		for _, c := range list {
			tasks <- task{c, pm}
		}
	}
	return broadcast, func() error { return serveHTTP(ln, handler, o) }
}
