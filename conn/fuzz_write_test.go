package conn_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// sinkConn is the session's side of a connection whose peer reads
// everything and sends nothing: writes are kept in out, reads wait until
// the connection is closed or their deadline passes. Deadlines work as on
// a socket, so that raw's contexts interrupt blocked reads and writes.
//
// A write that reaches an offset of out listed in stalls writes up to it
// and then stalls, as to a peer that stopped reading for a while: until
// its write deadline passes (it returns what it wrote and a timeout) or
// stallFor has gone by (it goes on).
type sinkConn struct {
	mu       sync.Mutex
	out      []byte
	stalls   []int // offsets of out, increasing
	closed   bool
	rdl, wdl time.Time
	kick     chan struct{} // closed, and replaced, when a deadline or closed changes
}

const stallFor = 10 * time.Millisecond

func newSinkConn(stalls []int) *sinkConn {
	return &sinkConn{stalls: stalls, kick: make(chan struct{})}
}

// changed wakes every waiter; under mu.
func (c *sinkConn) changed() {
	close(c.kick)
	c.kick = make(chan struct{})
}

// wait waits, under mu, until the connection is closed, the deadline
// dl returns has passed, or until; it reports why it stopped.
func (c *sinkConn) wait(dl func() time.Time, until time.Time) error {
	for {
		if c.closed {
			return net.ErrClosed
		}
		now := time.Now()
		d := dl()
		if !d.IsZero() && !now.Before(d) {
			return os.ErrDeadlineExceeded
		}
		if !until.IsZero() && !now.Before(until) {
			return nil
		}
		next := until
		if next.IsZero() || !d.IsZero() && d.Before(next) {
			next = d
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			t := time.NewTimer(next.Sub(now))
			defer t.Stop()
			timer = t.C
		}
		kick := c.kick
		c.mu.Unlock()
		select {
		case <-kick:
		case <-timer:
		}
		c.mu.Lock()
	}
}

func (c *sinkConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return 0, c.wait(func() time.Time { return c.rdl }, time.Time{})
}

func (c *sinkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	wdl := func() time.Time { return c.wdl }
	n := 0
	for {
		if c.closed {
			return n, net.ErrClosed
		}
		if !c.wdl.IsZero() && !time.Now().Before(c.wdl) {
			return n, os.ErrDeadlineExceeded
		}
		if len(c.stalls) > 0 && c.stalls[0] < len(c.out) {
			c.stalls = c.stalls[1:]
			continue
		}
		k := len(p) - n
		if len(c.stalls) > 0 && c.stalls[0] < len(c.out)+k {
			k = c.stalls[0] - len(c.out)
		}
		c.out = append(c.out, p[n:n+k]...)
		n += k
		if n == len(p) {
			return n, nil
		}
		c.stalls = c.stalls[1:]
		if err := c.wait(wdl, time.Now().Add(stallFor)); err != nil {
			return n, err
		}
	}
}

func (c *sinkConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.changed()
	return nil
}

func (c *sinkConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *sinkConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl = t
	c.changed()
	return nil
}

func (c *sinkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = t
	c.changed()
	return nil
}

func (c *sinkConn) LocalAddr() net.Addr  { return scriptAddr{} }
func (c *sinkConn) RemoteAddr() net.Addr { return scriptAddr{} }

func (c *sinkConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out)
}

// writeOp is one call FuzzWritePath made that sends a message, and how it
// ended. Its message's payload is made of the byte fill only. A size of
// -1 records a Close.
type writeOp struct {
	fill byte
	size int   // payload bytes written
	err  error // what the call (for a Writer, its Close) returned
}

// wireModel is RFC 6455's rules for the stream an endpoint sends
// (Sections 5.1-5.5, 5.5.1, 7.4), with RFC 7692's for the RSV1 bit,
// written apart from frame and raw to check them.
type wireModel struct {
	client   bool // the sender is a client: every frame is masked
	compress bool // permessage-deflate: RSV1 may be set on a message's first frame

	msgs     [][]byte // whole data messages, as sent (compressed or not)
	open     []byte   // the message in progress, if inMsg
	inMsg    bool
	closed   bool // a close frame went out
	cutShort bool // the stream ends inside a frame
}

// parse checks out frame by frame and returns the first rule it breaks.
func (m *wireModel) parse(out []byte) error {
	for len(out) > 0 {
		if len(out) < 2 {
			m.cutShort = true
			return nil
		}
		b0, b1 := out[0], out[1]
		fin, rsv, op := b0&0x80 != 0, b0&0x70, b0&0x0F
		masked, n := b1&0x80 != 0, uint64(b1&0x7F)
		hlen := 2
		switch n {
		case 126:
			hlen += 2
		case 127:
			hlen += 8
		}
		if masked {
			hlen += 4
		}
		if len(out) < hlen {
			m.cutShort = true
			return nil
		}
		switch n {
		case 126:
			n = uint64(binary.BigEndian.Uint16(out[2:]))
			if n < 126 {
				return fmt.Errorf("length %d in a 16-bit field", n)
			}
		case 127:
			n = binary.BigEndian.Uint64(out[2:])
			if n < 1<<16 || n>>63 != 0 {
				return fmt.Errorf("length %d in a 64-bit field", n)
			}
		}
		if masked != m.client {
			return fmt.Errorf("frame masked %v from a client %v", masked, m.client)
		}
		if uint64(len(out)-hlen) < n {
			m.cutShort = true
			return nil
		}
		p := bytes.Clone(out[hlen : hlen+int(n)])
		if masked {
			key := out[hlen-4 : hlen]
			for i := range p {
				p[i] ^= key[i%4]
			}
		}
		out = out[hlen+int(n):]

		control := op >= 8
		switch {
		case op >= 3 && op <= 7 || op >= 0xB:
			return fmt.Errorf("reserved opcode %#x", op)
		case control && (!fin || n > 125):
			return fmt.Errorf("control frame %#x fin %v, %d bytes", op, fin, n)
		case rsv != 0 && !(m.compress && rsv == 0x40 && (op == 1 || op == 2)):
			return fmt.Errorf("RSV bits %#x on opcode %#x", rsv, op)
		case !control && m.closed:
			return fmt.Errorf("data frame %#x after the close frame", op)
		case op == 0 && !m.inMsg:
			return errors.New("continuation frame with no message open")
		case (op == 1 || op == 2) && m.inMsg:
			return errors.New("new data message inside another")
		}
		switch op {
		case 8:
			if m.closed {
				return errors.New("a second close frame")
			}
			m.closed = true
			if len(p) == 1 {
				return errors.New("close frame with a 1-byte payload")
			}
			if len(p) >= 2 {
				code := frame.StatusCode(binary.BigEndian.Uint16(p))
				if !code.ValidOnWire() {
					return fmt.Errorf("close code %d, which may not be sent", code)
				}
			}
		case 0, 1, 2:
			if op != 0 {
				m.inMsg, m.open = true, nil
			}
			m.open = append(m.open, p...)
			if fin {
				m.msgs = append(m.msgs, m.open)
				m.inMsg, m.open = false, nil
			}
		}
	}
	return nil
}

// FuzzWritePath drives the write side of a Default session from several
// goroutines at once: Write, Writer streaming a message over several
// frames, stale Writer handles, WritePrepared, Ping and Close, under
// contexts that are live, already cancelled, expiring or cancelled in
// the middle of a message, to a peer that stalls now and then. What the
// peer receives must follow RFC 6455 (wireModel): every frame whole
// unless the connection broke, masking right for the role, no message
// started inside another, no data frame after the close frame, control
// frames whole and short, close codes that may be sent. And each call
// must keep its promise: a stale handle returns ErrWriterClosed, a done
// context sends nothing and returns ctx.Err(), and a message whose call
// returned nil is on the wire, whole, once.
//
// data[0]: bit 0 the session is the client, bit 1 permessage-deflate,
// bits 2-7 k: the peer stalls every k*97 bytes, eight times. The other
// bytes are the calls, dealt round-robin to three goroutines: op = b&7,
// a = b>>3 (see writeCall).
func FuzzWritePath(f *testing.F) {
	op := func(o, a byte) byte { return o | a<<3 }
	seeds := []struct {
		flags byte
		ops   []byte
	}{
		// #13.6: a stale handle used while another goroutine streams.
		{0, []byte{op(2, 16), op(1, 20), op(1, 24), op(2, 20), op(2, 12), op(1, 20)}},
		// #13.7: writes under a context already cancelled, beside live ones.
		{1, []byte{op(7, 0), op(0, 18), op(7, 9), op(0, 22), op(5, 18), op(7, 4)}},
		// #13.5: a Writer streaming while another goroutine closes.
		{0, []byte{op(1, 28), op(4, 0), op(1, 24), op(1, 28), op(0, 20), op(1, 28)}},
		{1, []byte{op(1, 28), op(4, 2), op(6, 28), op(1, 28), op(3, 1), op(0, 24)}},
		// #13.4: a Writer cancelled after its first frame, then Writes.
		{0, []byte{op(6, 28), op(3, 1), op(3, 2), op(0, 20), op(0, 20), op(0, 20)}},
		// #13.4 with the final frame waiting for a stalled frame lock.
		{1 << 2, []byte{op(6, 29), op(1, 29), op(3, 1), op(0, 21), op(0, 21), op(5, 21)}},
		// #13.12: Close with codes that may not be sent.
		{0, []byte{op(4, 2), op(0, 20), op(1, 20)}},
		{1, []byte{op(4, 6), op(4, 4), op(0, 20)}},
		// #13.4: a Writer's next frame waits, under a context that
		// expires, for the frame lock a stalled Write holds.
		{3 << 2, []byte{op(1, 25), op(0, 28), op(0, 28), op(0, 24), op(0, 28), op(0, 28), op(0, 24), op(0, 28), op(0, 28)}},
		{5 << 2, []byte{op(1, 29), op(0, 28), op(3, 0), op(0, 24), op(0, 28), op(0, 28), op(1, 25), op(0, 28), op(0, 28)}},
		{1<<2 | 1, []byte{op(1, 25), op(0, 24), op(0, 28), op(0, 24), op(0, 24), op(0, 28), op(0, 24), op(0, 24), op(0, 28)}},
		// #13.5: Close between the frames of streamed messages.
		{0, []byte{op(1, 28), op(0, 4), op(0, 4), op(1, 28), op(4, 0), op(0, 4), op(1, 28), op(0, 4), op(0, 4)}},
		{1, []byte{op(1, 24), op(3, 1), op(0, 4), op(1, 24), op(4, 0), op(0, 4), op(1, 24), op(0, 4), op(0, 4)}},
		// Compressed.
		{2, []byte{op(1, 28), op(0, 20), op(6, 28), op(2, 24), op(4, 0), op(5, 20)}},
		{3 | 2<<2, []byte{op(1, 29), op(0, 25), op(6, 29), op(7, 0), op(3, 3), op(1, 29)}},
		// Expiring contexts and a peer that stalls often.
		{1 << 2, []byte{op(0, 29), op(1, 29), op(5, 29), op(0, 31), op(1, 31), op(5, 31), op(4, 0)}},
	}
	for _, s := range seeds {
		f.Add(append([]byte{s.flags}, s.ops...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > 1+3*40 {
			return
		}
		base := runtime.NumGoroutine()
		checkWritePath(t, data[0], data[1:])
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// writeSizes are the payload sizes a call writes: around the 512-byte
// write buffer, and over several of them.
var writeSizes = [8]int{0, 1, 125, 300, 511, 512, 1500, 5000}

// checkWritePath runs FuzzWritePath's input.
func checkWritePath(t *testing.T, flags byte, calls []byte) {
	client, compress := flags&1 != 0, flags&2 != 0
	var stalls []int
	if k := int(flags >> 2); k > 0 {
		for s := k * 97; len(stalls) < 8; s += k * 97 {
			stalls = append(stalls, s)
		}
	}
	role := raw.Server
	if client {
		role = raw.Client
	}
	var header string
	var agreed []extension.Agreed
	if compress {
		x := []extension.Extension{deflate.New(&deflate.Options{Threshold: 1})}
		var srv, cli []extension.Agreed
		var err error
		header, srv, err = extension.Negotiate(x, extension.Offers(x))
		if err == nil {
			cli, err = extension.Confirm(x, header)
		}
		if err != nil || len(srv) != 1 || len(cli) != 1 {
			t.Fatalf("permessage-deflate not agreed: %q, %v", header, err)
		}
		agreed = srv
		if client {
			agreed = cli
		}
	}
	sc := newSinkConn(stalls)
	res := &handshake.Result{Conn: sc, Extensions: header}
	c := conn.NewFromResult(res, role, agreed, &conn.Options{CloseTimeout: 10 * time.Millisecond, WriteBufferSize: 512})

	var mu sync.Mutex
	var ops []writeOp
	// Whether the stream may end inside a frame: some call reported it
	// broken, or Close ended TCP, after CloseTimeout, under a write that
	// a stall held up.
	var broken bool
	record := func(o writeOp) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, o)
		if errors.Is(o.err, raw.ErrBroken) || o.size < 0 {
			broken = true
		}
	}
	var wg sync.WaitGroup
	for g := range 3 {
		var script []byte
		for i := g; i < len(calls); i += 3 {
			script = append(script, calls[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stale io.WriteCloser
			for i, b := range script {
				fill := byte(1 + g + 3*i) // one byte per call: at most 121 of them
				if err := writeCall(c, b, fill, &stale, record); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c.CloseNow()

	m := &wireModel{client: client, compress: compress}
	if err := m.parse(sc.written()); err != nil {
		t.Fatalf("the peer received a stream that breaks RFC 6455: %v", err)
	}
	if m.cutShort && !broken {
		t.Fatal("the stream ends inside a frame, but no call reported the connection broken, nor closed it")
	}
	if compress {
		return // the payloads are compressed: the model does not decode them
	}
	seen := map[byte]int{}
	for _, p := range m.msgs {
		if len(p) == 0 {
			continue
		}
		if bytes.Count(p, p[:1]) != len(p) {
			t.Fatalf("a message mixes the payloads of several calls: % x...", p[:min(len(p), 16)])
		}
		seen[p[0]]++
		for _, o := range ops {
			if o.fill == p[0] && o.size != len(p) {
				t.Fatalf("call %d wrote %d bytes, the peer got a message of %d", o.fill, o.size, len(p))
			}
		}
	}
	for _, o := range ops {
		if o.err == nil && o.size > 0 && seen[o.fill] != 1 {
			t.Fatalf("call %d returned nil, but its message reached the peer %d times", o.fill, seen[o.fill])
		}
		if seen[o.fill] > 1 {
			t.Fatalf("call %d's message reached the peer %d times", o.fill, seen[o.fill])
		}
	}
	if m.inMsg && len(m.open) > 0 {
		for _, o := range ops {
			if o.fill == m.open[0] && o.err == nil {
				t.Fatalf("call %d returned nil, but left its message open", o.fill)
			}
		}
	}
}

// callCtx returns the context a call runs under, by a&3: none, one that
// expires within a few milliseconds, one already cancelled, or one that
// expires within a millisecond.
func callCtx(a byte) (context.Context, context.CancelFunc) {
	switch a & 3 {
	case 1:
		return context.WithTimeout(context.Background(), time.Duration(1+a>>2)*time.Millisecond)
	case 2:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	case 3:
		return context.WithTimeout(context.Background(), 200*time.Microsecond)
	}
	return context.WithCancel(context.Background())
}

// writeCall makes the call b says, op = b&7 and a = b>>3:
//
//	0 Write, 1 Writer with three Writes, 5 WritePrepared: a message of
//	  writeSizes[a>>2&7] bytes (each Write) of fill, under callCtx(a)
//	2 the last closed Writer handle's Write and Close (a Writer as 1 if
//	  there is none yet)
//	3 Ping, under callCtx(a) but never with no deadline
//	4 Close with a code, by a&7, that may or may not be sent
//	6 Writer whose context is cancelled after its first Write
//	7 Write under a context already cancelled
//
// It returns a promise the call broke.
func writeCall(c *conn.Conn, b, fill byte, stale *io.WriteCloser, record func(writeOp)) error {
	op, a := b&7, b>>3
	size := writeSizes[a>>2&7]
	p := bytes.Repeat([]byte{fill}, size)
	typ := conn.MessageBinary
	if fill < 0x80 && fill&1 == 1 {
		typ = conn.MessageText
	}
	ctx, cancel := callCtx(a)
	defer cancel()
	// A context done before the call: nothing sent, ctx.Err() returned.
	// Not only the cancelled kind: under load a context that expires
	// within 200 µs has expired by now too, and its error is
	// DeadlineExceeded.
	doneErr := ctx.Err()
	wantCancel := func(what string, err error) error {
		if doneErr != nil && !errors.Is(err, doneErr) {
			return fmt.Errorf("%s under a context done before the call (%v) returned %v", what, doneErr, err)
		}
		return nil
	}
	switch op {
	case 2:
		if *stale != nil {
			if _, err := (*stale).Write(p); !errors.Is(err, conn.ErrWriterClosed) {
				return fmt.Errorf("stale Write returned %v, want ErrWriterClosed", err)
			}
			if err := (*stale).Close(); !errors.Is(err, conn.ErrWriterClosed) {
				return fmt.Errorf("stale Close returned %v, want ErrWriterClosed", err)
			}
			return nil
		}
		fallthrough
	case 1:
		w, err := c.Writer(ctx, typ)
		if err != nil {
			record(writeOp{fill, 3 * size, err})
			return wantCancel("Writer", err)
		}
		for range 3 {
			w.Write(p)
		}
		err = w.Close()
		record(writeOp{fill, 3 * size, err})
		*stale = w
		return wantCancel("Writer", err)
	case 3:
		if a&3 == 0 {
			ctx, cancel = context.WithTimeout(ctx, time.Millisecond)
			defer cancel()
		}
		err := c.Ping(ctx)
		if errors.Is(err, raw.ErrBroken) {
			// Its context ended the ping inside its frame, held up by a
			// stall: the stream may end there.
			record(writeOp{err: err})
		}
		return wantCancel("Ping", err)
	case 4:
		codes := [8]conn.StatusCode{1000, 1001, 999, 1005, 1006, 3000, 5000, 0}
		record(writeOp{size: -1}) // Close, which ends TCP
		c.Close(codes[a&7], "fuzz")
		return nil
	case 5:
		err := c.WritePrepared(ctx, conn.NewPreparedMessage(typ, p))
		record(writeOp{fill, size, err})
		return wantCancel("WritePrepared", err)
	case 6:
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w, err := c.Writer(ctx, typ)
		if err != nil {
			record(writeOp{fill, 2 * size, err})
			return nil
		}
		w.Write(p)
		cancel()
		w.Write(p)
		err = w.Close()
		record(writeOp{fill, 2 * size, err})
		if err == nil {
			return errors.New("a Writer whose context was cancelled before Close returned nil")
		}
		return nil
	case 7:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := c.Write(ctx, typ, p)
		record(writeOp{fill, size, err})
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("Write under a cancelled context returned %v", err)
		}
		return nil
	}
	err := c.Write(ctx, typ, p)
	record(writeOp{fill, size, err})
	return wantCancel("Write", err)
}
