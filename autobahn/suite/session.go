package suite

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"time"
	"unicode/utf8"
)

type state int

const (
	stateOpen state = iota
	stateClosing
	stateClosed
)

// ExpectedClose is how a case expects the connection to end (the suite's
// expectedClose): who sends the first close frame, whether the closing
// handshake must complete, and which close codes the peer may send.
type ExpectedClose struct {
	ClosedByMe   bool  `json:"closedByMe"`
	CloseCode    []int `json:"closeCode"`
	RequireClean bool  `json:"requireClean"`
}

type expectation struct {
	verdict string
	events  []Event
}

// Session is one case run on one connection: the protocol machinery of a
// fuzzing peer (close handshake, timers, automatic pongs), the case's
// expectations, what was received, and the trace. It is the same whether
// the runner is the client (it masks what it sends) or the server.
//
// Everything a case does runs on the session's event loop: the frames the
// reader parses, the timers and the end of the connection arrive there as
// callbacks, one at a time, so that cases need no locking.
type Session struct {
	c        *Case
	opts     *Options
	isServer bool
	cc       *countConn
	br       *bufio.Reader
	w        *writer
	log      *wireLog

	evq      chan func()
	done     chan struct{}
	finished bool
	timers   []*time.Timer

	state                          state
	closedByMe                     bool
	failedByMe                     bool
	droppedByMe                    bool
	wasClean                       bool
	wasNotCleanReason              string
	wasServerConnectionDropTimeout bool
	wasCloseHandshakeTimeout       bool
	localCloseCode                 *int
	localCloseReason               *string
	remoteCloseCode                *int
	remoteCloseReason              *string
	closeTimer                     *time.Timer

	received      []Event
	expected      []expectation
	expectedClose ExpectedClose
	behavior      string
	behaviorClose string
	result        string
	resultClose   string
	suppressClose bool
	reportTime    bool
	reportRatio   bool

	onMessage func(m Message)
	onLost    []func()

	pmd      *pmdConn // permessage-deflate, when the case negotiated it
	autoFrag int      // fragment outgoing messages (compressed) to this size
	txFrames map[int]int

	start, end time.Time
}

// Message is a complete data message received from the peer.
type Message struct {
	Binary bool
	Len    int64
	Sum    [sha1.Size]byte
	Head   []byte
}

func (m Message) event() Event {
	return Event{Kind: "message", Binary: m.Binary, Len: m.Len, Sum: m.Sum, Head: m.Head}
}

func newSession(c *Case, o *Options, nc net.Conn, br *bufio.Reader, isServer bool) *Session {
	s := &Session{
		c:             c,
		opts:          o,
		isServer:      isServer,
		log:           newWireLog(),
		evq:           make(chan func(), 64),
		done:          make(chan struct{}),
		behavior:      Failed,
		behaviorClose: Failed,
		result:        "Actual events differ from any expected.",
		resultClose:   "TCP connection was dropped without close handshake",
		txFrames:      map[int]int{},
	}
	s.cc = &countConn{Conn: nc, log: s.log}
	if br == nil {
		br = bufio.NewReaderSize(s.cc, 64<<10)
	} else {
		// Bytes the handshake buffered are read first, then the counted
		// connection.
		br = bufio.NewReaderSize(io.MultiReader(bufferedPart(br), s.cc), 64<<10)
	}
	s.br = br
	s.w = newWriter(s.cc, o.linger())
	return s
}

// bufferedPart returns a reader for what br already holds.
func bufferedPart(br *bufio.Reader) io.Reader {
	b, _ := br.Peek(br.Buffered())
	return io.LimitReader(br, int64(len(b)))
}

// run plays the case to the end of the connection.
func (s *Session) run() {
	s.start = time.Now()
	go s.readLoop()
	watchdog := time.AfterFunc(s.opts.caseLimit(), func() {
		s.post(func() {
			s.wasNotCleanReason = "case did not end within the runner's time limit"
			s.drop(true)
		})
	})
	defer watchdog.Stop()
	s.post(func() {
		if s.c.Start != nil {
			s.c.Start(s)
		}
	})
	for !s.finished {
		f := <-s.evq
		f()
	}
	close(s.done)
}

// post runs f on the event loop, unless the case is over.
func (s *Session) post(f func()) {
	select {
	case s.evq <- f:
	case <-s.done:
	}
}

// after runs f on the event loop after d, unless the case is over.
func (s *Session) after(d time.Duration, f func()) *time.Timer {
	t := time.AfterFunc(d, func() { s.post(f) })
	s.timers = append(s.timers, t)
	return t
}

// ---- what cases call (on the event loop) ----

// expect adds an acceptable sequence of events and the verdict it earns.
func (s *Session) expect(verdict string, events ...Event) {
	for i := range s.expected {
		if s.expected[i].verdict == verdict {
			s.expected[i].events = events
			return
		}
	}
	if events == nil {
		events = []Event{}
	}
	s.expected = append(s.expected, expectation{verdict, events})
}

func (s *Session) expectClose(byMe, requireClean bool, codes ...int) {
	s.expectedClose = ExpectedClose{ClosedByMe: byMe, CloseCode: codes, RequireClean: requireClean}
}

// record adds an observed event (the cases' own timeout markers).
func (s *Session) record(e Event) { s.received = append(s.received, e) }

func (s *Session) open() bool { return s.state == stateOpen }

func (s *Session) enableWirelog(on bool) { s.log.setEnabled(on) }

// fr describes a frame to send, with the suite's knobs: FIN clear (more),
// reserved bits, a payload repeated to n octets, sending the encoded frame
// in chops of a given size, or on its own (sync).
type fr struct {
	op      byte
	more    bool
	rsv     byte
	payload []byte
	n       int
	chop    int
	sync    bool
}

func (s *Session) newKey() (key [4]byte) {
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	return key
}

// frame sends one frame as given, however illegal.
func (s *Session) frame(f fr) {
	if s.state == stateClosed {
		return
	}
	h := header{fin: !f.more, rsv: f.rsv, op: f.op, masked: !s.isServer}
	if h.masked {
		h.key = s.newKey()
	}
	s.txFrames[int(f.op)]++
	s.log.frame(false, f.op, 1)
	if s.log.on() {
		var maskHex, repeat, chop any
		if h.masked {
			maskHex = fmt.Sprintf("%x", h.key[:])
		}
		if f.n > 0 {
			repeat = f.n
		}
		if f.chop > 0 {
			chop = f.chop
		}
		s.log.add("TF", logText(f.payload, int64(len(f.payload))), f.op, !f.more, f.rsv, maskHex, repeat, chop, f.sync)
	}
	if f.n > 0 && f.n != len(f.payload) {
		h.length = uint64(f.n)
		pattern := f.payload
		s.w.enqueue(outItem{chop: f.chop, sync: f.sync, gen: func(emit func([]byte) error) error {
			return emitPattern(emit, h, pattern, int64(f.n), nil)
		}})
		return
	}
	h.length = uint64(len(f.payload))
	b := appendHeader(make([]byte, 0, 14+len(f.payload)), h)
	off := len(b)
	b = append(b, f.payload...)
	if h.masked {
		mask(h.key, 0, b[off:])
	}
	s.w.enqueue(outItem{b: b, chop: f.chop, sync: f.sync})
}

// emitPattern writes a frame whose payload is pattern repeated to n
// octets, in bounded pieces. buf is scratch space (nil: allocate).
func emitPattern(emit func([]byte) error, h header, pattern []byte, n int64, buf []byte) error {
	if buf == nil {
		buf = make([]byte, 0, 32<<10)
	}
	buf = appendHeader(buf[:0], h)
	if err := emit(buf); err != nil {
		return err
	}
	var pos int64
	mpos := 0
	for pos < n {
		chunk := buf[:0]
		for int64(len(chunk)) < n-pos && len(chunk) < cap(buf)-len(pattern) {
			i := int((pos + int64(len(chunk))) % int64(len(pattern)))
			m := min(len(pattern)-i, int(n-pos)-len(chunk))
			chunk = append(chunk, pattern[i:i+m]...)
		}
		if h.masked {
			mpos = mask(h.key, mpos, chunk)
		}
		pos += int64(len(chunk))
		if err := emit(chunk); err != nil {
			return err
		}
	}
	return nil
}

// patternSum is the SHA-1 of pattern repeated to n octets.
func patternSum(pattern []byte, n int64) [sha1.Size]byte {
	h := sha1.New()
	writePattern(h, pattern, n)
	var sum [sha1.Size]byte
	h.Sum(sum[:0])
	return sum
}

func writePattern(w io.Writer, pattern []byte, n int64) {
	block := make([]byte, 0, 64<<10)
	for len(block)+len(pattern) <= cap(block) {
		block = append(block, pattern...)
	}
	for n > 0 {
		m := min(int64(len(block)), n)
		w.Write(block[:m])
		n -= m
	}
}

// patternEvent is the expected echo of a repeated-pattern message.
func patternEvent(binary bool, pattern []byte, n int64) Event {
	e := Event{Kind: "message", Binary: binary, Len: n, Sum: patternSum(pattern, n)}
	head := make([]byte, 0, maxShown)
	for int64(len(head)) < min(n, maxShown) {
		head = append(head, pattern[:min(len(pattern), int(min(n, maxShown))-len(head))]...)
	}
	e.Head = head
	return e
}

// fragmentedPattern sends a message of n octets (pattern repeated) in
// frames of fragSize octets, produced lazily.
func (s *Session) fragmentedPattern(op byte, pattern []byte, n int64, fragSize int64) {
	frames := int((n + fragSize - 1) / fragSize)
	s.txFrames[int(op)]++
	s.txFrames[opCont] += frames - 1
	s.log.frame(false, op, 1)
	s.log.frame(false, opCont, frames-1)
	s.log.add("TF", logText(pattern, n), op, frames == 1, 0, nil, n, nil, false)
	masked := !s.isServer
	s.w.enqueue(outItem{gen: func(emit func([]byte) error) error {
		// Each fragment continues the pattern where the last one ended.
		var pos int64
		buf := make([]byte, 0, min(fragSize, 32<<10)+14+int64(len(pattern)))
		rot := make([]byte, len(pattern))
		for pos < n {
			m := min(fragSize, n-pos)
			h := header{fin: pos+m == n, op: op, masked: masked, length: uint64(m)}
			if pos > 0 {
				h.op = opCont
			}
			if masked {
				binary.LittleEndian.PutUint32(h.key[:], rand.Uint32())
			}
			i := int(pos % int64(len(pattern)))
			copy(rot, pattern[i:])
			copy(rot[len(pattern)-i:], pattern[:i])
			if err := emitPattern(emit, h, rot, m, buf); err != nil {
				return err
			}
			pos += m
		}
		return nil
	}})
}

// message sends a data message the way the suite's sendMessage does: in
// frames of fragSize octets when fragSize > 0 (else of the session's
// auto-fragment size, else one frame), compressed first when
// permessage-deflate is on.
func (s *Session) message(binary bool, p []byte, fragSize int) {
	op := byte(opText)
	if binary {
		op = opBinary
	}
	var rsv byte
	if s.pmd != nil {
		p = s.pmd.compress(p)
		rsv = 4
	}
	if fragSize <= 0 {
		fragSize = s.autoFrag
	}
	if fragSize <= 0 || len(p) <= fragSize {
		s.frame(fr{op: op, rsv: rsv, payload: p})
		return
	}
	for i := 0; i < len(p); i += fragSize {
		end := min(i+fragSize, len(p))
		f := fr{op: opCont, payload: p[i:end], more: end < len(p)}
		if i == 0 {
			f.op, f.rsv = op, rsv
		}
		s.frame(f)
	}
}

// streamFrame starts a frame of total octets whose payload is sent later
// in pieces with data (the suite's beginMessageFrame and
// sendMessageFrameData).
type streamFrame struct {
	s    *Session
	h    header
	mpos int
}

func (s *Session) beginFrame(op byte, total int) *streamFrame {
	h := header{fin: true, op: op, masked: !s.isServer, length: uint64(total)}
	if h.masked {
		h.key = s.newKey()
	}
	s.txFrames[int(op)]++
	s.log.frame(false, op, 1)
	s.log.add("TF", "", op, true, 0, nil, total, nil, false)
	s.w.enqueue(outItem{b: appendHeader(nil, h), sync: true})
	return &streamFrame{s: s, h: h}
}

func (f *streamFrame) data(p []byte) {
	if f.s.state == stateClosed {
		return
	}
	b := append([]byte(nil), p...)
	if f.h.masked {
		f.mpos = mask(f.h.key, f.mpos, b)
	}
	f.s.w.enqueue(outItem{b: b, sync: true})
}

// closePayload builds a close frame payload as the suite does: the code
// if there is one, then the reason octets as given.
func closePayload(code *int, reason []byte) []byte {
	var p []byte
	if code != nil {
		p = binary.BigEndian.AppendUint16(p, uint16(*code))
	}
	return append(p, reason...)
}

func intp(v int) *int { return &v }

// sendCloseFrame starts (or, as a reply, completes) the closing handshake.
// It does nothing once a close frame went out.
func (s *Session) sendCloseFrame(code *int, reason []byte, isReply bool) {
	if s.state != stateOpen {
		return
	}
	s.closedByMe = !isReply
	s.localCloseCode = code
	if reason != nil {
		r := string(reason)
		s.localCloseReason = &r
	}
	s.frame(fr{op: opClose, payload: closePayload(code, reason)})
	s.state = stateClosing
	if !isReply {
		s.closeTimer = s.after(s.opts.closeTimeout(), func() {
			if s.state != stateClosed {
				s.wasClean = false
				s.wasNotCleanReason = "peer did not respond (in time) in closing handshake"
				s.wasCloseHandshakeTimeout = true
				s.drop(true)
			}
		})
	}
}

// sendClose is the suite's sendClose: a close frame with the code (or
// none), as the initiator.
func (s *Session) sendClose(code *int, reason string) {
	var r []byte
	if reason != "" {
		r = []byte(reason)
	}
	s.sendCloseFrame(code, r, false)
}

// failConnection is how the runner gives up on a connection: a close
// frame with the code (the suite runs with failByDrop off), or dropping
// TCP when a close frame is already out.
func (s *Session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state != stateClosing {
		s.sendCloseFrame(&code, []byte(reason), false)
	} else {
		s.drop(false)
	}
}

// drop closes TCP: at once (abort), or after what is queued went out.
func (s *Session) drop(abort bool) {
	s.droppedByMe = true
	if abort {
		s.w.abort()
	} else {
		s.w.enqueue(outItem{drop: true})
	}
}

// killAfter fails the connection after d unless it ended.
func (s *Session) killAfter(d time.Duration) {
	s.log.add("KL", d.Seconds())
	s.after(d, func() {
		if s.state != stateClosed {
			s.log.add("KLE")
			s.failConnection(1001, "Going Away")
		}
	})
}

// closeAfter starts the closing handshake after d unless the connection
// ended. The runner's MaxWait caps d: the waits of the performance cases
// only matter when the peer is stuck.
func (s *Session) closeAfter(d time.Duration) {
	d = min(d, s.opts.maxWait())
	s.log.add("TI", d.Seconds())
	s.after(d, func() {
		if s.state != stateClosed {
			s.log.add("TIE")
			s.sendClose(nil, "")
		}
	})
}

// continueLater runs f after d unless the connection ended.
func (s *Session) continueLater(d time.Duration, tag string, f func()) {
	s.log.add("CT", d.Seconds(), tag)
	s.after(d, func() {
		if s.state != stateClosed {
			s.log.add("CTE", tag)
			f()
		}
	})
}

// finishWhenDone starts the closing handshake once what was received
// matches every expectation (the suite's rule).
func (s *Session) finishWhenDone() {
	for _, e := range s.expected {
		if !eventsEqual(s.received, e.events) {
			return
		}
	}
	if s.expectedClose.ClosedByMe && !s.suppressClose {
		code := s.expectedClose.CloseCode[0]
		s.sendClose(&code, "")
	}
}

// ---- events from the reader ----

func (s *Session) gotMessage(m Message) {
	if s.onMessage != nil {
		s.onMessage(m)
		return
	}
	s.received = append(s.received, m.event())
	s.finishWhenDone()
}

func (s *Session) gotPing(p []byte) {
	if s.state == stateOpen {
		s.frame(fr{op: opPong, payload: p})
	}
	s.received = append(s.received, Ping(p))
	s.finishWhenDone()
}

func (s *Session) gotPong(p []byte) {
	s.received = append(s.received, Pong(p))
	s.finishWhenDone()
}

func (s *Session) gotClose(code *int, reason *string) {
	if s.state == stateClosed {
		return
	}
	if s.remoteCloseCode == nil && s.remoteCloseReason == nil {
		s.remoteCloseCode, s.remoteCloseReason = code, reason
	}
	switch s.state {
	case stateClosing:
		if s.closeTimer != nil {
			s.closeTimer.Stop()
			s.closeTimer = nil
		}
		s.wasClean = true
		s.dropOrWait()
	case stateOpen:
		s.wasClean = true
		// Answer with the peer's code (none if it sent none).
		s.sendCloseFrame(code, nil, true)
		s.dropOrWait()
	}
}

// dropOrWait ends TCP after the closing handshake: a server drops it, a
// client waits for the server to (RFC 6455, Section 7.1.1).
func (s *Session) dropOrWait() {
	if s.isServer {
		s.drop(false)
		return
	}
	s.after(s.opts.closeTimeout(), func() {
		if s.state != stateClosed {
			s.wasClean = false
			s.wasNotCleanReason = "server did not drop TCP connection (in time)"
			s.wasServerConnectionDropTimeout = true
			s.drop(true)
		}
	})
}

func (s *Session) gotViolation(code int, reason string) {
	s.received = append(s.received, violation(reason))
	s.failConnection(code, reason)
}

func (s *Session) lost() {
	s.state = stateClosed
	s.end = time.Now()
	for _, t := range s.timers {
		t.Stop()
	}
	s.w.abort()
	if !s.wasClean && s.wasNotCleanReason == "" {
		if s.droppedByMe {
			s.wasNotCleanReason = "I dropped the TCP connection"
		} else {
			s.wasNotCleanReason = "peer dropped the TCP connection without previous WebSocket closing handshake"
		}
	}
	s.judge()
	for _, f := range s.onLost {
		f()
	}
	s.finished = true
}

// judge applies the suite's verdict rules.
func (s *Session) judge() {
	for _, e := range s.expected {
		if eventsEqual(s.received, e.events) {
			s.behavior = e.verdict
			s.result = "Actual events match at least one expected."
			break
		}
	}
	ec := s.expectedClose
	switch {
	case ec.ClosedByMe != s.closedByMe:
		s.behaviorClose = Failed
		s.resultClose = "The connection was failed by the wrong endpoint"
	case ec.RequireClean && !s.wasClean:
		s.behaviorClose = Unclean
		s.resultClose = "The spec requires the connection to be failed cleanly here"
	case s.remoteCloseCode != nil && !containsInt(ec.CloseCode, *s.remoteCloseCode):
		s.behaviorClose = WrongCode
		s.resultClose = fmt.Sprintf("The close code should have been %s or empty", joinInts(ec.CloseCode))
	case !s.isServer && s.droppedByMe:
		s.behaviorClose = FailedByClient
		s.resultClose = "It is preferred that the server close the TCP connection"
	default:
		s.behaviorClose = OK
		s.resultClose = "Connection was properly closed"
	}
}

// wrongCodeFails is the rule of the close cases: a wrong close code fails
// the case.
func (s *Session) wrongCodeFails() {
	s.onLost = append(s.onLost, func() {
		if s.behaviorClose == WrongCode {
			s.behavior = Failed
			s.result = s.resultClose
		}
	})
}

func containsInt(a []int, v int) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(a []int) string {
	s := ""
	for i, v := range a {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(v)
	}
	return s
}

// ---- the reader ----

// msgAcc accumulates a data message being received.
type msgAcc struct {
	active     bool
	binary     bool
	compressed bool
	h          hash.Hash
	n          int64
	head       []byte
	z          []byte // compressed payload, decoded at the end
}

func (m *msgAcc) Write(p []byte) (int, error) {
	m.h.Write(p)
	m.n += int64(len(p))
	if len(m.head) < maxShown {
		m.head = append(m.head, p[:min(len(p), maxShown-len(m.head))]...)
	}
	return len(p), nil
}

// maxCompressed bounds the compressed size of one message the runner
// buffers before inflating it.
const maxCompressed = 64 << 20

func (s *Session) readLoop() {
	defer func() {
		s.post(s.lost)
	}()
	buf := make([]byte, 32<<10)
	msg := msgAcc{h: sha1.New()}
	fail := func(code int, reason string) {
		s.post(func() { s.gotViolation(code, reason) })
		io.Copy(io.Discard, s.br)
	}
	for {
		h, err := readHeader(s.br)
		if err != nil {
			if errors.Is(err, errLength) {
				fail(1002, err.Error())
			}
			return
		}
		s.log.frame(true, h.op, 1)
		var reason string
		switch {
		case s.isServer && !h.masked:
			reason = "client frame not masked"
		case !s.isServer && h.masked:
			reason = "server frame masked"
		case isReserved(h.op):
			reason = fmt.Sprintf("reserved opcode %d", h.op)
		case isControl(h.op) && !h.fin:
			reason = "fragmented control frame"
		case isControl(h.op) && h.length > 125:
			reason = "control frame payload longer than 125 octets"
		case h.rsv != 0 && !(h.rsv == 4 && s.pmd != nil && (h.op == opText || h.op == opBinary)):
			reason = fmt.Sprintf("reserved bits %d set", h.rsv)
		case h.op == opCont && !msg.active:
			reason = "continuation frame without a message"
		case (h.op == opText || h.op == opBinary) && msg.active:
			reason = "new message inside a fragmented one"
		}
		if reason != "" {
			s.log.add("RF", "", h.op, h.fin, h.rsv, h.masked, maskLog(h))
			fail(1002, reason)
			return
		}
		if isControl(h.op) {
			p := make([]byte, h.length)
			if _, err := io.ReadFull(s.br, p); err != nil {
				return
			}
			if h.masked {
				mask(h.key, 0, p)
			}
			s.log.add("RF", logText(p, int64(len(p))), h.op, h.fin, h.rsv, h.masked, maskLog(h))
			switch h.op {
			case opPing:
				s.post(func() { s.gotPing(p) })
			case opPong:
				s.post(func() { s.gotPong(p) })
			case opClose:
				code, reason, cerr := parseClose(p)
				if cerr != "" {
					c := 1002
					if cerr == "close reason not UTF-8" {
						c = 1007
					}
					fail(c, cerr)
					return
				}
				s.post(func() { s.gotClose(code, reason) })
			}
			continue
		}
		if h.op != opCont {
			msg.active = true
			msg.binary = h.op == opBinary
			msg.compressed = h.rsv == 4
			msg.h.Reset()
			msg.n = 0
			msg.head = msg.head[:0]
			msg.z = msg.z[:0]
		}
		// The payload, in bounded pieces.
		var first []byte
		rem := h.length
		mpos := 0
		for rem > 0 {
			n := int(min(rem, uint64(len(buf))))
			if _, err := io.ReadFull(s.br, buf[:n]); err != nil {
				return
			}
			if h.masked {
				mpos = mask(h.key, mpos, buf[:n])
			}
			if first == nil {
				first = append([]byte(nil), buf[:min(n, maxShown)]...)
			}
			if msg.compressed {
				if len(msg.z)+n > maxCompressed {
					fail(1009, "compressed message too big for the runner")
					return
				}
				msg.z = append(msg.z, buf[:n]...)
			} else {
				msg.Write(buf[:n])
			}
			rem -= uint64(n)
		}
		if s.log.on() {
			s.log.add("RF", logText(first, int64(h.length)), h.op, h.fin, h.rsv, h.masked, maskLog(h))
		}
		if !h.fin {
			continue
		}
		msg.active = false
		if msg.compressed {
			if err := s.pmd.decompress(msg.z, &msg); err != nil {
				fail(1007, "permessage-deflate: "+err.Error())
				return
			}
		}
		m := Message{Binary: msg.binary, Len: msg.n, Head: append([]byte(nil), msg.head...)}
		msg.h.Sum(m.Sum[:0])
		s.post(func() { s.gotMessage(m) })
	}
}

func maskLog(h header) any {
	if !h.masked {
		return nil
	}
	return fmt.Sprintf("%x", h.key[:])
}

// parseClose decodes a close payload, reporting what is wrong with it.
func parseClose(p []byte) (code *int, reason *string, problem string) {
	switch {
	case len(p) == 0:
		return nil, nil, ""
	case len(p) == 1:
		return nil, nil, "close payload of one octet"
	}
	c := int(binary.BigEndian.Uint16(p))
	if !validCloseCode(c) {
		return nil, nil, fmt.Sprintf("invalid close code %d", c)
	}
	if !utf8.Valid(p[2:]) {
		return nil, nil, "close reason not UTF-8"
	}
	r := string(p[2:])
	return &c, &r, ""
}

// validCloseCode reports whether a code may be sent in a close frame
// (RFC 6455, Section 7.4; 1012-1014 were registered later).
func validCloseCode(c int) bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}
