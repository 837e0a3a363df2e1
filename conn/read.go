package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/bufpool"
)

// messageReader reads one data message. It is reused for every message of
// a Conn, so reading allocates nothing.
type messageReader struct {
	c      *Conn
	ctx    context.Context
	typ    MessageType
	active bool // a message is open and not read to its end
	fin    bool // the current frame is the message's last
	// skip is set when a read cut short by its context stopped the
	// decoders in the middle of the message, and they may leave it
	// unfinished: its rest is discarded undecoded by the next Reader or
	// Read, and the cut reader returns its context's error meanwhile.
	skip bool
	utf8 frame.UTF8 // beside the flags, where it fits in their word
	n    int64      // bytes of the message read so far, after decoding
	wn   int64      // bytes of the message received so far, before decoding
	hint int64      // for Read: the size of a single-frame message, or -1-(first frame's size)
}

// decoder returns the head of the decoder chain for the current message
// (extState.dec), nil when no decoder took it.
func (m *messageReader) decoder() io.Reader {
	if x := m.c.ext; x != nil {
		return x.dec
	}
	return nil
}

// Reader waits for the next data message and returns its type and a
// reader for its payload, valid until the next call to Reader or Read.
// Whatever was left unread of the previous message is discarded. Control
// frames that arrive meanwhile are handled: pings answered, pongs noted,
// a close answered and returned as a *CloseError.
//
// ctx bounds this call and the reads of the returned reader. A read that
// it cuts short returns ctx.Err() and leaves the connection open: the
// next Reader or Read call, with a new context, discards what is left of
// the message (or finishes the control frame that was cut) and goes on.
//
// The reader's Read that returns the last bytes of the message returns
// io.EOF with them, as io.Reader allows; later calls return 0, io.EOF.
// It is also an io.WriterTo, so io.Copy out of it copies through a pooled
// buffer instead of allocating 32 KiB for every message.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.lock(ctx, &c.readMu); err != nil {
		if err == ErrClosed {
			err = c.terminal()
		}
		return 0, nil, err
	}
	defer c.readMu.Unlock()
	if err := c.terminal(); err != nil {
		return 0, nil, err
	}
	m := &c.msg
	m.ctx = ctx
	if m.active {
		if err := m.drain(); err != nil {
			return 0, nil, err
		}
	}
	if c.cutControl() == nil {
		// Wait for the peer here, with a short stack, rather than at
		// the bottom of nextData's: a goroutine that waited deep keeps
		// a 4 KiB stack for as long as its connection idles (see
		// raw.Conn.ReadAhead). Errors other than ctx's are nextData's.
		if err := c.rc.ReadAhead(ctx); err != nil && cutByContext(ctx, err) {
			m.release()
			return 0, nil, err
		}
	}
	return c.startMessage(ctx)
}

// startMessage is the rest of Reader, once the peer has sent: it reads
// the message's first frame. It is apart from Reader, and not inlined,
// so that Reader's frame, beneath ReadAhead's wait and the read that
// ends it, holds only what comes before them (48 bytes less).
//
//go:noinline
func (c *Conn) startMessage(ctx context.Context) (MessageType, io.Reader, error) {
	m := &c.msg
	h, err := c.nextData(ctx)
	if err != nil {
		m.release()
		return 0, nil, err
	}
	m.typ = MessageType(h.Opcode)
	m.fin = h.Fin
	m.n, m.wn = 0, 0
	m.utf8.Reset()
	m.skip = false
	m.active = true
	if m.overLimit(h.Length) {
		return 0, nil, m.tooBig()
	}
	if len(c.ext.decoders()) > 0 {
		if err := m.startDecoders(h); err != nil {
			return 0, nil, err
		}
	}
	m.hint = c.rc.Remaining()
	if !m.fin || m.decoder() != nil {
		m.hint = -m.hint - 1
	}
	return m.typ, m, nil
}

// startDecoders runs the message through the agreed decoders, the last
// listed first (RFC 6455, Section 9.1).
func (m *messageReader) startDecoders(h frame.Header) error {
	c := m.c
	x := c.ext
	x.rmsg = extension.Message{Opcode: h.Opcode, RSV: h.RSV, Size: -1}
	x.wire.m = m
	x.wireErr = nil
	var r io.Reader = &x.wire
	for i := len(x.decs) - 1; i >= 0; i-- {
		rc, err := x.decs[i].Decode(r, &x.rmsg)
		if err != nil {
			m.closeDecoders()
			return c.fail(m.ctx, decoderFailure(StatusInternalError, err))
		}
		if rc != nil {
			x.rclosers = append(x.rclosers, rc)
			r = rc
		}
	}
	if len(x.rclosers) > 0 {
		x.dec = r
	}
	return nil
}

func (m *messageReader) closeDecoders() {
	x := m.c.ext
	if x == nil {
		return
	}
	x.dec = nil
	for i := len(x.rclosers) - 1; i >= 0; i-- {
		x.rclosers[i].Close()
		x.rclosers[i] = nil
	}
	x.rclosers = x.rclosers[:0]
}

// discardBufSize is the size of the pooled buffer that discarded data
// passes through.
const discardBufSize = 4096

// drain discards the rest of an unfinished message.
func (m *messageReader) drain() error {
	if !m.active {
		return nil
	}
	buf := bufpool.Default.Get(discardBufSize)
	defer bufpool.Default.Put(buf)
	for m.active {
		if m.c.rc.Buffered() == 0 {
			m.readAhead(*buf)
		}
		if _, err := m.read(*buf); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// readAhead makes the wait for the peer that read(p) is about to make,
// with nothing buffered, and the read that ends it, at this depth rather
// than beneath read's frames (see raw's ReadAheadInto and ReadAhead), as
// Reader makes the wait for a message: for the rest of a frame's payload,
// and for the next frame of a fragmented message. It waits only when
// read would: not with a decoder, which may have output without more
// input, nor at the message's end. An error is read's to report.
func (m *messageReader) readAhead(p []byte) {
	c := m.c
	if len(p) == 0 || !m.active || m.skip || m.decoder() != nil || c.cutControl() != nil {
		return
	}
	if c.rc.Remaining() > 0 {
		c.rc.ReadAheadInto(m.ctx, p)
	} else if !m.fin {
		c.rc.ReadAhead(m.ctx)
	}
}

// overLimit applies the read limit to the received size of the message
// with its next frame; the decoded size is checked as it is read. A
// message over it fails the connection with tooBig.
func (m *messageReader) overLimit(frameLen int64) bool {
	l := m.c.opts.ReadLimit
	return l > 0 && m.wn+frameLen > l
}

func (m *messageReader) tooBig() error { return m.c.fail(m.ctx, frame.ErrMessageTooBig) }

func (m *messageReader) Read(p []byte) (int, error) {
	c := m.c
	if !c.readMu.TryLock() {
		if err := m.lockRead(); err != nil {
			return 0, err
		}
	} else if m.skip {
		c.readMu.Unlock()
		return 0, m.ctx.Err() // see lockRead
	}
	defer c.readMu.Unlock()
	if c.rc.Buffered() == 0 {
		m.readAhead(p)
	}
	n, err := m.read(p)
	if err == io.EOF {
		m.release()
	}
	return n, err
}

// lockRead takes the read lock for a Read of the message, and keeps it
// only when the message may be read. Read makes its uncontended case
// itself, inline.
func (m *messageReader) lockRead() error {
	c := m.c
	if err := c.lock(m.ctx, &c.readMu); err != nil {
		if err == ErrClosed {
			err = c.terminal()
		}
		return err
	}
	if m.skip {
		// m.ctx is still the context that cut the message: the next
		// Reader or Read call renews it, and discards the rest.
		c.readMu.Unlock()
		return m.ctx.Err()
	}
	return nil
}

// copyBufMax bounds the pooled buffer WriteTo copies through: io.Copy's
// own size.
const copyBufMax = 32 << 10

// WriteTo writes the rest of the message to w, so that io.Copy out of a
// message needs no buffer of its own (it would make 32 KiB for every
// message otherwise). The bytes pass through a pooled buffer no larger
// than the rest of a single-frame message; a message already read to its
// end takes none. Errors are Read's, or w's.
func (m *messageReader) WriteTo(w io.Writer) (int64, error) {
	size, err := m.copySize()
	if size == 0 {
		return 0, err
	}
	bp := bufpool.Default.Get(size)
	defer bufpool.Default.Put(bp)
	buf := (*bp)[:size]
	var total int64
	for {
		n, err := m.Read(buf)
		if n > 0 {
			k, werr := w.Write(buf[:n])
			total += int64(k)
			if werr == nil && k < n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// copySize is the size of WriteTo's buffer: 0 when the message has been
// read to its end (or cannot be read: then with the error).
func (m *messageReader) copySize() (int, error) {
	if err := m.lockRead(); err != nil {
		return 0, err
	}
	defer m.c.readMu.Unlock()
	switch {
	case !m.active:
		return 0, nil
	case m.hint < 0 || m.decoder() != nil:
		return copyBufMax, nil
	}
	// One frame, as received: what is left of it, and at least one
	// byte, for the read that returns io.EOF.
	return int(min(max(m.hint-m.n, 1), copyBufMax)), nil
}

// release drops the reference to the context of a message read to its
// end, so that an idle connection does not keep it (and its timer, for a
// context with a deadline) alive.
func (m *messageReader) release() { m.ctx = context.Background() }

// wireRead reads the payload of the current message as it was received,
// across its frames, and returns io.EOF at its end.
func (m *messageReader) wireRead(p []byte) (int, error) {
	c := m.c
	for {
		// With a control frame cut short pending, the frame raw is in is
		// that control frame, whose payload nextData finishes first.
		if c.rc.Remaining() == 0 || c.cutControl() != nil {
			if m.fin {
				return 0, io.EOF
			}
			h, err := c.nextData(m.ctx)
			if err != nil {
				return 0, err
			}
			if h.RSV != 0 {
				// Extensions set their bits on the first frame of a
				// message only (RFC 7692, Section 6.1).
				return 0, c.fail(m.ctx, frame.ErrReservedBits)
			}
			m.fin = h.Fin
			if m.overLimit(h.Length) {
				return 0, m.tooBig()
			}
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		// The message's context, which a Reader call after a cancelled
		// read has renewed, not the one its frame was begun with.
		n, err := c.rc.ReadContext(m.ctx, p)
		if n > 0 {
			m.wn += int64(n)
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, c.fail(m.ctx, err)
		}
	}
}

// read is Read with the read lock held.
func (m *messageReader) read(p []byte) (int, error) {
	c := m.c
	if !m.active {
		return 0, io.EOF
	}
	if m.decoder() != nil {
		return m.readDecoded(p)
	}
	if m.skip {
		// The undecoded rest of a message left unfinished: discarded.
		_, err := m.wireRead(p)
		if err == io.EOF {
			m.active = false
		}
		return 0, err
	}
	n, err := m.wireRead(p)
	if err == io.EOF {
		m.active = false
		if m.typ == MessageText && !m.utf8.Done() {
			return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
		}
		m.observeIn()
		return 0, io.EOF
	}
	if err != nil {
		return 0, err
	}
	if n > 0 {
		m.n += int64(n)
		if m.typ == MessageText && !m.utf8.Write(p[:n]) {
			return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
		}
		if m.fin && c.rc.Remaining() == 0 {
			// The message's last bytes come with io.EOF, as io.Reader
			// allows: a caller reading to the end (io.ReadAll,
			// bytes.Buffer.ReadFrom) need not come back for it.
			m.active = false
			if m.typ == MessageText && !m.utf8.Done() {
				return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
			}
			m.observeIn()
			return n, io.EOF
		}
	}
	return n, nil
}

// readDecoded reads a message through its decoders. The read limit
// applies to what they return, as they return it, so that a decompression
// bomb stops at the limit with 1009 and never sits whole in memory.
func (m *messageReader) readDecoded(p []byte) (int, error) {
	c := m.c
	l := c.opts.ReadLimit
	if l > 0 && int64(len(p)) > l-m.n+1 {
		p = p[:l-m.n+1]
	}
	n, err := c.ext.dec.Read(p)
	if n > 0 {
		m.n += int64(n)
		if l > 0 && m.n > l {
			m.end()
			return 0, c.fail(m.ctx, frame.ErrMessageTooBig)
		}
		if m.typ == MessageText && !m.utf8.Write(p[:n]) {
			m.end()
			return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// Anything received past the end of the decoded message (after
		// a final deflate block, say) is discarded.
		x := c.ext
		if x.wireErr == nil {
			buf := bufpool.Default.Get(discardBufSize)
			for x.wireErr == nil {
				if _, err := x.wire.Read(*buf); err != nil {
					break
				}
			}
			bufpool.Default.Put(buf)
		}
		if x.wireErr != nil {
			return 0, m.decodeError(x.wireErr)
		}
		m.end()
		if m.typ == MessageText && !m.utf8.Done() {
			return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
		}
		m.observeIn()
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	return 0, m.decodeError(err)
}

// canSkip reports whether every decoder may leave the current message
// unfinished.
func (m *messageReader) canSkip() bool {
	for _, d := range m.c.ext.decoders() {
		if s, ok := d.(extension.MessageSkipper); !ok || !s.CanSkip() {
			return false
		}
	}
	return true
}

// end ends the current message and releases its decoders.
func (m *messageReader) end() {
	m.active = false
	m.closeDecoders()
}

// decodeError handles an error from a decoder. One that came from the
// received frames was handled when it happened, except for a cancelled
// context, which may have stopped a decoder in the middle of its input:
// if every decoder may leave the message unfinished
// (extension.MessageSkipper), the rest of it is skipped and the
// connection goes on, as without extensions; otherwise the decoders
// cannot resume, and the connection is broken (1006, wrapping the
// context's error). Any other error is the decoder's verdict on the data:
// 1007 unless it is a *ProtocolError with its own code.
func (m *messageReader) decodeError(err error) error {
	c := m.c
	if werr := c.ext.wireErr; werr != nil && cutByContext(m.ctx, werr) && c.terminal() == nil && m.canSkip() {
		m.closeDecoders()
		m.skip = true
		return werr
	}
	m.end()
	if t := c.terminal(); t != nil {
		return t
	}
	if werr := c.ext.wireErr; werr != nil {
		c.shutdown()
		return c.setTerminal(fmt.Errorf("%w: a read cut short in the middle of a compressed message cannot resume: %w", &CloseError{Code: StatusAbnormalClosure}, werr))
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		return c.fail(m.ctx, decoderFailure(StatusInvalidFramePayloadData, err))
	}
	return c.fail(m.ctx, pe)
}

// decoderFailure is the error of a decoder that failed with err, which is
// not a *ProtocolError: the close frame gets code and a generic reason
// (fail sends the reason of the *ProtocolError it finds), since err's text
// is the decoder's internals, not the peer's business; the local error
// wraps err and shows its text.
func decoderFailure(code StatusCode, err error) error {
	reason := "extension could not decode the message"
	if code == StatusInternalError {
		reason = "extension failed"
	}
	return fmt.Errorf("%w: %w", &ProtocolError{Code: code, Reason: reason}, err)
}

// wireReader is the received payload of the current message, as the last
// decoder reads it.
type wireReader struct{ m *messageReader }

func (w *wireReader) Read(p []byte) (int, error) {
	n, err := w.m.wireRead(p)
	if err != nil && err != io.EOF {
		w.m.c.ext.wireErr = err
	}
	return n, err
}

// Read reads the next whole data message. It is Reader followed by reading
// to the end; the returned slice is the caller's.
//
// Memory grows with the bytes that arrive, not with the length a header
// announces: Read takes at most 64 KiB before a message's payload comes,
// then chunks that double what came, and joins them once. A message
// refused at ReadLimit has cost at most ReadLimit; one of up to 64 KiB in
// one frame, one allocation of its size; a larger one that fits, up to
// twice its size while it is joined (1.5 times when one frame carries it).
// Reader costs none of this.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	return c.readAll(typ, r.(*messageReader), nil, true)
}

// AppendRead is Read that appends the message to dst and returns the
// extended slice, so that a caller who reuses dst (dst[:0]) reads without
// allocating once dst has grown to its messages' size. It takes room as
// Read does, except that it fills dst's spare capacity first.
func (c *Conn) AppendRead(ctx context.Context, dst []byte) (MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	return c.readAll(typ, r.(*messageReader), dst, false)
}

// firstChunk is the most that Read and AppendRead reserve for a message
// before its payload arrives. A message of up to firstChunk bytes in one
// frame gets one allocation of its exact size; a longer one, or one whose
// size its first frame does not tell, grows with what arrives, so that a
// peer must send the bytes it makes this end hold. 64 KiB covers the
// messages most applications send, and is less than the kernel already
// buffers for a connection.
const firstChunk = 64 << 10

// readAll is the rest of Read and AppendRead once Reader has returned m:
// it reads the message to its end, into room for it or into dst's spare
// capacity, and what does not fit there with readChunks.
//
// Reader is called from Read and AppendRead themselves, and readChunks
// apart, because a goroutine's stack keeps the largest size it ever
// needed while its connection idles (the collector halves it only when
// less than a quarter is in use): with Reader's wait for the next
// message beneath one frame of over 700 bytes, every goroutine that read
// with Read kept 4 KiB, where a Reader's keeps 2 KiB.
func (c *Conn) readAll(typ MessageType, m *messageReader, dst []byte, exact bool) (MessageType, []byte, error) {
	// The hint was taken under the read lock, which Close may hold now.
	size := m.hint // of a single-frame message, else -1-(first frame's size)
	b := dst
	switch {
	case size >= 0 && size <= firstChunk:
		if exact && b == nil {
			b = make([]byte, 0, size)
		} else {
			b = slices.Grow(b, int(size))
		}
	case b == nil:
		n := int64(firstChunk)
		if size < 0 {
			n = min(-size*2+512, n)
		}
		b = make([]byte, 0, n)
	}
	for len(b) < cap(b) {
		n, err := m.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return typ, b, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
	return c.readChunks(typ, m, dst, b, exact, size)
}

// readChunks is readAll once b is full and the message has not ended.
//
//go:noinline
func (c *Conn) readChunks(typ MessageType, r io.Reader, dst, b []byte, exact bool, size int64) (MessageType, []byte, error) {
	// The message goes into b's spare room, then into chunks that double
	// what was received, each kept until the end: no buffer is copied and
	// dropped on the way, so a message refused at the limit has cost at
	// most the limit. A message that took chunks is copied out once: at
	// its end, or, when its size is known, in place of its last chunk.
	var arr [8][]byte               // room for the chunks of up to 8 MiB, on the stack
	chunks := arr[:0]               // b, then the chunks, while there are any
	got := int64(len(b) - len(dst)) // bytes of the message read
	for {
		if len(b) == cap(b) {
			// Full: find out whether the message has ended before
			// taking room for nothing.
			if _, err := r.Read(b[len(b):]); err == io.EOF {
				break
			} else if err != nil {
				return 0, nil, err
			}
			chunks = append(chunks, b)
			if n := chunkSize(got, size, c.opts.ReadLimit); got+n != size {
				b = make([]byte, 0, n)
			} else {
				b = join(chunks, dst, exact, size)
				chunks = chunks[:0]
			}
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		got += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	if len(chunks) > 0 {
		b = join(append(chunks, b), dst, exact, got)
	}
	return typ, b, nil
}

// join returns the chunks of a message joined, with room for the whole
// message of size bytes: a new slice for Read (exact), dst grown and
// appended to for AppendRead, of which chunks[0] begins with dst.
func join(chunks [][]byte, dst []byte, exact bool, size int64) []byte {
	var b []byte
	if exact {
		b = make([]byte, 0, size)
	} else {
		b = slices.Grow(chunks[0], int(size)-(len(chunks[0])-len(dst)))
		chunks = chunks[1:]
	}
	for _, p := range chunks {
		b = append(b, p...)
	}
	return b
}

// chunkSize returns the size of the next chunk of a message of which got
// bytes were read: as much again, but no more than the rest of a message
// whose size is known (size >= 0), nor than one byte past the read limit
// l, so that the chunks of a message refused at the limit add up to no
// more than it.
func chunkSize(got, size, l int64) int64 {
	n := max(got, firstChunk)
	if size >= 0 {
		n = min(n, size-got)
	}
	if l > 0 {
		n = min(n, l-got+1)
	}
	return max(n, 1)
}
