package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/bufpool"
	"github.com/hybi-go/hybi/internal/ctxflag"
	"github.com/hybi-go/hybi/internal/ctxlock"
	"github.com/hybi-go/hybi/raw"
)

// MessageType is the type of a data message (RFC 6455, Section 5.6).
type MessageType int

// Message types.
const (
	MessageText   MessageType = MessageType(frame.OpText)
	MessageBinary MessageType = MessageType(frame.OpBinary)
)

func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Defaults for Options.
const (
	// DefaultReadLimit, 1 MiB, is the largest message accepted when
	// Options.ReadLimit is 0. Each connection's limit is memory a hostile
	// peer can make this end hold, and a message read whole costs up to
	// twice its size while it is assembled (see Conn.Read): 1 MiB keeps
	// that near 2 MiB per connection, and is far above what chat, RPC
	// and JSON messages need. Python's websockets chose the same; coder's
	// websocket chose 32 KiB, Node's ws 100 MiB. Larger messages (files,
	// bulk data) take an explicit ReadLimit, or stream through Reader.
	DefaultReadLimit    = 1 << 20
	DefaultCloseTimeout = 5 * time.Second
)

// Options configures the Default session. The zero value gives the
// defaults; a nil *Options means the zero value.
type Options struct {
	// ReadLimit is the largest message accepted, counted both as received
	// and after any extension has decoded it: a compressed message must fit
	// before and after decompression (a compressor with a small window can
	// make data that does not compress a little larger). A larger one fails
	// the connection with StatusMessageTooBig (1009). 0 means
	// DefaultReadLimit; negative means no limit.
	ReadLimit int64
	// MaxFrameSize is the largest frame accepted; 0 means ReadLimit.
	MaxFrameSize int64
	// PingInterval, when positive, sends a ping after every interval; a
	// pong must come back within PongTimeout or the connection is closed
	// with ErrPongTimeout. Pongs are only seen while some goroutine reads.
	// A ping that cannot even be sent within PongTimeout (the peer stopped
	// reading, and a write to it holds the connection) fails it the same
	// way, which also ends that write: the keepalive is what bounds a
	// connection whose peer is gone or never reads.
	PingInterval time.Duration
	// PongTimeout defaults to PingInterval.
	PongTimeout time.Duration
	// CloseTimeout bounds the closing handshake: how long Close waits for
	// the peer's close frame, and a client for the server to drop TCP.
	// 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// ReadBufferSize and WriteBufferSize size the pooled buffers; see
	// raw.Options.
	ReadBufferSize, WriteBufferSize int

	// PingPayload is the payload of keepalive pings, at most 125 bytes
	// (a longer one is cut to 125); nil means DefaultPingPayload.
	PingPayload []byte
	// OnPong, when set, is called with the payload of every pong that
	// arrives, whether it answers a ping of this end or not, after the
	// round trip is noted (RTT) and before the Ping it answers returns.
	// It is called on the goroutine
	// reading the connection, inside its Read or Reader call, and must
	// not block: the reader does not read on until it returns. The
	// payload is valid during the call only.
	OnPong func(payload []byte)
	// Observer, when set, receives the connection's events (see
	// Observer) and makes Stats count. nil, the default, costs nothing.
	Observer Observer
	// ReadSpin is how Reader, Read and AppendRead poll a TCP or Unix
	// socket for the peer's next message before they wait in the
	// runtime's poller, so that a peer that answers at once (a
	// request-reply loop over one connection) finds the reader awake,
	// which halves a round trip on an idle machine. 0, the default,
	// polls for up to raw.TypicalReadSpin (50 µs), but only while this
	// connection is the only one of the process receiving: with others
	// busy, spins would take processor time from them and the process's
	// threads seldom sleep anyway. A positive ReadSpin polls for up to
	// that long before every wait, whatever else runs; a negative one
	// never polls. Spins that find nothing become rare (see
	// raw.Conn.SetReadSpin). conn/poll's connections never spin.
	ReadSpin time.Duration
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.ReadLimit == 0 {
		v.ReadLimit = DefaultReadLimit
	}
	if v.MaxFrameSize == 0 {
		v.MaxFrameSize = v.ReadLimit
	}
	if v.PongTimeout <= 0 {
		v.PongTimeout = v.PingInterval
	}
	if v.CloseTimeout <= 0 {
		v.CloseTimeout = DefaultCloseTimeout
	}
	if len(v.PingPayload) > frame.MaxControlPayload {
		v.PingPayload = v.PingPayload[:frame.MaxControlPayload]
	}
	return v
}

func (o *Options) rawOptions() *raw.Options {
	return &raw.Options{
		MaxFrameSize:    o.MaxFrameSize,
		ReadBufferSize:  o.ReadBufferSize,
		WriteBufferSize: o.WriteBufferSize,
	}
}

// Conn is the Default session: whole messages or streamed ones, with
// fragments reassembled, text validated, pings answered, keepalive and the
// closing handshake done for the caller.
//
// One goroutine may read at a time (Read, Reader and the reader it
// returns); any number may write (Write, Writer, Ping, Close). A message
// written with Writer is sent frame by frame, and control frames (a pong,
// a ping, a close) can go out between its frames.
type Conn struct {
	rc   *raw.Conn
	opts settings
	// rare holds the options few connections set (OnPong, PingPayload,
	// a CloseTimeout other than the default) and a subprotocol other
	// than rc's; nil when there are none. Kept out of Conn, whose size
	// every idle connection pays.
	rare *rareOptions

	// ext holds the extensions agreed in the opening handshake and their
	// per-message state; nil when none were, which keeps a plain
	// connection ~200 bytes smaller.
	ext *extState

	// Reading: readMu admits one reader, and lets Close wait for a busy
	// reader with a timeout.
	readMu ctxlock.Mutex
	msg    messageReader // the current message, reused
	// A control frame a cancelled read cut short is in x (extra.ctl).

	// Writing: msgMu serializes whole messages; raw serializes frames.
	// mw streams a message (Writer) or encodes one; nil until the first
	// such message (see writer): a connection that writes whole messages
	// with no extension never needs one.
	msgMu ctxlock.Mutex
	mw    *messageWriter

	// Close state, under mu (flagCloseSent is set under it too). end is nil until
	// the connection ends or is closed: an open one does not hold it.
	// It is set under mu and never unset, and loaded without mu to ask,
	// for every message, whether it is set yet.
	mu        sync.Mutex
	end       atomic.Pointer[ending]
	peerClose ctxlock.Event // the peer's close frame arrived (or the conn died)

	// The keepalive (extra.keepalive) and Ping's waiters are in x.

	// x is the state only some connections need (observe.go): nil
	// until an option or Ping asks for it.
	x atomic.Pointer[extra]

	// The small fields, together so that they share words.
	flags        atomic.Uint32 // connFlags
	mwGen        atomic.Uint32 // generation of the Writer message; see writerHandle
	client       bool
	closing      bool // under mu: Close was called
	keepaliveArm bool // next keepalive tick checks for the pong
}

// connFlags are a Conn's flags that goroutines other than the one that
// sets them read, in one atomic word: a Write asks whether the close
// frame went out with one load, and no lock.
type connFlags = uint32

const (
	// flagNoCompress: SetCompression(false).
	flagNoCompress connFlags = 1 << iota
	// flagPongPending: the keepalive's ping awaits its pong.
	flagPongPending
	// flagCloseSent: the close frame went out, or is going out; set
	// once, under mu, by writeClose.
	flagCloseSent
)

// flag reports whether f is set.
func (c *Conn) flag(f connFlags) bool { return c.flags.Load()&f != 0 }

// settings are the Options a Conn consults, copied into every Conn; the
// buffer sizes and frame limit live in the Raw session, the keepalive in
// extra, and the rarely set options in rareOptions (TestConnSize keeps
// Conn in its size class).
type settings struct {
	ReadLimit int64
}

// keepalive is the keepalive's timer and intervals, made only for a
// connection that sets PingInterval: the others do not carry the two
// durations.
type keepalive struct {
	*time.Timer
	interval, pongTimeout time.Duration
}

// rareOptions are the options only some connections set.
type rareOptions struct {
	subprotocol  string // when it differs from the Raw session's
	pingPayload  []byte
	onPong       func(payload []byte)
	closeTimeout time.Duration // 0 for DefaultCloseTimeout
}

// closeTimeout returns Options.CloseTimeout.
func (c *Conn) closeTimeout() time.Duration {
	if c.rare != nil && c.rare.closeTimeout > 0 {
		return c.rare.closeTimeout
	}
	return DefaultCloseTimeout
}

// extState is what a connection with extensions needs beyond a plain
// one: the encoders and decoders, in the order of the server's response,
// and the state of the message being read and the one being written.
type extState struct {
	encs   []extension.Encoder
	encRSV []frame.RSV // the bits each encoder's extension owns
	decs   []extension.Decoder

	rmsg     extension.Message // the message being read, as decoders see it
	dec      io.Reader         // the head of its decoder chain, nil when no decoder took it
	wire     wireReader
	rclosers []io.Closer
	wireErr  error // the last error wire returned; conn has handled it

	wmsg     extension.Message // the message being written
	wclosers []io.WriteCloser
}

// encoders returns the agreed encoders; nil-safe.
func (x *extState) encoders() []extension.Encoder {
	if x == nil {
		return nil
	}
	return x.encs
}

// decoders returns the agreed decoders; nil-safe.
func (x *extState) decoders() []extension.Decoder {
	if x == nil {
		return nil
	}
	return x.decs
}

// New starts the Default session on a Raw session whose opening handshake
// is done. subprotocol is the one agreed, if any; "" means the one rc
// records (rc.Subprotocol). The Conn owns rc. The extensions rc was
// started with (raw.NewFromResult, raw.Accept, raw.Dial) are applied to
// the messages.
func New(rc *raw.Conn, subprotocol string, o *Options) *Conn {
	if subprotocol == "" {
		subprotocol = rc.Subprotocol()
	}
	return newConn(rc, subprotocol, o)
}

// newConn is New. It applies the extensions rc records (whose reserved
// bits rc allows, see raw.NewFromResult).
func newConn(rc *raw.Conn, subprotocol string, o *Options) *Conn {
	opts := o.withDefaults()
	c := &Conn{
		rc:     rc,
		opts:   settings{ReadLimit: opts.ReadLimit},
		client: rc.Role() == raw.Client,
	}
	if subprotocol != rc.Subprotocol() || opts.PingPayload != nil || opts.OnPong != nil || opts.CloseTimeout != DefaultCloseTimeout {
		c.rare = &rareOptions{pingPayload: opts.PingPayload, onPong: opts.OnPong}
		if opts.CloseTimeout != DefaultCloseTimeout {
			c.rare.closeTimeout = opts.CloseTimeout
		}
		if subprotocol != rc.Subprotocol() {
			c.rare.subprotocol = subprotocol
		}
	}
	c.msg.c = c
	if opts.ReadSpin != 0 {
		rc.SetReadSpin(opts.ReadSpin)
	}
	if x := newExtra(&opts); x != nil {
		c.x.Store(x)
	}
	for _, x := range rc.AgreedExtensions() {
		a := x.Agreed
		if a == nil {
			continue
		}
		e, d := a.NewEncoder(), a.NewDecoder()
		if (e != nil || d != nil) && c.ext == nil {
			c.ext = new(extState)
		}
		if e != nil {
			c.ext.encs = append(c.ext.encs, e)
			c.ext.encRSV = append(c.ext.encRSV, a.RSV())
		}
		if d != nil {
			c.ext.decs = append(c.ext.decs, d)
		}
	}
	c.observeOpened()
	if opts.PingInterval > 0 {
		// newExtra made x for it. The timer is stored before it is
		// started: its first tick resets it, and may come before
		// AfterFunc has returned.
		k := &keepalive{interval: opts.PingInterval, pongTimeout: opts.PongTimeout}
		c.x.Load().keepalive = k
		k.Timer = time.AfterFunc(math.MaxInt64, c.keepaliveTick)
		k.Timer.Reset(opts.PingInterval)
	}
	return c
}

// Subprotocol returns the subprotocol agreed in the opening handshake, or "".
func (c *Conn) Subprotocol() string {
	if c.rare != nil && c.rare.subprotocol != "" {
		return c.rare.subprotocol
	}
	return c.rc.Subprotocol()
}

// Extensions returns the extensions agreed in the opening handshake, as
// the server listed them in its Sec-WebSocket-Extensions header (RFC 6455,
// Section 9.1), or "" when there are none.
func (c *Conn) Extensions() string { return c.rc.Extensions() }

// AgreedExtensions returns the extensions agreed in the opening handshake,
// in the order of the server's response (the order they apply to outgoing
// messages): each one's name and parameters as the server answered (for
// permessage-deflate, its window bits and context takeover), and its
// Agreed value. It is nil when none is in use.
// Each call returns a new slice.
func (c *Conn) AgreedExtensions() []extension.Negotiated { return c.rc.AgreedExtensions() }

// SetCompression turns compression on or off for the messages written
// from now on, when an extension that compresses (permessage-deflate) was
// agreed; it is on from the start. Turning it off for data that does not
// compress (images, already compressed files) saves the time of trying:
// such messages are sent with their RSV1 bit clear.
func (c *Conn) SetCompression(on bool) {
	if on {
		c.flags.And(^flagNoCompress)
	} else {
		c.flags.Or(flagNoCompress)
	}
}

// NetConn returns the underlying connection. Reading or writing it
// directly corrupts the session.
func (c *Conn) NetConn() net.Conn { return c.rc.NetConn() }

// lock takes mu, giving up when ctx is done (ctx.Err()) or the peer's
// close has been handled (ErrClosed).
func (c *Conn) lock(ctx context.Context, mu *ctxlock.Mutex) error {
	if mu.TryLock() {
		return nil // in the caller: lock is inlined
	}
	return c.lockSlow(ctx, mu)
}

func (c *Conn) lockSlow(ctx context.Context, mu *ctxlock.Mutex) error {
	if err := mu.Lock(ctx, &c.peerClose); err != nil {
		if err == ctxlock.ErrClosed {
			return ErrClosed
		}
		return err
	}
	return nil
}

// ending is the state of a connection that has ended or is closing.
type ending struct {
	readErr error // terminal error for readers
	cause   error // why the connection was closed locally, if it was
}

// endLocked returns c.end, made if need be. The caller holds mu.
func (c *Conn) endLocked() *ending {
	e := c.end.Load()
	if e == nil {
		e = new(ending)
		c.end.Store(e)
	}
	return e
}

// causeLocked returns why the connection was closed locally, or nil. The
// caller holds mu.
func (c *Conn) causeLocked() error {
	e := c.end.Load()
	if e == nil {
		return nil
	}
	return e.cause
}

// setCause records why the connection is closed locally, unless a cause
// already was.
func (c *Conn) setCause(err error) {
	c.mu.Lock()
	if e := c.endLocked(); e.cause == nil {
		e.cause = err
	}
	c.mu.Unlock()
}

// terminal returns the error readers get from now on, or nil.
func (c *Conn) terminal() error {
	if c.end.Load() == nil {
		return nil // the common case, every message: no lock, no call
	}
	return c.terminalLocked()
}

func (c *Conn) terminalLocked() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end.Load().readErr
}

func (c *Conn) setTerminal(err error) error {
	c.mu.Lock()
	e := c.endLocked()
	first := e.readErr == nil
	if first {
		e.readErr = err
	}
	err = e.readErr
	c.mu.Unlock()
	if first {
		c.observeClosed(err)
	}
	c.peerClose.Fire()
	return err
}

// fail handles an error from the read side. Context errors leave the
// connection as it was; protocol errors are answered with a close frame
// carrying their code; anything else means the connection is gone.
func (c *Conn) fail(ctx context.Context, err error) error {
	if cutByContext(ctx, err) {
		return err
	}
	if t := c.terminal(); t != nil {
		return t
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		c.writeClose(pe.Code, pe.Reason)
		c.setTerminal(err)
		c.drainAndClose(ctx, true)
		return c.terminal()
	}
	c.mu.Lock()
	cause := c.causeLocked()
	c.mu.Unlock()
	if cause != nil {
		err = cause
	}
	c.shutdown()
	return c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, err))
}

// cutByContext reports whether err is ctx ending a call that the
// connection survives.
func cutByContext(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// shutdown closes TCP and stops the keepalive.
func (c *Conn) shutdown() {
	c.stopKeepalive()
	c.rc.Close()
}

// nextData returns the next data frame header, handling control frames
// that come before it.
func (c *Conn) nextData(ctx context.Context) (frame.Header, error) {
	for {
		// Frames still buffered after the connection failed are not
		// delivered: the reader gets the error that ended it.
		if t := c.terminal(); t != nil {
			return frame.Header{}, t
		}
		if cc := c.cutControl(); cc != nil {
			c.x.Load().ctl = nil
			err := c.finishControl(ctx, cc.h, cc.buf, cc.n)
			if err != nil || cc.h.Opcode == frame.OpClose {
				return cc.h, err
			}
			continue
		}
		h, err := c.rc.NextFrame(ctx)
		if err != nil {
			return h, c.fail(ctx, err)
		}
		if h.Opcode.IsData() {
			return h, nil
		}
		if h.RSV != 0 {
			// Extensions of this package never set a reserved bit on a
			// control frame (RFC 7692, Section 6.1).
			return h, c.fail(ctx, frame.ErrReservedBits)
		}
		err = c.control(ctx, h)
		if err != nil || h.Opcode == frame.OpClose {
			return h, err
		}
	}
}

// control reads and handles the control frame h. Its payload goes
// through a pooled buffer: control frames are rare, and a buffer kept
// in every Conn would cost each idle connection 128 bytes.
func (c *Conn) control(ctx context.Context, h frame.Header) error {
	return c.finishControl(ctx, h, bufpool.Default.Get(frame.MaxControlPayload), 0)
}

// cutControl is a control frame whose payload a read cut short by its
// context: n bytes of it are in buf (all of them for a ping whose pong the
// context stopped). The next read finishes it before anything else;
// dropping it would leave a ping unanswered, or a close frame unseen and
// the data after it delivered.
type cutControl struct {
	h   frame.Header
	buf *[]byte // pooled, frame.MaxControlPayload bytes
	n   int
}

// cutControl returns the control frame a cancelled read cut short, or
// nil. Only the reader uses it.
func (c *Conn) cutControl() *cutControl {
	if x := c.x.Load(); x != nil {
		return x.ctl
	}
	return nil
}

// finishControl reads the rest of the payload of control frame h, whose
// first n bytes are in buf, and handles the frame. buf goes back to the
// pool, or into c.ctl when ctx cuts the read short.
func (c *Conn) finishControl(ctx context.Context, h frame.Header, buf *[]byte, n int) error {
	p := (*buf)[:h.Length]
	for n < len(p) {
		k, err := c.rc.ReadContext(ctx, p[n:])
		n += k
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			if cutByContext(ctx, err) {
				c.extras().ctl = &cutControl{h: h, buf: buf, n: n}
				return err
			}
			bufpool.Default.Put(buf)
			return c.fail(ctx, err)
		}
	}
	keep := false // the pong is still to be sent: buf stays in c.ctl
	defer func() {
		if !keep {
			bufpool.Default.Put(buf)
		}
	}()
	switch h.Opcode {
	case frame.OpPing:
		if !c.flag(flagCloseSent) {
			if err := c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPong}, p); err != nil {
				if !errors.Is(err, raw.ErrBroken) && cutByContext(ctx, err) {
					// ctx ended before the pong went out (a ping read
					// from the buffer under a deadline that had passed):
					// the next read sends it, as it finishes a ping cut
					// short.
					c.extras().ctl = &cutControl{h: h, buf: buf, n: n}
					keep = true
					return err
				}
				err = c.failWrite(ctx, err)
				if t := c.terminal(); t != nil {
					// The reader reports why the connection ended
					// (1006), not the write that noticed it.
					err = t
				}
				return err
			}
		}
	case frame.OpPong:
		c.gotPong(p)
	case frame.OpClose:
		return c.handleClose(ctx, p)
	}
	return nil
}

// handleClose answers the peer's close frame (RFC 6455, Section 5.5.1):
// echo its code unless we sent a close already, then end the connection.
func (c *Conn) handleClose(ctx context.Context, p []byte) error {
	code, reason, err := frame.ParseClose(p)
	if err != nil {
		return c.fail(ctx, err)
	}
	ce := &CloseError{Code: code, Reason: reason}
	c.writeClose(code, "")
	c.setTerminal(ce)
	c.finish(ctx)
	return ce
}

// finish ends the TCP connection once the closing handshake is done. The
// server closes first (RFC 6455, Section 7.1.1); a client waits a while
// for it to, so that the server holds no TIME_WAIT state.
func (c *Conn) finish(ctx context.Context) {
	if c.client {
		c.drainAndClose(ctx, false)
		return
	}
	c.shutdown()
}

// drainAndClose waits, up to CloseTimeout, for the peer to close TCP,
// discarding what it still sends, then closes. Closing a socket with
// unread data makes the kernel send a reset, and a reset can destroy data
// the peer has received but not yet read, such as our last echo and our
// close frame: when this end fails the connection while the peer is still
// sending (halfClose), it first shuts down its sending side so the peer
// sees the close frame followed by a clean end of stream. A reader whose
// ctx offers to do the wait (conn/poll, which waits in epoll rather than
// hold a worker) gets it, and closes the connection when it is over.
func (c *Conn) drainAndClose(ctx context.Context, halfClose bool) {
	nc := c.rc.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && halfClose {
		cw.CloseWrite()
	}
	if drain := ctxflag.Drainer(ctx); drain != nil {
		c.stopKeepalive()
		drain(c.closeTimeout())
		return
	}
	nc.SetReadDeadline(time.Now().Add(c.closeTimeout()))
	var b [512]byte
	for {
		if _, err := nc.Read(b[:]); err != nil {
			break
		}
	}
	c.shutdown()
}

// writeClose sends a close frame unless one was sent already. It reports
// whether this call sent it.
func (c *Conn) writeClose(code StatusCode, reason string) bool {
	c.mu.Lock()
	if c.flag(flagCloseSent) {
		c.mu.Unlock()
		return false
	}
	c.flags.Or(flagCloseSent)
	c.mu.Unlock()
	c.observeSent(code)
	var b [frame.MaxControlPayload]byte
	p := frame.AppendClose(b[:0], code, reason)
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout())
	defer cancel()
	c.rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, p)
	return true
}

// failWrite handles a write error: a frame cut in half breaks the
// connection.
func (c *Conn) failWrite(ctx context.Context, err error) error {
	if errors.Is(err, raw.ErrBroken) {
		c.shutdown()
		c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, err))
		return err
	}
	if cutByContext(ctx, err) {
		return err
	}
	if errors.Is(err, raw.ErrClosed) || errors.Is(err, raw.ErrCloseSent) {
		// Closed, or closing: the close frame ends the stream whatever
		// message was open, and the handshake goes on.
		return ErrClosed
	}
	c.shutdown()
	c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, err))
	if c.closedHere() {
		// Close or CloseNow raced the write: the peer closed TCP after
		// the handshake, or CloseNow closed it under the write.
		return ErrClosed
	}
	return err
}

// closedHere reports whether this end started closing: Close sent a close
// frame, or CloseNow was called. Calls that fail after it return ErrClosed
// rather than what the socket said.
func (c *Conn) closedHere() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.causeLocked() == ErrClosed
}

// Close starts (or completes) the closing handshake with code and reason
// (RFC 6455, Section 7): it sends a close frame, waits up to
// Options.CloseTimeout for the peer's, and closes the connection. Data
// messages that arrive meanwhile are discarded. A reader blocked in
// another goroutine gets the CloseError. Close returns nil when the
// handshake completed.
//
// Code 0 means StatusNormalClosure, and StatusNoStatusRcvd (1005) sends
// a close frame with no code and no reason, which the peer reads as
// 1005. Any other code that may not be sent (RFC 6455, Section 7.4: below
// 1000, 1004, 1006, 1015, 1016-2999, 5000 and above) is a mistake, but
// Close still ends the connection, as its caller meant it to: it closes
// with StatusInternalError (1011) and reason, and returns an error that
// names the code it could not send.
func (c *Conn) Close(code StatusCode, reason string) error {
	code, reason, codeErr := sendableClose(code, reason)
	return errors.Join(codeErr, c.close(code, reason))
}

// sendableClose turns the code and reason Close and CloseWrite were given
// into those the close frame carries, with an error naming a code that may
// not be sent.
func sendableClose(code StatusCode, reason string) (StatusCode, string, error) {
	switch {
	case code == 0:
		return StatusNormalClosure, reason, nil
	case code == StatusNoStatusRcvd:
		return code, "", nil
	case !code.ValidOnWire():
		return StatusInternalError, reason, fmt.Errorf("websocket: close code %d may not be sent; closed with %d", int(code), int(StatusInternalError))
	}
	return code, reason, nil
}

// close is Close with a code that may be sent.
func (c *Conn) close(code StatusCode, reason string) error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	sent := c.writeClose(code, reason)
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout())
	defer cancel()
	if c.readMu.Lock(ctx, &c.peerClose) == nil {
		// Nobody is reading: read until the peer's close ourselves.
		for {
			if _, err := c.nextData(ctx); err != nil {
				break
			}
		}
		c.readMu.Unlock()
	}
	select {
	case <-c.peerClose.Done():
	case <-ctx.Done():
	}
	c.shutdown()
	t := c.terminal()
	var ce *CloseError
	if errors.As(t, &ce) && ce.Code != StatusAbnormalClosure {
		if !sent {
			return ErrClosed
		}
		return nil
	}
	c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, ErrClosed))
	if !sent {
		return ErrClosed
	}
	return errors.New("websocket: closing handshake did not complete")
}

// CloseNow closes the connection at once, with no closing handshake.
func (c *Conn) CloseNow() error {
	c.setCause(ErrClosed)
	c.shutdown()
	c.setTerminal(fmt.Errorf("%w: %w", &CloseError{Code: StatusAbnormalClosure}, ErrClosed))
	return nil
}
