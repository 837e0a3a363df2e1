package servers

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/raw"
)

func init() {
	register(&Lib{
		Name:        "hybi",
		Deflate:     true,
		TLS:         true,
		DeflateMode: "deflate.New(nil) (context takeover both ways, level 1)",
		Notes:       "conn.Handler (each connection in its own goroutine, as conn's docs advise) + Reader, each message read into a pooled buffer and written back with WriteReply (echoes of messages that arrived together leave in one write)",
		Serve: func(ln net.Listener, o Options) error {
			return serveHybiWith(ln, o, nil, true, hybiPooledEcho)
		},
	})
	// The opt-in modes that issue #7 measures beside the default: conn/poll
	// for idle connections, and deflate configured as the peers are.
	register(&Lib{
		Name:        "hybi-poll",
		Scenarios:   []string{"echo", "idle", "deflate"},
		Deflate:     true,
		DeflateMode: "deflate.New(&Options{Server,ClientNoContextTakeover: true})",
		Notes:       "hybi, conn/poll (opt-in, Linux): idle connections wait in epoll with no goroutine and no buffer, their sockets out of Go's netpoller; a pooled buffer per message",
		Serve:       serveHybiPoll,
	})
	register(&Lib{
		Name:        "hybi-nctx",
		Scenarios:   []string{"deflate"},
		Deflate:     true,
		DeflateMode: "deflate.New(&Options{Server,ClientNoContextTakeover: true})",
		Notes:       "hybi, deflate without context takeover (as gorilla, coder and gws are configured here)",
		Serve: func(ln net.Listener, o Options) error {
			return serveHybiWith(ln, o, noTakeover, true, hybiPooledEcho)
		},
	})
	// Variants, not in the default set: they show what a usage change
	// would cost.
	register(&Lib{
		Name:        "hybi-appendread",
		Variant:     true,
		Deflate:     true,
		DeflateMode: "deflate.New(nil)",
		Notes:       "hybi, conn.Handler + AppendRead into a buffer each connection keeps (up to 64 KiB)",
		Serve:       func(ln net.Listener, o Options) error { return serveHybiWith(ln, o, nil, true, hybiEcho) },
	})
	register(&Lib{
		Name:      "hybi-nospin",
		Scenarios: []string{"single"},
		Notes:     "hybi with Options.ReadSpin = -1: a reader never polls its socket before it sleeps in the runtime's poller (the default does while its connection is the only one receiving)",
		Serve: func(ln net.Listener, o Options) error {
			return serveHybiWith(ln, o, nil, true, hybiPooledEcho, func(a *conn.AcceptOptions) { a.ReadSpin = -1 })
		},
	})
	register(&Lib{
		Name:      "hybi-spin",
		Variant:   true,
		Scenarios: []string{"single"},
		Notes:     "hybi with Options.ReadSpin = raw.TypicalReadSpin (50 µs): a reader polls its socket before every sleep in the runtime's poller, whatever other connections do",
		Serve: func(ln net.Listener, o Options) error {
			return serveHybiWith(ln, o, nil, true, hybiPooledEcho, func(a *conn.AcceptOptions) { a.ReadSpin = raw.TypicalReadSpin })
		},
	})
	register(&Lib{
		Name:        "hybi-inhandler",
		Variant:     true,
		Deflate:     true,
		DeflateMode: "deflate.New(nil)",
		Notes:       "hybi-appendread with the echo loop inside the net/http handler (keeps net/http's per-request state alive)",
		Serve:       func(ln net.Listener, o Options) error { return serveHybiWith(ln, o, nil, false, hybiEcho) },
	})
}

var noTakeover = &deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}

func serveHybiPoll(ln net.Listener, o Options) error {
	p, err := poll.New(nil)
	if err != nil {
		return err
	}
	defer p.Close()
	opts := &conn.AcceptOptions{}
	opts.ReadLimit = readLimit
	if o.Deflate {
		// Without context takeover, as the peers are configured: an idle
		// connection then holds no compressor state either.
		opts.Extensions = []extension.Extension{deflate.New(noTakeover)}
	}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, opts)
		if err != nil {
			return
		}
		p.Serve(c, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
			// A pooled buffer per message: io.Copy would allocate 32 KiB.
			b := bufPool.Get().(*bytes.Buffer)
			defer bufPool.Put(b)
			b.Reset()
			if _, err := b.ReadFrom(r); err != nil {
				return err
			}
			return c.Write(ctx, typ, b.Bytes())
		})
	}), o)
}

func serveHybiWith(ln net.Listener, o Options, do *deflate.Options, detached bool, echo func(*conn.Conn), tune ...func(*conn.AcceptOptions)) error {
	opts := &conn.AcceptOptions{}
	opts.ReadLimit = readLimit
	for _, f := range tune {
		f(opts)
	}
	if o.Deflate {
		opts.Extensions = []extension.Extension{deflate.New(do)}
	}
	if detached {
		// conn.Handler serves each connection in its own goroutine and
		// returns from ServeHTTP, so net/http frees the request's state;
		// an HTTP/2 stream it serves in the handler's goroutine, which
		// the stream needs.
		return serveHTTP(ln, conn.Handler(opts, func(_ context.Context, c *conn.Conn) { echo(c) }), o)
	}
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, opts)
		if err != nil {
			return
		}
		echo(c)
	}), o)
}

func hybiEcho(c *conn.Conn) {
	defer c.CloseNow()
	ctx := context.Background()
	var p []byte
	for {
		var typ conn.MessageType
		var err error
		typ, p, err = c.AppendRead(ctx, p[:0])
		if err != nil {
			return
		}
		if err := c.WriteReply(ctx, typ, p); err != nil {
			return
		}
		if cap(p) > 64<<10 {
			p = nil // do not keep a large buffer on an idle connection
		}
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func hybiPooledEcho(c *conn.Conn) {
	defer c.CloseNow()
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return
		}
		b := bufPool.Get().(*bytes.Buffer)
		b.Reset()
		_, err = b.ReadFrom(r)
		if err == nil {
			// WriteReply: the echoes of messages that arrived together
			// leave together, in one write.
			err = c.WriteReply(ctx, typ, b.Bytes())
		}
		bufPool.Put(b)
		if err != nil {
			return
		}
	}
}
