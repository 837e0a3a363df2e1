package conn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// NetConn returns a net.Conn that carries a byte stream over c in data
// messages of type typ, for code written against net.Conn (net/rpc, a
// bufio line protocol, a TLS or SSH tunnel).
//
// Read reads the payloads of successive messages as one stream: a Read may
// return the end of one message and the next Read the start of the
// following one; a message of the other type fails the connection with
// StatusUnsupportedData (1003). Read returns io.EOF once the peer closed
// with StatusNormalClosure, StatusGoingAway or no status, and the
// *CloseError for any other code. Each Write sends p as one message; with
// MessageText, every Write must be valid UTF-8 on its own.
//
// SetReadDeadline and SetWriteDeadline bound the reads and writes through
// contexts, as the Conn methods are bounded: a deadline that passes
// interrupts a blocked Read or Write, which returns an error that
// errors.Is(err, os.ErrDeadlineExceeded) and whose Timeout method reports
// true, and leaves the connection usable, except for a write cut off in the
// middle of a frame (see Conn). ctx is the parent of those contexts: once
// it is done, every Read and Write fails.
//
// Close does the closing handshake with StatusNormalClosure. The returned
// net.Conn is a reader and a writer of c: nothing else may read c while it
// is in use, and writes of c should not be interleaved with its Writes in
// the middle of a stream.
func NetConn(ctx context.Context, c *Conn, typ MessageType) net.Conn {
	nc := &netConn{c: c, typ: typ}
	nc.rd.init(ctx)
	nc.wd.init(ctx)
	return nc
}

type netConn struct {
	c   *Conn
	typ MessageType

	readMu sync.Mutex // serializes Reads
	r      io.Reader  // the message being read, nil between messages
	rerr   error      // sticky end of the stream

	rd, wd deadline

	closeOnce sync.Once
}

// deadline maps net.Conn deadlines onto one context per direction that the
// reads (or writes) run under. Unlike a context.Context it can be rearmed:
// after its deadline passed, setting a new one starts a new epoch with a
// fresh Done channel. That keeps a message that was being read when a
// deadline passed readable after the deadline is moved, since the message
// reader holds on to the context it was opened with. An epoch is replaced
// only while no operation runs (ops), so that no operation sees its context
// come back to life between its interruption and its check of Err.
type deadline struct {
	ops    sync.RWMutex // held (shared) by each operation; exclusively to start an epoch
	parent context.Context
	stopP  func() bool // stops the watch on parent

	mu      sync.Mutex
	done    chan struct{} // this epoch's; closed when the deadline passes
	expired bool
	at      time.Time
	timer   *time.Timer
	funcs   []afterFunc // registered by context.AfterFunc, run on expiry
	nextID  uint64
}

type afterFunc struct {
	id uint64
	f  func()
}

func (d *deadline) init(parent context.Context) {
	d.parent = parent
	d.done = make(chan struct{})
	d.stopP = context.AfterFunc(parent, d.expire)
}

// Deadline, Done, Err and Value make a deadline a context.Context.
func (d *deadline) Deadline() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pt, ok := d.parent.Deadline(); ok && (d.at.IsZero() || pt.Before(d.at)) {
		return pt, true
	}
	return d.at, !d.at.IsZero()
}

func (d *deadline) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.done
}

func (d *deadline) Err() error {
	if err := d.parent.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return context.DeadlineExceeded
	}
	return nil
}

func (d *deadline) Value(key any) any { return d.parent.Value(key) }

// AfterFunc lets context.AfterFunc, which raw uses to interrupt blocked
// I/O, register with the current epoch instead of starting a goroutine.
func (d *deadline) AfterFunc(f func()) (stop func() bool) {
	d.mu.Lock()
	if d.expired {
		d.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	d.nextID++
	id := d.nextID
	d.funcs = append(d.funcs, afterFunc{id, f})
	d.mu.Unlock()
	return func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for i, af := range d.funcs {
			if af.id == id {
				d.funcs = append(d.funcs[:i], d.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

// expire ends the current epoch: the deadline passed (or the parent is done).
func (d *deadline) expire() {
	d.mu.Lock()
	if d.expired {
		d.mu.Unlock()
		return
	}
	d.expired = true
	close(d.done)
	funcs := d.funcs
	d.funcs = nil
	d.mu.Unlock()
	for _, af := range funcs {
		af.f()
	}
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.expired && d.parent.Err() == nil {
		// Wait for operations interrupted by the old deadline to return
		// before starting a new epoch.
		d.mu.Unlock()
		d.ops.Lock()
		d.mu.Lock()
		if d.expired && d.parent.Err() == nil {
			d.expired = false
			d.done = make(chan struct{})
		}
		d.ops.Unlock()
		if d.timer != nil {
			d.timer.Stop()
			d.timer = nil
		}
	}
	d.at = t
	var fire bool
	if !t.IsZero() {
		if dur := time.Until(t); dur > 0 {
			d.timer = time.AfterFunc(dur, d.expire)
		} else {
			fire = true
		}
	}
	d.mu.Unlock()
	if fire {
		d.expire()
	}
}

// stop releases the timer and the watch on the parent.
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
	d.stopP()
}

// wrap turns an error of an operation into what a net.Conn returns: a
// timeout when the deadline interrupted it.
func (d *deadline) wrap(op string, nc *netConn, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) && d.parent.Err() == nil {
		err = os.ErrDeadlineExceeded
	} else if errors.Is(err, ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
}

func (nc *netConn) Read(p []byte) (int, error) {
	nc.readMu.Lock()
	defer nc.readMu.Unlock()
	if nc.rerr != nil {
		return 0, nc.rerr
	}
	nc.rd.ops.RLock()
	defer nc.rd.ops.RUnlock()
	ctx := &nc.rd
	for {
		if nc.r == nil {
			typ, r, err := nc.c.Reader(ctx)
			if err != nil {
				return 0, nc.readErr(err)
			}
			if typ != nc.typ {
				nc.c.Close(StatusUnsupportedData, "unexpected "+typ.String()+" message")
				nc.rerr = &net.OpError{Op: "read", Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(),
					Err: errors.New("websocket: got a " + typ.String() + " message on a " + nc.typ.String() + " stream")}
				return 0, nc.rerr
			}
			nc.r = r
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := nc.r.Read(p)
		if err == io.EOF {
			nc.r = nil
			err = nil
		}
		if err != nil {
			return n, nc.readErr(err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// readErr maps a read error: a close frame with a normal code is the end
// of the stream; a deadline is a timeout; other ends of the connection are
// sticky.
func (nc *netConn) readErr(err error) error {
	var ce *CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case StatusNormalClosure, StatusGoingAway, StatusNoStatusRcvd:
			nc.rerr = io.EOF
			return io.EOF
		}
	}
	if errors.Is(err, context.DeadlineExceeded) && nc.rd.parent.Err() == nil {
		return nc.rd.wrap("read", nc, err) // the connection is still good
	}
	nc.rerr = nc.rd.wrap("read", nc, err)
	return nc.rerr
}

func (nc *netConn) Write(p []byte) (int, error) {
	nc.wd.ops.RLock()
	defer nc.wd.ops.RUnlock()
	if err := nc.c.Write(&nc.wd, nc.typ, p); err != nil {
		return 0, nc.wd.wrap("write", nc, err)
	}
	return len(p), nil
}

func (nc *netConn) Close() error {
	err := net.ErrClosed
	nc.closeOnce.Do(func() {
		err = nc.c.Close(StatusNormalClosure, "")
		nc.rd.stop()
		nc.wd.stop()
	})
	if err != nil {
		return &net.OpError{Op: "close", Net: "websocket", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
	}
	return nil
}

func (nc *netConn) LocalAddr() net.Addr  { return nc.c.rc.NetConn().LocalAddr() }
func (nc *netConn) RemoteAddr() net.Addr { return nc.c.rc.NetConn().RemoteAddr() }

func (nc *netConn) SetDeadline(t time.Time) error {
	nc.rd.set(t)
	nc.wd.set(t)
	return nil
}

func (nc *netConn) SetReadDeadline(t time.Time) error  { nc.rd.set(t); return nil }
func (nc *netConn) SetWriteDeadline(t time.Time) error { nc.wd.set(t); return nil }
