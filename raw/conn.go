package raw

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/bufpool"
	"github.com/hybi-go/hybi/internal/ctxlock"
)

// Role says which end of the connection a Conn is. It decides masking:
// clients mask what they send, servers what they receive (RFC 6455,
// Section 5.1).
type Role = frame.Role

// The two roles.
const (
	Server = frame.RoleServer
	Client = frame.RoleClient
)

// Default limits and sizes.
const (
	DefaultMaxFrameSize    = 32 << 20
	DefaultReadBufferSize  = 4096
	DefaultWriteBufferSize = 16 << 10

	// smallBufSize is the read buffer a connection that is not a socket
	// (TLS, a pipe) keeps while it waits for its next frame, so that small
	// messages arrive in one read and a pooled buffer is needed only while
	// a larger frame is in flight. A socket needs none: it waits for
	// readiness with no buffer at all (idle_unix.go).
	smallBufSize = 128
)

// Options configures a Conn. The zero value gives the defaults.
type Options struct {
	// MaxFrameSize is the largest payload accepted in one received frame;
	// a larger one is ErrFrameTooBig (1009). 0 means DefaultMaxFrameSize,
	// negative means no limit.
	MaxFrameSize int64
	// ReadBufferSize is the size of the pooled read buffer taken while a
	// frame is being read; a socket whose reads keep filling it reads
	// into up to 16 times as much, or 256 KiB if that is more (see
	// Conn.readSize). 0 means DefaultReadBufferSize.
	ReadBufferSize int
	// WriteBufferSize is the size of the pooled buffer a frame is framed
	// (and, for a client, masked) in. 0 means DefaultWriteBufferSize.
	WriteBufferSize int
	// AllowedRSV are the RSV bits that negotiated extensions own. A
	// received frame with any other RSV bit is ErrReservedBits (1002),
	// and WriteFrame refuses to send one. A bit allowed here is allowed on
	// every frame, control and continuation frames included: whether an
	// extension's bit may appear there (permessage-deflate's may not,
	// RFC 7692, Section 6.1) is left to the caller to check.
	AllowedRSV frame.RSV
	// AllowIllegalWrites turns off the checks WriteFrame makes and sends
	// the header as given (opcode, RSV, FIN, mask bit and key), with only
	// Length set from the payload. It exists for tests and conformance
	// tools that must send broken frames on purpose.
	AllowIllegalWrites bool
}

// ErrClosed is returned by operations on a Conn after Close, and by a
// read or a write that Close cut short.
var ErrClosed = errors.New("websocket: use of closed connection")

// ErrCloseSent is returned by a write of a data frame after a close frame
// was written: RFC 6455, Section 5.5.1, allows none.
var ErrCloseSent = errors.New("websocket: data frame after the close frame")

// ErrBroken is returned after a write was cut off in the middle of a frame
// (by a cancelled context or an I/O error): the stream can no longer be
// framed and the connection must be closed.
var ErrBroken = errors.New("websocket: connection broken by an interrupted write")

// Conn is the Raw session: frames in and out, nothing answered for the
// caller. Ping, pong and close frames are returned by NextFrame like any
// other; replying to them, reassembling messages and validating text are
// left to the caller (package conn does all of that).
//
// One goroutine may read (NextFrame and Read) while any number write;
// WriteFrame writes each frame whole under a lock.
type Conn struct {
	nc   net.Conn
	opts settings

	// Read side, owned by the single reader.
	rctx    context.Context
	rbuf    []byte  // small[:] or *rpooled
	rpooled *[]byte // pooled read buffer, nil while idle
	r, w    int     // unread bytes are rbuf[r:w]
	remain  int64   // payload bytes of the current frame not yet read
	mask    [4]byte // masking key of the current frame
	// wbroken (write side, here where it fits in padding): a write its
	// ctx interrupted broke a fragile nc (flagFragile), so Close sends no close_notify.
	wbroken atomic.Bool
	maskPos uint8 // offset into the key, 0-3
	masked  bool  // current frame is masked
	inMsg   bool  // a fragmented data message is open
	role    Role
	// Write side flag, here where it fits in padding: a close frame
	// went out (guarded by wmu).
	wclose bool
	// rgrow doubles the read buffer a socket reads into, up to
	// maxReadGrow times, while reads keep filling it (see readSize).
	rgrow uint8
	// firstTry and peekFirst (a socket's reader's, in padding) are
	// readIdle's: its first read, made before any wait, has not been
	// made yet; and that read last found nothing, so the next first
	// read looks before it takes a buffer (see readReady).
	firstTry, peekFirst bool
	// drained (the reader's, in padding): the last read system call
	// returned less than it asked for, or found nothing (EAGAIN), so
	// the socket was empty then; conn/poll, which registers sockets
	// edge-triggered, hands a connection back to epoll without
	// re-arming it when this holds (internal/netswap.TakeDrained).
	drained bool
	// flags and rsv are set by New and only read after, here where they
	// fit in padding: a byte each, not words in opts.
	flags connFlags
	rsv   frame.RSV // Options.AllowedRSV

	// rerr is the sticky read error. It is nil while the reader reads,
	// and readIdle borrows it to carry the error of the read system
	// call its wait made (see readReady).
	rerr  error
	idle  *idleReader         // nil unless the connection is a socket
	small *[smallBufSize]byte // nil for sockets

	// Write side.
	wmu    ctxlock.Mutex // held for the writing of one frame
	werr   error         // sticky write error, guarded by wmu
	closed ctxlock.Event // Close was called
	// held are frames HoldFrame kept back, in a pooled buffer whose
	// length is the bytes held; nil when none are. Written under wmu;
	// atomic so that the reader can see, without the lock, whether it
	// must send them before it waits for the network.
	held atomic.Pointer[[]byte]

	// dl interrupts reads and writes when their context is done; nil
	// until one is made under a context that can be (see deadlines).
	dl atomic.Pointer[deadlines]

	// ext is what the opening handshake agreed (NewFromResult), nil when
	// no extension is in use; set once, read only.
	ext *agreedExts
}

// settings are the Options a Conn consults, in 16 bytes (Options is
// 32): every connection carries them. AllowedRSV and AllowIllegalWrites
// are Conn.rsv and Conn.flags.
type settings struct {
	maxFrame int64 // MaxFrameSize, defaulted; negative means no limit
	// ReadBufferSize and WriteBufferSize, defaulted and at most
	// maxBufferSize.
	readBuf, writeBuf int32
}

// maxBufferSize bounds Options.ReadBufferSize and WriteBufferSize: a
// larger value is taken as this one (a read buffer grows past it, see
// readSize).
const maxBufferSize = 1 << 30

// connFlags are the properties of a Conn that New sets once.
type connFlags uint8

const (
	// flagFragile: nc breaks on any interrupted write, even one that
	// wrote nothing (crypto/tls makes every write error permanent).
	flagFragile connFlags = 1 << iota
	// flagSock: frames that fit in one write buffer are written with
	// sockWrite, not nc.Write.
	flagSock
	// flagIllegal is Options.AllowIllegalWrites.
	flagIllegal
)

// New starts a Raw session on nc, which has completed the opening
// handshake. buffered holds bytes already read from nc past the handshake
// (handshake.Result.Buffered); they are read first. The Conn owns nc.
func New(nc net.Conn, buffered []byte, role Role, o *Options) *Conn {
	c := &Conn{nc: nc, role: role}
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.MaxFrameSize == 0 {
		opts.MaxFrameSize = DefaultMaxFrameSize
	}
	if opts.ReadBufferSize <= 0 {
		opts.ReadBufferSize = DefaultReadBufferSize
	}
	if opts.WriteBufferSize <= 0 {
		opts.WriteBufferSize = DefaultWriteBufferSize
	}
	c.opts = settings{
		maxFrame: opts.MaxFrameSize,
		readBuf:  int32(min(opts.ReadBufferSize, maxBufferSize)),
		writeBuf: int32(min(max(opts.WriteBufferSize, 256), maxBufferSize)),
	}
	c.rsv = opts.AllowedRSV
	if opts.AllowIllegalWrites {
		c.flags |= flagIllegal
	}
	if _, ok := nc.(*tls.Conn); ok {
		c.flags |= flagFragile
	}
	c.rctx = context.Background()
	c.initIdle()
	c.initSockWrite()
	if c.idle == nil {
		c.small = new([smallBufSize]byte)
	}
	c.rbuf = c.inline()
	if len(buffered) > 0 {
		if len(buffered) > len(c.rbuf) {
			c.takeReadBuf(len(buffered))
		}
		c.w = copy(c.rbuf, buffered)
	}
	return c
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Role reports which end of the connection c is.
func (c *Conn) Role() Role { return c.role }

// Close closes the underlying connection at once, with no close frame.
// It is safe to call more than once and from any goroutine.
func (c *Conn) Close() error {
	if !c.closed.Fire() {
		return ErrClosed
	}
	nc := c.nc
	if tc, ok := nc.(*tls.Conn); ok && c.wbroken.Load() {
		// tls.Conn.Close would first write a close_notify alert, after
		// a record cut in half, to a peer that may not read, waiting
		// up to 5s: close the socket under it instead.
		nc = tc.NetConn()
	}
	err := nc.Close()
	if dl := c.dl.Load(); dl != nil {
		dl.r.release()
		dl.w.release()
	}
	return err
}

// takeReadBuf moves the unread bytes into a pooled buffer of at least n
// bytes.
func (c *Conn) takeReadBuf(n int) {
	if n < int(c.opts.readBuf) {
		n = int(c.opts.readBuf)
	}
	if c.rpooled != nil && len(*c.rpooled) >= n {
		return
	}
	nb := pool.Get(n)
	k := copy(*nb, c.rbuf[c.r:c.w])
	c.releaseReadBuf()
	c.rpooled = nb
	c.rbuf = *nb
	c.r, c.w = 0, k
}

// pool holds the read and write buffers of every Conn.
var pool = bufpool.Default

// A socket's read buffer grows to 16 times Options.ReadBufferSize
// (maxReadGrow doublings), and further while it is below maxGrownRead
// (64 times the default): a pipelining peer's 16 KiB messages then
// arrive a dozen per system call and their replies leave as few
// (HoldFrame). A system call, not the copying, is what a message costs
// there: at 16 KiB with 64 in flight, 64 KiB reads and writes took 0.55
// system calls and 6-7 us of server CPU per echo, 256 KiB ones 0.18 and
// 5.2 us.
const (
	maxReadGrow  = 4
	maxGrownRead = 256 << 10
)

// readSize is the size of the next read buffer a socket takes: a read
// that fills it doubles it, so that a peer sending a stream of frames (a
// pipelining client) is read several frames per system call rather than
// one, and a read that fills less than a quarter halves it back. The
// buffer is pooled and held only until it is drained.
func (c *Conn) readSize() int { return int(c.opts.readBuf) << c.rgrow }

// adaptRead adjusts the read size after a read of n bytes into size.
func (c *Conn) adaptRead(n, size int) {
	switch {
	case n == size && (c.rgrow < maxReadGrow || size < maxGrownRead):
		c.rgrow++
	case n < size/4 && c.rgrow > 0:
		c.rgrow--
	}
}

// inline returns the small buffer, empty for a socket.
func (c *Conn) inline() []byte {
	if c.small == nil {
		return nil
	}
	return c.small[:]
}

// releaseReadBuf gives the pooled read buffer back once it is drained.
func (c *Conn) releaseReadBuf() {
	if c.rpooled != nil {
		pool.Put(c.rpooled)
		c.rpooled = nil
		c.rbuf = c.inline()
	}
}

// fill reads more bytes into the read buffer so that at least need bytes
// are unread, choosing the small inline buffer when that is enough.
func (c *Conn) fill(need int) error {
	if c.w-c.r >= need {
		return nil // in the caller, for a header already read: fill is inlined
	}
	return c.fillMore(need)
}

func (c *Conn) fillMore(need int) error {
	c.unlend()
	for c.w-c.r < need {
		if c.r == c.w {
			c.r, c.w = 0, 0
			// Drained: go back to the inline buffer unless a large
			// payload is still to come.
			if c.rpooled != nil && c.remain+frame.MaxHeaderSize <= smallBufSize {
				c.releaseReadBuf()
			}
			if c.rpooled == nil && c.idle != nil {
				// A socket waits with no buffer at all.
				if _, err := c.readIdle(); err != nil {
					return err
				}
				continue
			}
		}
		if c.rpooled == nil && c.remain > int64(len(c.rbuf)) {
			c.takeReadBuf(0)
		}
		if len(c.rbuf)-c.r < need {
			// Compact so that need bytes fit.
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
			if len(c.rbuf) < need {
				c.takeReadBuf(need)
			}
		}
		c.sendHeld()
		n, err := c.nc.Read(c.rbuf[c.w:])
		c.drained = n < len(c.rbuf)-c.w || err != nil
		c.w += n
		if err != nil {
			if c.w-c.r >= need {
				return nil
			}
			return err
		}
	}
	return nil
}

// NextFrame reads the next frame header, skipping whatever is left of the
// current frame's payload. It checks the header against RFC 6455, Sections
// 5.1-5.5: masking for the role, RSV bits against Options.AllowedRSV,
// reserved opcodes, control frame rules, the order of fragments, and the
// frame size limit. A violation is returned as a *frame.ProtocolError
// whose Code is the close status to answer with; after it, and after any
// I/O error, the read side stays failed.
//
// ctx bounds this call and the Read calls for the frame's payload. When it
// is cancelled the call returns ctx.Err() and the connection stays usable:
// no byte read so far is lost.
//
// The context is kept, for the payload's reads and for the held frames a
// read sends (sendHeld), until the frame has been read to its end.
func (c *Conn) NextFrame(ctx context.Context) (frame.Header, error) {
	if c.rerr != nil {
		if c.remain == 0 {
			c.forgetReadCtx()
		}
		return frame.Header{}, c.rerr
	}
	c.rctx = ctx
	// Skipping the rest of the last frame waits for the peer as reading
	// a header does: ctx bounds both, and a skip cut short resumes at the
	// next call, as a header cut short does.
	armed := c.arm(false, ctx)
	var err error
	if c.remain > 0 {
		err = c.discard()
	}
	var h frame.Header
	if err == nil {
		h, err = c.readHeader()
	}
	if armed {
		c.disarm(false)
	}
	if err != nil {
		return frame.Header{}, c.headerFailed(ctx, err)
	}
	if err := c.check(h); err != nil {
		c.forgetReadCtx()
		return h, c.failRead(err)
	}
	if h.Opcode.IsControl() {
		// Only a stream of data frames earns a larger read buffer: a
		// peer flooding pings is read no faster than it is answered.
		c.rgrow = 0
	}
	c.remain = h.Length
	c.masked = h.Masked
	c.mask = h.Mask
	c.maskPos = 0
	if c.remain == 0 {
		c.forgetReadCtx()
	}
	return h, nil
}

// headerFailed is NextFrame's error for err, which skipping the last
// frame's rest or reading the header returned: ctx's when it cut the
// read short, which leaves the connection usable, else err, for good.
func (c *Conn) headerFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil && isTimeout(err) {
		err = ctx.Err()
	} else {
		err = c.failRead(err)
	}
	if c.remain == 0 {
		c.forgetReadCtx()
	}
	return err
}

// forgetReadCtx drops the context of a frame read to its end: an idle
// connection must not keep it, or its timer, alive.
func (c *Conn) forgetReadCtx() { c.rctx = context.Background() }

func (c *Conn) readHeader() (frame.Header, error) {
	if err := c.fill(2); err != nil {
		if err == io.EOF && c.w > c.r {
			err = io.ErrUnexpectedEOF
		}
		return frame.Header{}, err
	}
	b1 := c.rbuf[c.r+1]
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	if err := c.fill(n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame.Header{}, err
	}
	h, _, err := frame.ParseHeader(c.rbuf[c.r : c.r+n])
	if err != nil {
		return h, err
	}
	c.r += n
	return h, nil
}

func (c *Conn) check(h frame.Header) error {
	if err := frame.Check(h, c.role, c.rsv); err != nil {
		return err
	}
	if h.Opcode.IsData() {
		if err := frame.CheckSequence(h.Opcode, c.inMsg); err != nil {
			return err
		}
		c.inMsg = !h.Fin
	}
	if c.opts.maxFrame > 0 && h.Length > c.opts.maxFrame {
		return frame.ErrFrameTooBig
	}
	return nil
}

func (c *Conn) failRead(err error) error {
	switch {
	case err == io.EOF:
		c.rerr = io.EOF
	case c.closed.Fired() && errors.Is(err, net.ErrClosed):
		// Close closed the socket under the read, as it can under a
		// write: both say ErrClosed.
		c.rerr = ErrClosed
	default:
		c.rerr = err
	}
	c.releaseReadBuf()
	return c.rerr
}

// discard skips the rest of the current frame's payload.
func (c *Conn) discard() error {
	for c.remain > 0 {
		k := int64(c.w - c.r)
		if k > c.remain {
			k = c.remain
		}
		c.r += int(k)
		c.remain -= k
		if c.remain == 0 {
			break
		}
		if err := c.fill(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err // the caller decides whether it is fatal
		}
	}
	return nil
}

// Remaining returns how many payload bytes of the current frame are unread.
func (c *Conn) Remaining() int64 { return c.remain }

// ReadContext is Read bounded by ctx rather than by the context of the
// last NextFrame call; Read calls after it are bounded by ctx too, until
// the frame ends. A caller whose read of a payload was cut short by its
// context goes on with a new one this way: the bytes read so far are
// kept, and the rest of the frame follows.
func (c *Conn) ReadContext(ctx context.Context, p []byte) (int, error) {
	if c.remain > 0 {
		c.rctx = ctx
	}
	return c.Read(p)
}

// Read reads payload bytes of the frame returned by the last NextFrame,
// unmasked. It returns io.EOF at the end of the frame. Payloads larger than
// the read buffer are read straight into p.
func (c *Conn) Read(p []byte) (int, error) {
	if c.remain == 0 {
		return 0, io.EOF
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	var n int
	if c.r < c.w {
		n = c.readBuffered(p)
	} else {
		var err error
		if n, err = c.readWire(p); err != nil {
			return 0, err
		}
	}
	if c.masked {
		c.maskPos = uint8(frame.Mask(c.mask, int(c.maskPos), p[:n]))
	}
	c.remain -= int64(n)
	if c.remain == 0 {
		c.forgetReadCtx()
		if c.r == c.w {
			c.releaseReadBuf()
		}
	}
	return n, nil
}

// readBuffered is Read's copy of buffered payload bytes into p. From a
// buffer ReadAheadInto lent, which is p itself when Read follows it as
// it should, nothing is copied; the buffer is the caller's, so it is
// given back as soon as it is read, and anything left in it when p is
// another buffer moves to a pooled one first.
func (c *Conn) readBuffered(p []byte) int {
	if c.lent() {
		if unsafe.SliceData(p) == unsafe.SliceData(c.rbuf) && c.r == 0 && len(p) >= c.w {
			n := c.w
			c.rbuf, c.r, c.w = nil, 0, 0
			return n
		}
		c.unlend()
	}
	n := copy(p, c.rbuf[c.r:c.w])
	c.r += n
	return n
}

// lent reports whether the read buffer is one ReadAheadInto lent: a
// socket's is otherwise pooled, or nil.
func (c *Conn) lent() bool { return c.rpooled == nil && c.small == nil && c.rbuf != nil }

// unlend gives a lent read buffer back to its owner, what is unread in it
// moved to a pooled buffer, so that no read but the one it was lent for
// reads into it or from it.
func (c *Conn) unlend() {
	if !c.lent() {
		return
	}
	if c.r == c.w {
		c.rbuf, c.r, c.w = nil, 0, 0
		return
	}
	c.takeReadBuf(c.w - c.r)
}

// readWire is Read's read when nothing of the payload is buffered: into
// the buffer, or straight into p when p is large. It returns the bytes
// put in p, or the error Read returns.
func (c *Conn) readWire(p []byte) (int, error) {
	armed := c.arm(false, c.rctx)
	var n int
	var err error
	if len(p) >= c.readSize() {
		// Large read: bypass the buffer, as bufio does.
		c.sendHeld()
		n, err = c.nc.Read(p)
		c.drained = n < len(p) || err != nil
	} else {
		if err = c.fill(1); err == nil {
			n = copy(p, c.rbuf[c.r:c.w])
			c.r += n
		}
	}
	if armed {
		c.disarm(false)
	}
	if err != nil && n == 0 {
		if c.rctx.Err() != nil && isTimeout(err) {
			return 0, c.rctx.Err()
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, c.failRead(err)
	}
	return n, nil
}

// lockWrite takes the frame write lock, giving up when ctx is done or the
// connection is closed.
func (c *Conn) lockWrite(ctx context.Context) error {
	if c.wmu.TryLock() {
		return nil // in the caller: lockWrite is inlined
	}
	return c.lockWriteSlow(ctx)
}

func (c *Conn) lockWriteSlow(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		// A done context sends nothing and waits for nothing, and says
		// so even when Close came too (the lock's wait would pick either).
		return err
	}
	if err := c.wmu.Lock(ctx, &c.closed); err != nil {
		if err == ctxlock.ErrClosed {
			return ErrClosed
		}
		return err
	}
	return nil
}

func (c *Conn) unlockWrite() { c.wmu.Unlock() }

// WriteFrame writes one frame with payload p. The header's Length and, for
// a client, its mask are set here; p is never modified (a client masks a
// copy in a pooled buffer). Unless Options.AllowIllegalWrites is set, a
// header that breaks RFC 6455 (a reserved opcode, a fragmented or long
// control frame, an RSV bit no extension owns) is refused with an
// *IllegalWriteError that names the rule, and so is a data frame once a
// close frame has gone out (ErrCloseSent, RFC 6455, Section 5.5.1). A
// write that Close cut short returns ErrClosed.
//
// Frames from concurrent callers never interleave. A ctx done before the
// call sends nothing and returns ctx.Err(). A ctx done during it returns
// ctx.Err(); if part of the frame had already gone out the connection is
// broken (ErrBroken, joined to ctx.Err()) and should be closed. Over TLS
// (a *tls.Conn) a write ctx interrupts always breaks the connection, even
// one that wrote nothing: crypto/tls fails every write after one its
// deadline cut, and may have sent part of a record. Only a connection
// whose writes can be interrupted and resumed (TCP, a pipe) survives a
// write its context cut before the first byte went out.
func (c *Conn) WriteFrame(ctx context.Context, h frame.Header, p []byte) error {
	h, err := c.prepare(h, p)
	if err != nil {
		return err
	}
	// The frame lock, the checks and the error handling are calls that
	// return before the write: the write itself is made from this frame,
	// so that an echo's write path stays within a goroutine's first stack
	// (see sockWrite). A done ctx sends nothing: startWrite says so
	// first, and lockWrite does not wait for it. (HoldFrame repeats
	// these steps with a hold first: one function for both, with a
	// flag, made conn's Write and WriteReply frames 8 bytes larger.)
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.unlockWrite()
	armed, err := c.startWrite(ctx, h.Opcode)
	if err != nil {
		return err
	}
	var n int
	if w, held := c.directFrame(h, p); w != nil {
		n, err = c.sockWriteDirect(w, held)
	} else {
		n, err = c.writeFrame(h, p)
	}
	return c.endWrite(ctx, h.Opcode, armed, n, err)
}

// prepare sets the header's length and, for a client, a fresh masking
// key, after checking it unless Options.AllowIllegalWrites is set.
func (c *Conn) prepare(h frame.Header, p []byte) (frame.Header, error) {
	h.Length = int64(len(p))
	if c.flags&flagIllegal == 0 {
		if err := c.checkWrite(h); err != nil {
			return h, err
		}
		h.Masked = c.role == Client
		if h.Masked {
			u := rand.Uint32()
			h.Mask = [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
		}
	}
	return h, nil
}

// writeLocked runs write, which puts one frame with opcode op on the
// wire, under the frame write lock with ctx armed to interrupt it. A
// write cut off after its first byte breaks the connection: the stream
// can no longer be framed. Whether a close frame went out is known under
// the same lock, so no data frame can follow one, whatever the timing.
func (c *Conn) writeLocked(ctx context.Context, op frame.Opcode, write func() (int, error)) error {
	if err := c.lockWrite(ctx); err != nil {
		return err
	}
	defer c.unlockWrite()
	return c.writeHoldingLock(ctx, op, write)
}

// writeHoldingLock is writeLocked once the lock is taken.
func (c *Conn) writeHoldingLock(ctx context.Context, op frame.Opcode, write func() (int, error)) error {
	armed, err := c.startWrite(ctx, op)
	if err != nil {
		return err
	}
	n, err := write()
	return c.endWrite(ctx, op, armed, n, err)
}

// startWrite checks, with the frame write lock held, that a frame with
// opcode op may go out, and arms ctx to interrupt the write. If it
// returns nil, endWrite must be called with the write's outcome.
func (c *Conn) startWrite(ctx context.Context, op frame.Opcode) (armed bool, err error) {
	// A done context sends nothing, before anything else: the lock is
	// taken whatever the context when it is free (and a wait for a busy
	// one may end in taking it just as the context ends), and the
	// interrupter would only notice once the write had begun.
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if c.closed.Fired() {
		return false, ErrClosed // the lock is taken even after Close
	}
	if c.werr != nil {
		return false, c.werr
	}
	if c.wclose && op.IsData() && c.flags&flagIllegal == 0 {
		return false, ErrCloseSent
	}
	return c.arm(true, ctx), nil
}

// endWrite ends the write startWrite began, which wrote n bytes and
// returned err, and returns the error its caller reports. A write cut off
// after its first byte breaks the connection: the stream can no longer be
// framed.
func (c *Conn) endWrite(ctx context.Context, op frame.Opcode, armed bool, n int, err error) error {
	if armed {
		c.disarm(true)
	}
	if op == frame.OpClose && n > 0 {
		c.wclose = true
	}
	if err != nil {
		return c.writeFailed(ctx, n, err)
	}
	return nil
}

// writeFailed is endWrite for a write that returned err after n bytes.
func (c *Conn) writeFailed(ctx context.Context, n int, err error) error {
	if n > 0 {
		c.werr = ErrBroken
	}
	if c.closed.Fired() {
		// Close raced the write and closed the socket under it.
		return ErrClosed
	}
	if ctx.Err() != nil && isTimeout(err) {
		if n > 0 || c.flags&flagFragile != 0 {
			c.werr = ErrBroken
			c.wbroken.Store(true)
			return errors.Join(ctx.Err(), ErrBroken)
		}
		return ctx.Err()
	}
	c.werr = err
	return err
}

// ErrIllegalWrite is wrapped by the *IllegalWriteError of every write
// refused because its frame would break RFC 6455.
var ErrIllegalWrite = errors.New("websocket: refusing to write a frame that breaks RFC 6455")

// IllegalWriteError is a frame WriteFrame refused to send, and the rule of
// RFC 6455 it would break. Nothing was sent: the connection is still good.
// Options.AllowIllegalWrites turns these checks off (for testing peers);
// Options.AllowedRSV lists the reserved bits negotiated extensions own.
type IllegalWriteError struct {
	Header frame.Header // the frame refused, with its Length
	Rule   string       // the rule it breaks and where RFC 6455 states it
}

func (e *IllegalWriteError) Error() string { return ErrIllegalWrite.Error() + ": " + e.Rule }

// Unwrap returns ErrIllegalWrite.
func (e *IllegalWriteError) Unwrap() error { return ErrIllegalWrite }

func (c *Conn) checkWrite(h frame.Header) error {
	if h.RSV&^c.rsv == 0 && !h.Opcode.IsReserved() && (h.Opcode.IsData() || h.Fin && h.Length <= frame.MaxControlPayload) {
		return nil
	}
	return c.illegalWrite(h)
}

// illegalWrite is the *IllegalWriteError for h, which checkWrite found
// breaks a rule, or nil. Apart from checkWrite, so that the rules' texts
// are not in the code every write runs through.
func (c *Conn) illegalWrite(h frame.Header) error {
	var rule string
	switch {
	case h.Opcode.IsReserved():
		rule = "opcode 0x" + strconv.FormatUint(uint64(h.Opcode), 16) + " is reserved for future use (Section 5.2)"
	case h.RSV&^c.rsv != 0:
		rule = (h.RSV &^ c.rsv).String() + " set, but no negotiated extension owns it (Section 5.2; Options.AllowedRSV is " + c.rsv.String() + ")"
	case h.Opcode.IsControl() && !h.Fin:
		rule = "a " + h.Opcode.String() + " frame is a control frame, which must not be fragmented (FIN set; Section 5.5)"
	case h.Opcode.IsControl() && h.Length > frame.MaxControlPayload:
		rule = "a " + h.Opcode.String() + " frame's payload of " + strconv.FormatInt(h.Length, 10) + " bytes is longer than the 125 a control frame may carry (Section 5.5)"
	default:
		return nil
	}
	return &IllegalWriteError{Header: h, Rule: rule}
}

// writeFrame writes header and payload, returning how many bytes went out.
func (c *Conn) writeFrame(h frame.Header, p []byte) (int, error) {
	size := h.Size() + len(p)
	bp := pool.Get(min(size, int(c.opts.writeBuf)))
	defer pool.Put(bp)
	buf := (*bp)[:0]
	buf = frame.AppendHeader(buf, h)
	if !h.Masked {
		if size <= cap(buf) {
			return c.out(append(buf, p...), nil)
		}
		// Large unmasked payload: one writev, no copy.
		return c.out(buf, p)
	}
	// Masked: mask into the buffer chunk by chunk, never into p.
	written := 0
	pos := 0
	for {
		k := copy(buf[len(buf):cap(buf)], p)
		chunk := buf[len(buf) : len(buf)+k]
		pos = frame.Mask(h.Mask, pos, chunk)
		buf = buf[:len(buf)+k]
		p = p[k:]
		n, err := c.out(buf, nil)
		written += n
		if err != nil {
			return written, err
		}
		if len(p) == 0 {
			return written, nil
		}
		buf = buf[:0]
	}
}

// WriteBufferSize returns the size of the buffer frames are written
// through; a message writer sends a frame each time it fills one.
func (c *Conn) WriteBufferSize() int { return int(c.opts.writeBuf) }
