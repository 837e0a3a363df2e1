// Package poll serves many mostly idle WebSocket connections with no
// goroutine and no buffer per idle connection: the sockets wait in one
// epoll set (Linux), and a small pool of workers reads a connection only
// once data has arrived on it. It is the pattern gobwas/ws users build by
// hand, on top of package conn, which still does all of the protocol:
// fragments reassembled, text validated, pings answered, the closing
// handshake and the size limits.
//
//	p, err := poll.New(nil)
//	if err != nil {
//		return err // errors.ErrUnsupported off Linux
//	}
//	defer p.Close()
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		c, err := conn.Accept(w, r, nil)
//		if err != nil {
//			return
//		}
//		p.Serve(c, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
//			w, err := c.Writer(ctx, typ)
//			if err != nil {
//				return err
//			}
//			if _, err := io.Copy(w, r); err != nil {
//				return err
//			}
//			return w.Close()
//		})
//		// ServeHTTP returns: net/http frees its state for the request.
//	})
//
// An idle connection then costs its conn.Conn, its raw session, one
// entry here and the socket itself: about 700 bytes of heap and no
// goroutine, against about 5.3 KB (the heap plus the stack of its
// goroutine) with conn.Handler. BenchmarkIdlePoll measures both.
//
// # The socket leaves the runtime's poller
//
// The runtime keeps about 600 bytes for every socket its network poller
// knows (the *net.TCPConn, its netFD and addresses, and the poll
// descriptor), more than the rest of an idle connection here; and the
// poller's own epoll set already tells a worker when a socket has data.
// So Serve takes a *net.TCPConn or stream *net.UnixConn out: it
// duplicates the descriptor, closes the original, and from then on the
// connection runs on a net.Conn of the poller's over the descriptor
// (c.NetConn returns it). Its reads and writes are nonblocking system
// calls; one that finds the socket not ready (the rest of a message still
// on its way, a peer that does not read) waits in the runtime's poller
// through a duplicate made for the wait, so deadlines, context
// cancellation and Close end such waits as they end a *net.TCPConn's.
// Its LocalAddr and RemoteAddr ask the kernel each time. A write larger
// than the write buffer goes out in two system calls rather than one
// writev. Any other net.Conn, even one that gives access to its
// descriptor (an application's wrapper around a *net.TCPConn), is served
// as it is, and so is a connection that a write holds when Serve is
// called.
//
// # How a connection is served
//
// Serve registers the socket with EPOLLIN|EPOLLRDHUP|EPOLLET. When it
// becomes readable, a worker calls c.Reader and the Handler for each
// message the data holds (several, when the peer sent them together),
// then hands the connection back. Input epoll reports while a worker
// holds the connection waits for that worker, which reads again before
// it lets go; the socket is registered once, and handing it back costs
// no system call when the worker's last read found the socket empty
// (returned less than it asked for), as it does for a message that
// arrived whole. Otherwise, and after the peer's end of stream, the
// worker has epoll look at the socket again (EPOLL_CTL_MOD).
//
// Control frames are handled inside Reader as with any conn.Conn: pings
// are answered, pongs noted (keepalive with conn.Options.PingInterval
// works), a close is answered. Once a message's
// header is in, the message must arrive whole within
// Options.MessageTimeout; the handler gets a context with that deadline.
// Between messages a worker waits at most Options.FrameWait for the next
// frame header before it hands the connection back to epoll, and the
// pongs conn writes for the pings it reads meanwhile must go out within
// MessageTimeout. Both bounds are deadlines on the socket, not timer
// contexts; while a worker holds a connection, they bound the writes of
// other goroutines to it too. Even so, a message costs about 1.1× the
// server CPU it costs with a goroutine per connection in bench/'s echo
// at 256 connections (the hand-off to a worker, the deadline updates,
// the handler's context), for half the read system calls: the poller is
// for many mostly idle connections, where memory rather than CPU per
// message is the limit.
//
// The connection is removed and closed (CloseNow) when the handler
// returns an error, when the peer closes or drops it, on a protocol error
// (conn has already sent the close frame with its code), when a message
// does not complete within MessageTimeout, and when a pong cannot be
// written within MessageTimeout (the peer does not read). A handler that
// wants a closing handshake calls c.Close before returning an error.
//
// A handler that panics is recovered as net/http recovers its handlers:
// the panic and its stack go to Options.ErrorLog, the connection is
// closed with StatusInternalError (1011) by a goroutine of its own (the
// closing handshake takes up to conn.Options.CloseTimeout), and the
// worker and the other connections go on.
//
// On a protocol error conn sends the close frame and half-closes the
// socket, and the connection is closed only when the peer ends its side
// or conn.Options.CloseTimeout runs out, so that the peer gets the close
// frame rather than a reset. That wait (and a client's, after the closing
// handshake) happens in epoll, like any idle connection's: what the peer
// still sends is discarded as it arrives, and a peer that sends garbage
// and hangs on holds no worker.
//
// # Peers that stall
//
// No peer holds a worker much longer than MessageTimeout at a time (a
// handler that blocks on something else aside): a message must arrive,
// be handled and be answered within it, and a pong must go out within
// it. That is still a bound per worker, not per server: a peer
// that sends a frame header and then nothing holds a worker for
// MessageTimeout and is closed, and Workers such peers at once (each
// reconnecting and doing it again) leave everyone else waiting for
// MessageTimeout at a time. A worker is only a goroutine, so a server
// that faces the internet should
//
//   - run more Workers than it expects slow peers at once: hundreds cost
//     a few kilobytes of stack each;
//   - set MessageTimeout to what its largest legitimate message needs,
//     not more (a chat server's messages arrive in milliseconds);
//   - limit connections per client address in front of Serve (in the
//     http.Handler that accepts, or in the proxy), so that one client
//     cannot take every worker.
//
// # Rules for served connections
//
// After Serve the poller is the connection's only reader: nobody else may
// call Read, Reader or AppendRead. Any goroutine may write (Write, Writer,
// Ping) at any time, as conn allows. c.Close from another goroutine
// works: the peer's reply wakes the poller, which removes the connection.
// A connection closed with CloseNow from elsewhere leaves epoll at once
// (the kernel drops closed sockets) and its entry here at the next sweep.
//
// Close must not be called from a Handler: it waits for the workers.
//
// Only plain sockets can be served: TLS connections (whose buffered
// records epoll cannot see) are refused; terminate TLS in front of the
// server instead.
package poll

import (
	"context"
	"errors"
	"io"
	"log"
	"runtime"
	"time"

	"github.com/hybi-go/hybi/conn"
)

// Handler handles one data message read from c: typ and r, valid until
// Handler returns (what it leaves unread is discarded). ctx is done when
// the poller closes; its Deadline is Options.MessageTimeout after the
// message began, and the poller enforces it on the connection itself (a
// read or write of c past it fails, as net/http enforces WriteTimeout),
// so ctx.Done does not fire at the deadline: a handler that waits on
// something else until then wraps ctx with context.WithDeadline. Each
// message gets a ctx of its own (48 bytes, the one allocation the poller
// makes per message), so that one a handler keeps after it returns still
// tells of its own message. An error return closes the connection at
// once; a panic is logged and closes it with StatusInternalError (see the
// package documentation).
type Handler func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error

// Defaults for Options.
const (
	DefaultMessageTimeout = 10 * time.Second
	DefaultFrameWait      = 2 * time.Millisecond
	DefaultSweepInterval  = 10 * time.Second
)

// Options configures a Poller. A nil *Options gives the defaults.
type Options struct {
	// Workers is how many connections are read and handled at once;
	// 0 means 4 × GOMAXPROCS (at least 4). A handler that blocks holds
	// its worker.
	Workers int
	// MessageTimeout bounds the reading and handling of one message once
	// its first frame header arrived: a peer that stalls in the middle of
	// a message holds a worker at most this long, and is then closed. It
	// also bounds the pongs written for the pings read between messages:
	// a peer that does not read them is closed after this long.
	// 0 means DefaultMessageTimeout.
	MessageTimeout time.Duration
	// FrameWait is how long a worker waits for the next frame header
	// when the socket woke it only for control frames or for part of a
	// header, before handing the connection back to epoll. 0 means
	// DefaultFrameWait. (A control frame whose payload is cut off by
	// this wait is finished at the next wake-up.)
	FrameWait time.Duration
	// SweepInterval is how often connections closed from outside the
	// poller (CloseNow by another goroutine) are forgotten. 0 means
	// DefaultSweepInterval; negative never.
	SweepInterval time.Duration
	// ErrorLog logs the panics of Handlers, with their stacks; nil means
	// the log package's standard logger.
	ErrorLog *log.Logger
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.Workers <= 0 {
		v.Workers = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if v.MessageTimeout <= 0 {
		v.MessageTimeout = DefaultMessageTimeout
	}
	if v.FrameWait <= 0 {
		v.FrameWait = DefaultFrameWait
	}
	if v.SweepInterval == 0 {
		v.SweepInterval = DefaultSweepInterval
	}
	return v
}

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("poll: poller closed")

// ErrNotSocket is returned by Serve for a connection whose net.Conn gives
// no access to its file descriptor (TLS, net.Pipe).
var ErrNotSocket = errors.New("poll: connection is not a plain socket")
