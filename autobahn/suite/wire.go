package suite

import (
	"bufio"
	"encoding/hex"
	"net"
	"sync"
	"time"
)

// maxWireLog bounds the wire log of one case; the rest is counted only.
const maxWireLog = 2000

// wireLog is the trace of a case: octets and frames in both directions and
// the case's timers, in the suite's row format, plus the octet and frame
// statistics. It is written by the reader, the writer and the event loop.
type wireLog struct {
	mu       sync.Mutex
	enabled  bool
	rows     [][]any
	omitted  int
	rxOctets map[int]int
	txOctets map[int]int
	rxFrames map[int]int
	txFrames map[int]int
}

func newWireLog() *wireLog {
	return &wireLog{
		enabled:  true,
		rxOctets: map[int]int{},
		txOctets: map[int]int{},
		rxFrames: map[int]int{},
		txFrames: map[int]int{},
	}
}

// add appends a row when logging is on and the log is not full.
func (l *wireLog) add(row ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(row)
}

func (l *wireLog) addLocked(row []any) {
	if !l.enabled {
		return
	}
	if len(l.rows) >= maxWireLog {
		l.omitted++
		return
	}
	l.rows = append(l.rows, row)
}

// on reports whether rows are being logged, so that callers can skip
// formatting them.
func (l *wireLog) on() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enabled && len(l.rows) < maxWireLog
}

func (l *wireLog) setEnabled(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on != l.enabled {
		l.enabled = true
		l.addLocked([]any{"WLM", on})
		l.enabled = on
	}
}

func (l *wireLog) frame(rx bool, op byte, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rx {
		l.rxFrames[int(op)] += n
	} else {
		l.txFrames[int(op)] += n
	}
}

func logData(b []byte) string {
	if len(b) > maxShown {
		return hex.EncodeToString(b[:maxShown]) + " ..."
	}
	return hex.EncodeToString(b)
}

func logText(b []byte, n int64) string {
	return showPayload(b[:min(len(b), maxShown)], n)
}

// countConn records every read and write of the connection in the wire
// log: the octets (RO, TO rows) and the chop sizes.
type countConn struct {
	net.Conn
	log  *wireLog
	sync bool // set by the writer for the write in progress
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.log.mu.Lock()
		c.log.rxOctets[n]++
		if c.log.enabled {
			c.log.addLocked([]any{"RO", logData(p[:n])})
		}
		c.log.mu.Unlock()
	}
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.log.mu.Lock()
		c.log.txOctets[n]++
		if c.log.enabled {
			c.log.addLocked([]any{"TO", logData(p[:n]), c.sync})
		}
		c.log.mu.Unlock()
	}
	return n, err
}

// outItem is one unit of output: octets ready to go, or a generator that
// produces a long frame sequence piece by piece (so that a 16 MiB message
// never sits in memory whole), or the order to close the connection.
type outItem struct {
	b    []byte
	gen  func(emit func([]byte) error) error
	chop int  // write in pieces of this size, each its own write
	sync bool // write on its own, not coalesced with what follows
	drop bool // close TCP after everything before it is written
}

// writer is the output queue of a session. Enqueueing never blocks, so the
// event loop keeps reading while a long message goes out.
type writer struct {
	cc     *countConn
	bw     *bufio.Writer
	mu     sync.Mutex
	q      []outItem
	sig    chan struct{}
	closed bool
	linger time.Duration
}

func newWriter(cc *countConn, linger time.Duration) *writer {
	w := &writer{cc: cc, sig: make(chan struct{}, 1), linger: linger}
	w.bw = bufio.NewWriterSize(cc, 64<<10)
	go w.run()
	return w
}

func (w *writer) enqueue(it outItem) {
	w.mu.Lock()
	if !w.closed {
		w.q = append(w.q, it)
	}
	w.mu.Unlock()
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// abort closes the connection now, whatever is queued.
func (w *writer) abort() {
	w.mu.Lock()
	w.closed = true
	w.q = nil
	w.mu.Unlock()
	w.cc.Close()
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// stop ends the writing after a write failed, and leaves the connection
// to the reader: what the peer sent before it ended the connection is
// still read, until the end, when the session closes it. Over HTTP/2 a
// server ends the stream (END_STREAM, then RST_STREAM(NO_ERROR), RFC 9113,
// Section 8.1) while the runner may still be sending; closing the stream
// at the failed write would throw away the server's last frames.
func (w *writer) stop() {
	w.mu.Lock()
	w.closed = true
	w.q = nil
	w.mu.Unlock()
}

func (w *writer) next() (outItem, bool, bool) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return outItem{}, false, false
		}
		if len(w.q) > 0 {
			it := w.q[0]
			w.q[0] = outItem{}
			w.q = w.q[1:]
			more := len(w.q) > 0
			w.mu.Unlock()
			return it, more, true
		}
		w.mu.Unlock()
		<-w.sig
	}
}

func (w *writer) run() {
	for {
		it, more, ok := w.next()
		if !ok {
			return
		}
		if it.drop {
			w.bw.Flush()
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
			// Half-close, so that the peer reads everything sent before
			// it sees the end, then give it a moment to close its side.
			if tc, ok := w.cc.Conn.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
				time.AfterFunc(w.linger, func() { w.cc.Close() })
			} else {
				w.cc.Close()
			}
			return
		}
		if err := w.write(it); err != nil {
			w.stop()
			return
		}
		if !more {
			if err := w.bw.Flush(); err != nil {
				w.stop()
				return
			}
		}
	}
}

func (w *writer) write(it outItem) error {
	if it.chop > 0 {
		// Chops continue across the pieces a generator emits, so that
		// every write but the last is exactly it.chop octets.
		if err := w.bw.Flush(); err != nil {
			return err
		}
		w.cc.sync = true
		defer func() { w.cc.sync = false }()
		var pending []byte
		emit := func(b []byte) error {
			for len(b) > 0 {
				if len(pending) == 0 && len(b) >= it.chop {
					if _, err := w.cc.Write(b[:it.chop]); err != nil {
						return err
					}
					b = b[it.chop:]
					continue
				}
				n := min(it.chop-len(pending), len(b))
				pending = append(pending, b[:n]...)
				b = b[n:]
				if len(pending) == it.chop {
					if _, err := w.cc.Write(pending); err != nil {
						return err
					}
					pending = pending[:0]
				}
			}
			return nil
		}
		var err error
		if it.gen != nil {
			err = it.gen(emit)
		} else {
			err = emit(it.b)
		}
		if err == nil && len(pending) > 0 {
			_, err = w.cc.Write(pending)
		}
		return err
	}
	emit := func(b []byte) error {
		if it.sync {
			if err := w.bw.Flush(); err != nil {
				return err
			}
			w.cc.sync = true
			defer func() { w.cc.sync = false }()
			_, err := w.cc.Write(b)
			return err
		}
		_, err := w.bw.Write(b)
		return err
	}
	if it.gen != nil {
		return it.gen(emit)
	}
	return emit(it.b)
}
