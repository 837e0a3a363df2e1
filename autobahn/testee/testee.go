// Package testee holds the peers that hybi puts in front of the Autobahn
// testsuite (or of hybi's own runner, package suite): an echo server and a
// client that speaks the suite's client protocol, each on hybi's Default
// session (package conn) or, with Options.Raw, on the Raw session (package
// raw) with the protocol duties done here by hand.
package testee

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// ReadLimit is the largest message the testees accept: above the 16 MiB
// of the suite's largest case (9.1.6).
const ReadLimit = 64 << 20

// CaseTimeout bounds one case on the client testee.
const CaseTimeout = 5 * time.Minute

// Options configure a testee.
type Options struct {
	// Raw runs the testee on the Raw session instead of the Default one.
	Raw bool
	// Poller, when set, serves the Default session's connections from a
	// conn/poll Poller (no goroutine per connection) instead of a
	// goroutine each. The caller closes it.
	Poller *poll.Poller
	// HTTP2 makes the client testee open every WebSocket over HTTP/2
	// (RFC 8441; handshake.HTTP2Always), all on one HTTP/2 connection
	// while the server allows the streams; the base URL is then wss://.
	// The server testee needs no option: it takes an extended CONNECT
	// from any HTTP/2 server it is served by.
	HTTP2 bool
	// TLSConfig configures the client testee's TLS (wss://); nil means the
	// defaults.
	TLSConfig *tls.Config

	// Faults, for testing the runner only: a testee with one of them set
	// is broken on purpose. They apply to the Raw testee.

	// SkipUTF8 accepts text that is not UTF-8.
	SkipUTF8 bool
	// IgnoreClose never answers a close frame.
	IgnoreClose bool
}

func (o Options) broken() bool { return o.SkipUTF8 || o.IgnoreClose }

// acceptOptions are the Default session's server options: any Origin (the
// suite sends one), a read limit fit for the largest cases.
func acceptOptions() *conn.AcceptOptions {
	o := &conn.AcceptOptions{
		Upgrader: handshake.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		Options:  conn.Options{ReadLimit: ReadLimit},
	}
	// PERMESSAGE-DEFLATE: the server accepts the extension with its
	// defaults (the 12.* and 13.* cases).
	o.Extensions = []extension.Extension{deflate.New(nil)}
	return o
}

// dialOptions are the Default session's client options; pool carries
// the HTTP/2 connections of t.HTTP2.
func dialOptions(t Options, pool *handshake.HTTP2Pool) *conn.DialOptions {
	o := &conn.DialOptions{Options: conn.Options{ReadLimit: ReadLimit}}
	o.Dialer.TLSConfig = t.TLSConfig
	if t.HTTP2 {
		o.Dialer.HTTP2 = handshake.HTTP2Always
		o.Dialer.HTTP2Pool = pool
	}
	// PERMESSAGE-DEFLATE: the client offers the extension (the 12.* and
	// 13.* cases). The offer must carry client_no_context_takeover: the
	// suite's server answers of 13.2, 13.5 and 13.6 ask for it, and decline
	// an offer without it. The client then compresses every message on its
	// own, which costs some ratio and nothing else.
	o.Extensions = []extension.Extension{deflate.New(&deflate.Options{ClientNoContextTakeover: true})}
	return o
}

// Handler returns the echo server: every data message is sent back with
// its type, on any path.
func Handler(o Options) http.Handler {
	if o.broken() && !o.Raw {
		panic("testee: faults apply to the Raw testee only")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.Background()
		if o.Raw {
			ao := acceptOptions()
			u := ao.Upgrader
			var agreed []extension.Agreed
			u.NegotiateExtensions = func(offers []string) (string, error) {
				resp, a, err := extension.Negotiate(ao.Extensions, offers)
				agreed = a
				return resp, err
			}
			res, err := u.Upgrade(w, r)
			if err != nil {
				return
			}
			rc := raw.New(res.Conn, res.Buffered, raw.Server, rawOptions(agreed))
			echoRaw(ctx, rc, agreed, o)
			return
		}
		c, err := conn.Accept(w, r, acceptOptions())
		if err != nil {
			return
		}
		if o.Poller != nil {
			o.Poller.Serve(c, echoPolled)
			return
		}
		defer c.CloseNow()
		echoConn(ctx, c)
	})
}

// echoPolled is echoConn for a connection served by a Poller: one
// message per call, read whole before it is written back, as echoConn
// does.
func echoPolled(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
	p, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return c.Write(ctx, typ, p)
}

// echoConn echoes whole messages until the connection ends. The Default
// session answers pings and closes, validates text and enforces the limit.
// WriteReply sends the echoes of messages that arrived together in one
// write, so the whole catalogue runs through held frames too.
func echoConn(ctx context.Context, c *conn.Conn) error {
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.WriteReply(ctx, typ, p); err != nil {
			return err
		}
	}
}

// RunClient is the client testee: it asks the fuzzing server at base
// (ws://host:port, or wss:// with HTTP2) how many cases there are, runs
// each one as agent (one WebSocket per case, echoing every message), then
// asks it to write its reports.
func RunClient(ctx context.Context, base, agent string, o Options) error {
	if o.broken() && !o.Raw {
		return errors.New("testee: faults apply to the Raw testee only")
	}
	base = strings.TrimRight(base, "/")
	var pool *handshake.HTTP2Pool
	if o.HTTP2 {
		pool = new(handshake.HTTP2Pool)
		defer pool.CloseIdleConnections()
	}
	dopts := func() *conn.DialOptions { return dialOptions(o, pool) }
	n, err := caseCount(ctx, base, dopts)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	q := url.QueryEscape(agent)
	for i := 1; i <= n; i++ {
		cctx, cancel := context.WithTimeout(ctx, CaseTimeout)
		err := runCase(cctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, q), o, dopts())
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return command(ctx, base+"/updateReports?agent="+q, dopts(), nil)
}

func caseCount(ctx context.Context, base string, dopts func() *conn.DialOptions) (int, error) {
	n := -1
	err := command(ctx, base+"/getCaseCount", dopts(), func(p []byte) error {
		var err error
		n, err = strconv.Atoi(strings.TrimSpace(string(p)))
		return err
	})
	if err == nil && n < 0 {
		err = errors.New("the server closed the connection without sending the case count")
	}
	return n, err
}

// command runs a command connection: reads the messages (handing them to
// f) until the server ends it. The real suite ends a command connection
// with a close frame that carries no status code (1005 here); a server may
// also send 1000, or drop TCP with no close frame at all. Any of these is
// the end of the command; an error in a close frame, or a connection
// broken by anything but the peer's clean end of stream, is not.
func command(ctx context.Context, u string, do *conn.DialOptions, f func([]byte) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, _, err := conn.Dial(ctx, u, do)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			if commandEnded(err) {
				return nil
			}
			return err
		}
		if f != nil {
			if err := f(p); err != nil {
				return err
			}
		}
	}
}

// commandEnded reports whether a read error is the server's end of a
// command connection.
func commandEnded(err error) bool {
	switch conn.CloseStatus(err) {
	case conn.StatusNormalClosure, conn.StatusNoStatusRcvd:
		return true
	case conn.StatusAbnormalClosure:
		return errors.Is(err, io.EOF)
	}
	return false
}

func runCase(ctx context.Context, u string, o Options, do *conn.DialOptions) error {
	if o.Raw {
		d := do.Dialer
		var agreed []extension.Agreed
		d.Extensions = extension.Offers(do.Extensions)
		d.CheckExtensions = func(resp string) error {
			var err error
			agreed, err = extension.Confirm(do.Extensions, resp)
			return err
		}
		res, _, err := d.Dial(ctx, u)
		if err != nil {
			return err
		}
		rc := raw.New(res.Conn, res.Buffered, raw.Client, rawOptions(agreed))
		return echoRaw(ctx, rc, agreed, o)
	}
	c, _, err := conn.Dial(ctx, u, do)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	err = echoConn(ctx, c)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
