package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Conn is one TLS connection speaking HTTP/2 that carries WebSockets as
// extended CONNECT streams (RFC 8441), driven with golang.org/x/net/http2's
// Framer. Two goroutines own it: the reader parses every frame and the
// WebSocket echoes in them; the writer owns the socket's writes, and sends
// queued messages as far as the server's flow-control windows allow. The
// reader never writes, so a server slow to read cannot stall it.
//
// The client gives the server windows of 1 GiB and tops them up from the
// reader, so the server never waits for flow control; it honours the
// server's windows and maximum frame size in turn.
type H2Conn struct {
	nc      net.Conn
	fr      *http2.Framer
	bw      *bufio.Writer
	streams []*h2Stream

	sendq chan *h2Stream // streams with a message to send; cap len(streams)
	wake  chan struct{}  // cap 1: a window opened or a control frame waits
	done  chan struct{}  // closed by Close
	wg    sync.WaitGroup // reader and writer

	mu       sync.Mutex
	ctrl     []func(*http2.Framer) error // control frames for the writer
	sendWin  int64                       // connection send window
	maxFrame int                         // server's SETTINGS_MAX_FRAME_SIZE
	run      *h2Run
	err      error // why the connection ended; set once
	opened   int   // streams answered 200
	openc    chan struct{}
	initWin  int64 // server's SETTINGS_INITIAL_WINDOW_SIZE

	recvWin int64 // connection receive window left; reader only
}

// h2Stream is one WebSocket on an H2Conn. Fields are guarded by H2Conn.mu
// except where noted.
type h2Stream struct {
	id      uint32
	idx     int
	sendWin int64
	msg     []byte // the frame being sent; set before the stream is queued
	off     int    // how much of msg is sent; writer only
	recvWin int64  // reader only
	t0      time.Time
	busy    bool // a message is out and its echo not back
	opened  bool
	p       wsParser // reader only
}

// h2Run is what a run does with each echo.
type h2Run struct {
	m     *Message
	st    *runState // nil when checking
	check bool
	left  sync.WaitGroup // streams with an echo still to come
}

const (
	h2Window     = 1 << 30 // the client's receive windows
	h2MaxFrame   = 1 << 20 // the largest frame the client reads
	h2ReadBuffer = 64 << 10
)

// ErrNoExtendedConnect is returned by DialH2 when the server does not
// offer the extended CONNECT of RFC 8441.
var ErrNoExtendedConnect = errors.New("load: server does not offer extended CONNECT (RFC 8441); Go servers need GODEBUG=http2xconnect=1 at start")

// DialH2 connects to https://addr/ with TLS and ALPN h2 (the certificate
// is not verified: the benchmark runs on loopback) and opens streams
// WebSockets on the connection.
func DialH2(ctx context.Context, addr string, streams int, o DialOptions) (*H2Conn, error) {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := net.Dialer{}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	td := tls.Dialer{NetDialer: &d, Config: &tls.Config{NextProtos: []string{"h2"}, InsecureSkipVerify: true}}
	nc, err := td.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
		nc.Close()
		return nil, fmt.Errorf("load: server did not agree to h2 in ALPN (got %q)", p)
	}
	c := &H2Conn{
		nc:       nc,
		bw:       bufio.NewWriterSize(nc, 64<<10),
		sendq:    make(chan *h2Stream, streams),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		openc:    make(chan struct{}),
		sendWin:  65535,
		maxFrame: 16384,
		recvWin:  h2Window,
	}
	c.fr = http2.NewFramer(c.bw, bufio.NewReaderSize(nc, h2ReadBuffer))
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	err = c.start(addr, streams)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err == nil {
		select {
		case <-c.openc:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err == nil {
		c.mu.Lock()
		err = c.err
		c.mu.Unlock()
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start exchanges settings, asks for every stream, and starts the reader
// and the writer.
func (c *H2Conn) start(addr string, n int) error {
	if _, err := io.WriteString(c.bw, http2.ClientPreface); err != nil {
		return err
	}
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2MaxFrame},
	)
	c.fr.WriteWindowUpdate(0, h2Window-65535)
	if err := c.bw.Flush(); err != nil {
		return err
	}
	// RFC 8441, Section 3: a client waits for the server's SETTINGS
	// before it sends an extended CONNECT.
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("load: server's first frame is %v, not SETTINGS", f.Header().Type)
	}
	c.initWin = 65535
	maxStreams := uint32(1<<32 - 1)
	xconnect := false
	sf.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			c.initWin = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(s.Val)
		case http2.SettingMaxConcurrentStreams:
			maxStreams = s.Val
		case http2.SettingEnableConnectProtocol:
			xconnect = s.Val == 1
		}
		return nil
	})
	if !xconnect {
		return ErrNoExtendedConnect
	}
	if uint64(n) > uint64(maxStreams) {
		return fmt.Errorf("load: %d WebSockets on one connection, but the server allows %d streams", n, maxStreams)
	}
	c.fr.WriteSettingsAck()
	authority := addr
	if h, p, err := net.SplitHostPort(addr); err == nil && p == "443" {
		authority = h
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range n {
		s := &h2Stream{id: uint32(2*i + 1), idx: i, sendWin: c.initWin, recvWin: h2Window}
		c.streams = append(c.streams, s)
		hb.Reset()
		for _, f := range [][2]string{
			{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"},
			{":path", "/"}, {":authority", authority}, {"sec-websocket-version", "13"},
		} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			return err
		}
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		close(c.openc)
	}
	c.wg.Add(2)
	go c.reader()
	go c.writer()
	return nil
}

// Close closes the connection and waits for its goroutines.
func (c *H2Conn) Close() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	close(c.done)
	err := c.nc.Close()
	c.wg.Wait()
	return err
}

// Streams returns the number of WebSockets on c.
func (c *H2Conn) Streams() int { return len(c.streams) }

// fail ends the connection with err and lets every stream's run go.
func (c *H2Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.run != nil && c.run.st != nil {
		c.run.st.fail(err)
	}
	for _, s := range c.streams {
		if s.busy {
			s.busy = false
			c.run.left.Done()
		}
	}
	if c.opened < len(c.streams) {
		c.opened = len(c.streams)
		close(c.openc)
	}
	c.nc.SetDeadline(time.Unix(1, 0))
}

// control queues a control frame for the writer.
func (c *H2Conn) control(f func(*http2.Framer) error) {
	c.ctrl = append(c.ctrl, f)
	c.poke()
}

func (c *H2Conn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *H2Conn) stream(id uint32) (*h2Stream, error) {
	i := int(id-1) / 2
	if id%2 == 0 || i >= len(c.streams) {
		return nil, fmt.Errorf("load: frame for stream %d, which the client did not open", id)
	}
	return c.streams[i], nil
}

func (c *H2Conn) reader() {
	defer c.wg.Done()
	for {
		f, err := c.fr.ReadFrame()
		if err == nil {
			err = c.handle(f)
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

func (c *H2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		s, err := c.stream(f.StreamID)
		if err != nil {
			return err
		}
		if f.StreamEnded() {
			return fmt.Errorf("load: stream %d: server ended the stream", f.StreamID)
		}
		if err := s.p.feed(f.Data(), func(op byte, payload []byte) error { return c.echoed(s, op, payload) }); err != nil {
			return fmt.Errorf("load: stream %d: %w", f.StreamID, err)
		}
		// Give back what the frame took, long before the windows run out.
		n := int64(f.Length)
		c.recvWin -= n
		s.recvWin -= n
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.recvWin < h2Window/2 {
			inc := h2Window - c.recvWin
			c.recvWin = h2Window
			c.control(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, uint32(inc)) })
		}
		if s.recvWin < h2Window/2 {
			inc, id := h2Window-s.recvWin, s.id
			s.recvWin = h2Window
			c.control(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(id, uint32(inc)) })
		}
	case *http2.MetaHeadersFrame:
		s, err := c.stream(f.StreamID)
		if err != nil {
			return err
		}
		if st := f.PseudoValue("status"); st != "200" || f.StreamEnded() {
			return fmt.Errorf("load: stream %d: extended CONNECT answered with status %q", f.StreamID, st)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if s.opened {
			return fmt.Errorf("load: stream %d: a second HEADERS frame", f.StreamID)
		}
		s.opened = true
		if c.opened++; c.opened == len(c.streams) {
			close(c.openc)
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		f.ForeachSetting(func(st http2.Setting) error {
			switch st.ID {
			case http2.SettingInitialWindowSize:
				// RFC 9113, Section 6.9.2: the change applies to the
				// windows of open streams too.
				for _, s := range c.streams {
					s.sendWin += int64(st.Val) - c.initWin
				}
				c.initWin = int64(st.Val)
			case http2.SettingMaxFrameSize:
				c.maxFrame = int(st.Val)
			}
			return nil
		})
		c.control(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
	case *http2.WindowUpdateFrame:
		c.mu.Lock()
		defer c.mu.Unlock()
		if f.StreamID == 0 {
			c.sendWin += int64(f.Increment)
		} else if s, err := c.stream(f.StreamID); err != nil {
			return err
		} else {
			s.sendWin += int64(f.Increment)
		}
		c.poke()
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			c.mu.Lock()
			c.control(func(fr *http2.Framer) error { return fr.WritePing(true, data) })
			c.mu.Unlock()
		}
	case *http2.RSTStreamFrame:
		return fmt.Errorf("load: stream %d reset: %v", f.StreamID, f.ErrCode)
	case *http2.GoAwayFrame:
		return fmt.Errorf("load: server sent GOAWAY: %v %q", f.ErrCode, f.DebugData())
	}
	return nil
}

// echoed takes a whole echo received on s.
func (c *H2Conn) echoed(s *h2Stream, op byte, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.run
	if r == nil || !s.busy {
		return fmt.Errorf("a message the client did not ask for")
	}
	if op != r.m.Op {
		return fmt.Errorf("echo opcode %d, want %d", op, r.m.Op)
	}
	if r.check {
		s.busy = false
		r.left.Done()
		if !bytes.Equal(payload, r.m.Payload) {
			return fmt.Errorf("echo differs: %d bytes, want %d", len(payload), len(r.m.Payload))
		}
		return nil
	}
	now := time.Now()
	switch r.st.phase.Load() {
	case phaseMeasure:
		r.st.hist.Record(s.idx, now.Sub(s.t0))
		r.st.count.Add(1)
	case phaseStop:
		s.busy = false
		r.left.Done()
		return nil
	}
	c.send(s, now)
	return nil
}

// send queues r.m on s; c.mu is held.
func (c *H2Conn) send(s *h2Stream, now time.Time) {
	s.t0 = now
	s.busy = true
	s.msg = c.run.m.Frame
	c.sendq <- s // never blocks: a stream is queued at most once
}

func (c *H2Conn) writer() {
	defer c.wg.Done()
	var pending []*h2Stream
	for {
		select {
		case s := <-c.sendq:
			s.off = 0
			pending = append(pending, s)
		case <-c.wake:
		case <-c.done:
			return
		}
	drain:
		for {
			select {
			case s := <-c.sendq:
				s.off = 0
				pending = append(pending, s)
			default:
				break drain
			}
		}
		var err error
		if pending, err = c.write(pending); err == nil {
			err = c.bw.Flush()
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// write sends the control frames waiting and as much of the pending
// messages as the windows allow, and returns the messages not sent whole.
func (c *H2Conn) write(pending []*h2Stream) ([]*h2Stream, error) {
	c.mu.Lock()
	ctrl := c.ctrl
	c.ctrl = nil
	c.mu.Unlock()
	for _, f := range ctrl {
		if err := f(c.fr); err != nil {
			return pending, err
		}
	}
	left := pending[:0]
	for _, s := range pending {
		for s.off < len(s.msg) {
			c.mu.Lock()
			n := int64(min(len(s.msg)-s.off, c.maxFrame))
			n = min(n, c.sendWin, s.sendWin)
			if n > 0 {
				c.sendWin -= n
				s.sendWin -= n
			}
			c.mu.Unlock()
			if n <= 0 {
				break
			}
			if err := c.fr.WriteData(s.id, false, s.msg[s.off:s.off+int(n)]); err != nil {
				return pending, err
			}
			s.off += int(n)
		}
		if s.off < len(s.msg) {
			left = append(left, s)
		}
	}
	return left, nil
}

// begin starts r on every stream of c.
func (c *H2Conn) begin(r *h2Run) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.run = r
	now := time.Now()
	for _, s := range c.streams {
		r.left.Add(1)
		c.send(s, now)
	}
	return nil
}

// CheckH2 sends m once on every WebSocket of conns and checks each echo
// byte for byte.
func CheckH2(conns []*H2Conn, m *Message, timeout time.Duration) error {
	if m.Compressed {
		return errors.New("load: no permessage-deflate over HTTP/2")
	}
	r := &h2Run{m: m, check: true}
	return h2Wait(conns, r, timeout)
}

// h2Wait starts r on conns and waits for the echoes still to come.
func h2Wait(conns []*H2Conn, r *h2Run, timeout time.Duration) error {
	for _, c := range conns {
		if err := c.begin(r); err != nil {
			return err
		}
	}
	done := make(chan struct{})
	go func() { r.left.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		for _, c := range conns {
			c.fail(errors.New("load: timed out waiting for echoes"))
		}
		<-done // fail lets every stream go
	}
	for _, c := range conns {
		c.mu.Lock()
		err := c.err
		c.run = nil
		c.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// EchoH2 is Echo over HTTP/2: closed-loop round trips on every WebSocket
// of conns. Latency runs from queueing a message to its whole echo.
func EchoH2(conns []*H2Conn, m *Message, warmup, d time.Duration) Result {
	s := &runState{}
	r := &h2Run{m: m, st: s}
	var err error
	var elapsed time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(warmup)
		start := time.Now()
		s.phase.Store(phaseMeasure)
		time.Sleep(d)
		s.phase.Store(phaseStop)
		elapsed = time.Since(start)
	}()
	// Every stream stops at its first echo after the window.
	err = h2Wait(conns, r, warmup+d+10*time.Second)
	<-done
	if err != nil {
		s.fail(err)
	}
	res := Result{Count: s.count.Load(), Elapsed: elapsed, Errors: int(s.errs.Load()), Err: s.first}
	_, q := s.hist.Quantiles(0.5, 0.99)
	res.P50, res.P99 = q[0], q[1]
	return res
}

// wsParser follows the WebSocket frames of one stream across DATA frames.
type wsParser struct {
	hdr     [10]byte
	nh      int   // header bytes held
	left    int64 // payload bytes of the current frame still to come
	inFrame bool
	fin     bool
	op      byte // the message's opcode; 0 between messages
	payload []byte
}

// feed parses p and calls done for every whole data message, with its
// payload (valid only during the call).
func (w *wsParser) feed(p []byte, done func(op byte, payload []byte) error) error {
	for len(p) > 0 || (w.inFrame && w.left == 0) {
		if !w.inFrame {
			if w.nh < 2 {
				k := copy(w.hdr[w.nh:2], p)
				w.nh += k
				p = p[k:]
				if w.nh < 2 {
					return nil
				}
			}
			if w.hdr[1]&0x80 != 0 {
				return errors.New("masked frame from server")
			}
			if w.hdr[0]&0x70 != 0 {
				return errors.New("reserved bits set")
			}
			need := 2
			switch w.hdr[1] & 0x7F {
			case 126:
				need = 4
			case 127:
				need = 10
			}
			k := copy(w.hdr[w.nh:need], p)
			w.nh += k
			p = p[k:]
			if w.nh < need {
				return nil
			}
			switch need {
			case 2:
				w.left = int64(w.hdr[1] & 0x7F)
			case 4:
				w.left = int64(w.hdr[2])<<8 | int64(w.hdr[3])
			case 10:
				var l uint64
				for _, b := range w.hdr[2:10] {
					l = l<<8 | uint64(b)
				}
				if l > 1<<40 {
					return errors.New("frame too long")
				}
				w.left = int64(l)
			}
			op := w.hdr[0] & 0xF
			switch {
			case op >= 8:
				return fmt.Errorf("control frame %d from server: the HTTP/2 load client answers none", op)
			case op == 0 && w.op == 0:
				return errors.New("continuation frame outside a message")
			case op != 0 && w.op != 0:
				return errors.New("new message inside a fragmented one")
			case op != 0:
				w.op = op
				w.payload = w.payload[:0]
			}
			w.fin = w.hdr[0]&0x80 != 0
			w.inFrame, w.nh = true, 0
		}
		k := int(min(w.left, int64(len(p))))
		w.payload = append(w.payload, p[:k]...)
		w.left -= int64(k)
		p = p[k:]
		if w.left > 0 {
			return nil
		}
		w.inFrame = false
		if w.fin {
			op := w.op
			w.op = 0
			if err := done(op, w.payload); err != nil {
				return err
			}
			if cap(w.payload) > 64<<10 {
				w.payload = nil
			}
		}
	}
	return nil
}
