// Package conn is hybi's Default WebSocket session (RFC 6455): whole
// messages or streamed ones, fragments reassembled, text validated as it
// arrives, pings answered, keepalive pings, size limits and the full
// closing handshake, with a context on every blocking call. It is built on
// the Raw session in package raw, which leaves all of that to its caller.
//
// A server accepts from a net/http handler:
//
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		c, err := conn.Accept(w, r, nil)
//		if err != nil {
//			return // Accept wrote the HTTP error
//		}
//		defer c.CloseNow()
//		for {
//			typ, p, err := c.Read(r.Context())
//			if err != nil {
//				return
//			}
//			if err := c.Write(r.Context(), typ, p); err != nil {
//				return
//			}
//		}
//	})
//
// and a client dials:
//
//	c, _, err := conn.Dial(ctx, "ws://127.0.0.1:8080/ws", nil)
//
// # HTTP/2
//
// Accept also takes a WebSocket opened on an HTTP/2 stream (RFC 8441),
// with the same options, when the server advertises extended CONNECT: on
// Go 1.24 to 1.27 only if the process starts with GODEBUG=http2xconnect=1
// in its environment (Go 1.28: http.HTTP2Config.EnableConnectProtocol),
// and only on a server that serves HTTP/2 (TLS, or http.Server.Protocols
// for cleartext). Otherwise clients use HTTP/1.1 as before. The stream
// ends when the handler returns, so the handler must read until the
// connection ends, as above, or be a Handler, which serves HTTP/2
// WebSockets in the handler's goroutine. A Conn whose handler returned
// fails with StatusAbnormalClosure (1006). The handler's return is seen as
// the end of r.Context(), which also ends when a context the server's
// BaseContext or ConnContext returned is cancelled: that, too, fails the
// Conn at once, with no closing handshake, so a server that wants to close
// with StatusGoingAway at shutdown tells its handlers some other way.
//
// Dial uses HTTP/2 when DialOptions.Dialer.HTTP2 asks for it
// (handshake.HTTP2Always or HTTP2IfOffered); a handshake.HTTP2Pool lets
// WebSockets share a connection. On HTTP/2 a cancelled read leaves the
// connection usable as on HTTP/1.1, but a write cut short by its context
// resets the stream, and the connection fails (1006). Where TCP would be
// closed, the stream ends (END_STREAM); a server that fails the
// connection ends the stream right after its close frame, since
// net/http's handler cannot end its half alone (over TCP it shuts down
// its sending side and waits for the client to close).
//
// # Concurrency
//
// One goroutine reads at a time: Read, Reader and the io.Reader it returns.
// Any number of goroutines may write at once: Write, Writer, Ping and
// Close are safe together and with the reader; each message is written
// whole, and control frames may go out between the frames of a streamed
// message. Pongs and close frames from the peer are seen by the reader, so
// Ping and keepalive need a goroutine that reads.
//
// # Pipelined peers
//
// A peer may send many messages without waiting for answers (an RPC or
// trading client pipelining requests): one read then returns several
// frames, and Buffered reports that more wait. The reading goroutine that
// answers with WriteReply rather than Write holds its answers while more
// input is buffered and sends them together, in one system call, when it
// would otherwise wait for the network; no timer delays an answer, and a
// lone message is answered at once.
//
// Cancelling the context of a call returns ctx.Err() and leaves the
// connection open: the next read, with a new context, goes on where the
// interrupted one stopped (a control frame cut short is finished, what is
// left of a data message cut short is discarded), and a write that had not
// started is simply not sent; a call whose context is already done sends
// nothing. What breaks the connection: a write cut off in the middle of a
// frame, a streamed message (Writer) cut after its first frame went out,
// any write cut over TLS (crypto/tls cannot resume one) or on an HTTP/2
// stream (net/http resets it), and a read cut off
// in the middle of a compressed message whose sender keeps its compression
// context (permessage-deflate's context takeover, the default): the
// decompressor cannot resume where it stopped, so the read returns a
// *CloseError of StatusAbnormalClosure (1006) that wraps ctx.Err(). Without
// context takeover on the messages this end receives (deflate.Options's
// ClientNoContextTakeover on a server, ServerNoContextTakeover on a
// client), such a read is as safe to cut as any other, at some cost in
// compression ratio.
//
// A server that sends to many connections (a feed, a chat room) should not
// wait for any one of them: a SendQueue per connection takes a message
// without waiting, bounds what waits by bytes and count, and when that is
// exhausted closes the connection (1008 or 1013), drops and counts the
// message, or blocks the caller for as long as its context allows.
// Package conn/hub builds a broadcast on it, with each message framed and
// compressed once (PreparedMessage).
//
// # Closing
//
// Close(code, reason) sends a close frame, waits up to
// Options.CloseTimeout for the peer's and closes TCP. When the peer closes
// first, the reader answers with the same code and returns a *CloseError
// with the peer's code and reason; StatusNoStatusRcvd (1005) when its
// close frame had no code, StatusAbnormalClosure (1006) when the
// connection ended without one. CloseStatus extracts the code from any
// error. Once the close frame has gone out, every data write returns
// ErrClosed and sends nothing, a streamed message's remaining frames
// included (RFC 6455, Section 5.5.1). Close always ends the connection:
// given a code that may not be sent, it closes with 1011 and returns an
// error naming the code.
//
// # Extensions and compression
//
// AcceptOptions.Extensions and DialOptions.Extensions negotiate extensions
// (package extension) in the opening handshake; permessage-deflate (RFC
// 7692) is one line on each end:
//
//	&conn.AcceptOptions{Extensions: []extension.Extension{deflate.New(nil)}}
//	&conn.DialOptions{Extensions: []extension.Extension{deflate.New(nil)}}
//
// Extensions returns what was agreed as the server's header said it, and
// AgreedExtensions as a list: each extension's name, parameters and Agreed
// value. AcceptOptions.OnNegotiation reports what the server declined and
// why; an extension whose answer depends on the request (a per-user
// parameter) implements extension.RequestAccepter. Write and Writer compress (Write
// only messages of at least deflate.Options.Threshold bytes);
// SetCompression(false) sends the next messages plain. Read and Reader
// inflate as the caller reads, and ReadLimit applies to the inflated size,
// so a decompression bomb fails with 1009 without being inflated whole.
// A decoder cannot resume after an interruption: cancelling the context of
// a read in the middle of a compressed message closes the connection
// (1006), and so does any error while a compressed message is written.
// With no extension agreed, reading and writing cost nothing more.
//
// A handshake done outside Accept and Dial (handshake.Upgrader or Dialer
// used directly, or another HTTP stack) starts the session with
// NewFromResult, given what extension.Negotiate or Confirm agreed; New on
// a Raw session started by raw.Accept, raw.Dial or raw.NewFromResult
// applies the extensions it agreed.
//
// # Memory
//
// An idle connection holds no read or write buffer: it waits for data on
// a 128-byte inline buffer (or, on a socket, with no buffer at all) and
// takes pooled buffers only while a message is in flight. What it holds
// is its Conn, its Raw session and the socket: about 1.1 KB of heap
// (BenchmarkIdleConn), plus the stack of whatever goroutine reads it.
//
// A handler that reads in a loop keeps net/http's own state for the
// request alive (its buffered reader and writers and the parsed request,
// about 10 KB). A server with many idle connections sheds that by
// returning from the handler after Accept and reading in a goroutine of
// its own:
//
//	c, err := conn.Accept(w, r, nil)
//	if err != nil {
//		return
//	}
//	go serve(c) // the handler returns; net/http frees its state
//
// Read allocates each message; AppendRead into a reused slice allocates
// nothing in steady state. Neither takes room for a message before its
// bytes arrive (beyond a first 64 KiB): a peer that announces a large
// message and stalls holds no more than that. A message that ReadLimit
// refuses costs at most ReadLimit; one that fits costs up to twice its
// size while it is assembled, 1.5 times when it came in one frame. Reader
// holds no message at all: only the pooled read buffer and, with
// permessage-deflate, the decoder's window. TestMemoryCeiling measures
// these bounds, each hostile input in a fresh process.
//
// # Pings and observability
//
// Options.PingInterval sends keepalive pings (with Options.PingPayload);
// Ping and PingWith send one and wait for its pong; RTT returns the last
// round trip either measured, and Options.OnPong sees every pong's
// payload, on the reading goroutine.
//
// Options.Observer receives each connection's events: opened, each data
// message read or written with its size as the application sees it and
// as it crossed the wire (compressed), each ping's round trip, the send
// queue's depth, and the close with the codes sent and received. Its
// methods map one to one onto OpenTelemetry or Prometheus instruments,
// so that an adapter is a few lines; Counters keeps totals (see
// ExampleCounters for expvar), and Stats returns one connection's
// counts. Unset, it costs a nil check per message and no allocation
// (BenchmarkEchoObserver).
//
// # Limits and errors
//
// What each kind of bad input gets: this end sends a close frame with the
// code, closes the connection, and the reader returns an error that
// CloseStatus maps to the same code (a *ProtocolError, see package frame
// for the full list of sentinels).
//
//	input                                             close code  error
//	RSV bit set that no extension owns                1002        frame.ErrReservedBits
//	RSV bit on a continuation or control frame        1002        frame.ErrReservedBits
//	compressed data that does not inflate             1007        *ProtocolError (Code 1007)
//	reserved opcode                                   1002        frame.ErrReservedOpcode
//	unmasked client frame / masked server frame       1002        frame.ErrUnmasked / ErrMasked
//	fragmented control frame, control over 125 bytes  1002        frame.ErrFragmentedControl / ErrControlTooLong
//	continuation out of place, new message inside one 1002        frame.ErrUnexpectedContinuation / ErrExpectedContinuation
//	64-bit length with the top bit set                1002        frame.ErrLengthOverflow
//	close payload of 1 byte or invalid close code     1002        frame.ErrCloseTooShort / ErrInvalidCloseCode
//	close reason that is not UTF-8                    1007        frame.ErrInvalidCloseReason
//	text message that is not UTF-8 (fails fast)       1007        frame.ErrInvalidUTF8
//	frame over MaxFrameSize                           1009        frame.ErrFrameTooBig
//	message over ReadLimit (counted after inflating)  1009        frame.ErrMessageTooBig
//	connection dropped without a close frame          (none)      *CloseError{Code: 1006} wrapping the I/O error
//	no pong within PongTimeout                        (none)      *CloseError{Code: 1006} wrapping ErrPongTimeout
//	keepalive ping not sent within PongTimeout        (none)      *CloseError{Code: 1006} wrapping ErrPongTimeout
//
// Limits and their defaults: ReadLimit 1 MiB (message size after
// decoding; DefaultReadLimit says why), MaxFrameSize the same, CloseTimeout
// 5 s, each set per connection in Options; the opening handshake is
// bounded by the Dialer's HandshakeTimeout (10 s) and, on a server, by
// http.Server's ReadHeaderTimeout and MaxHeaderBytes, which every server
// should set.
package conn
