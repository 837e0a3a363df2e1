//go:build linux

package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/internal/nbsys"
	"github.com/hybi-go/hybi/internal/netswap"
)

// Poller serves connections from one epoll set and a bounded pool of
// workers. Its methods are safe for concurrent use.
type Poller struct {
	opts   Options
	epfd   int
	epf    *os.File // epfd, so that the loop waits in the runtime's poller
	sweepT *time.Timer
	wake   [2]int // pipe: Close writes to wake[1] to stop the loop
	ctx    context.Context
	cancel context.CancelFunc
	// queue hands ready connections to the workers with plain channel
	// operations (a select with the poller's context beside them cost a
	// message 1,000 instructions more): Close closes it once the loop has
	// ended and no Serve is sending.
	queue    chan *entry
	loopDone chan struct{}
	senders  sync.WaitGroup // Serve calls sending to queue; Add under mu while !closed
	wg       sync.WaitGroup

	mu sync.Mutex
	// conns are the served connections by descriptor number (a socket
	// has one number while it is open, and numbers are small and dense),
	// n how many there are: a slot each rather than a map entry, which
	// cost an idle connection about 50 bytes.
	conns    []*entry
	n        int
	lastGen  uint32 // entry.gen of the last connection served
	closed   bool   // no more Serve
	fdClosed bool   // epfd is closed
	once     sync.Once

	// For arm, under mu: epollCtl bound once, and its arguments.
	ctl    func(fd uintptr)
	ctlOp  int
	ctlEv  syscall.EpollEvent
	ctlErr error
}

// entry is one served connection. Its fields after state are touched
// only by whoever holds the connection (state says who): Serve, then the
// worker the loop gave it to.
type entry struct {
	// fd is the socket's descriptor number, its slot in Poller.conns;
	// gen tells it from an earlier connection that had the same number
	// (never 0, which is the wake-up pipe's). Both go in its epoll
	// events.
	fd  int32
	gen uint32
	// state is stateIdle, stateBusy or statePending, and stateHup once
	// epoll reported the peer's end of stream or an error: the socket is
	// registered edge-triggered, so epoll reports input also while a
	// worker holds the connection, and the loop notes it here for that
	// worker instead of handing the connection to a second one.
	state atomic.Uint32
	c     *conn.Conn
	h     Handler
	// drainT is set once conn has sent its close frame and left the wait
	// for the peer's end of stream to the poller (the connection is
	// draining); it removes the connection when that wait runs out. Set
	// under Poller.mu by the worker that holds the connection.
	drainT *time.Timer
}

// The states of an entry, in its two low bits.
const (
	stateIdle    = iota // waiting in epoll
	stateBusy           // queued for a worker, or held by one
	statePending        // busy, and epoll reported input since
	stateMask    = 3
	// stateHup is set, for good, once epoll reported the peer's end of
	// stream (EPOLLRDHUP), a hang-up or an error. That report comes
	// once, and a short read says nothing of it: the end of the stream
	// stays unread behind the data, and no later input will make epoll
	// report the socket again. Such a connection is re-armed when it is
	// handed back (handBack), so that its reader gets to the end.
	stateHup = 4
)

// hupEvents are the epoll events that set stateHup.
const hupEvents = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR

// claim takes e for a worker when epoll reports events on it, and reports
// whether it did: when e is busy already, it notes the input for the
// worker that holds it (pending) instead.
func (e *entry) claim(events uint32) bool {
	hup := uint32(0)
	if events&hupEvents != 0 {
		hup = stateHup
	}
	for {
		old := e.state.Load()
		next, took := old|hup, false
		switch old & stateMask {
		case stateIdle:
			next, took = next&^stateMask|stateBusy, true
		case stateBusy:
			next = next&^stateMask | statePending
		}
		if next == old || e.state.CompareAndSwap(old, next) {
			return took
		}
	}
}

// release gives e back to epoll, the worker having read its socket
// empty. It reports true, and e stays the worker's, when epoll reported
// input meanwhile: the worker reads again.
func (e *entry) release() (again bool) {
	for {
		old := e.state.Load()
		next := old&^stateMask | stateIdle
		if old&stateMask == statePending {
			next = old&^stateMask | stateBusy
		}
		if e.state.CompareAndSwap(old, next) {
			return old&stateMask == statePending
		}
	}
}

// hup reports whether stateHup is set.
func (e *entry) hup() bool { return e.state.Load()&stateHup != 0 }

// rawConn returns the RawConn of e's socket. An fdConn's (every socket
// Serve could move) costs no allocation.
func (e *entry) rawConn() (syscall.RawConn, error) {
	sc, ok := e.c.NetConn().(syscall.Conn)
	if !ok {
		return nil, ErrNotSocket
	}
	return sc.SyscallConn()
}

// epollCtl is the epoll_ctl call arm runs in rc.Control, under p.mu; its
// arguments and result are in the Poller (ctlOp, ctlEv, ctlErr), not in
// every entry: a closure made for each call would escape, event and all,
// and one kept per entry cost every idle connection 64 bytes.
func (p *Poller) epollCtl(fd uintptr) {
	p.ctlErr = nil
	if errno := nbsys.EpollCtl(p.epfd, p.ctlOp, int(fd), &p.ctlEv); errno != 0 {
		p.ctlErr = errno
	}
}

// wakeGen is the generation in the wake-up pipe's epoll events.
const wakeGen = 0

// New starts a Poller: an epoll set, the goroutine that waits on it and
// Options.Workers workers. Close stops them.
func New(o *Options) (*Poller, error) {
	opts := o.withDefaults()
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("poll: epoll_create1: %w", err)
	}
	p := &Poller{opts: opts, epfd: epfd, queue: make(chan *entry), loopDone: make(chan struct{})}
	p.ctl = p.epollCtl
	// A nonblocking epoll descriptor is itself pollable: wrapped in an
	// os.File, the loop waits for it in the runtime's netpoller, parked
	// like any goroutine blocked on a socket, instead of holding a thread
	// in epoll_wait.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("poll: %w", err)
	}
	p.epf = os.NewFile(uintptr(epfd), "epoll")
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		p.epf.Close()
		return nil, fmt.Errorf("poll: pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // Pad 0: wakeGen
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.epf.Close()
		syscall.Close(p.wake[0])
		syscall.Close(p.wake[1])
		return nil, fmt.Errorf("poll: epoll_ctl: %w", err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1 + opts.Workers)
	rc, err := p.epf.SyscallConn()
	if err != nil {
		p.epf.Close()
		syscall.Close(p.wake[0])
		syscall.Close(p.wake[1])
		return nil, fmt.Errorf("poll: %w", err)
	}
	go p.loop(rc)
	for range opts.Workers {
		go p.worker()
	}
	if opts.SweepInterval > 0 {
		// Stored before it is started: its first tick resets it, and
		// may come before AfterFunc has returned.
		p.sweepT = time.AfterFunc(math.MaxInt64, p.sweepTick)
		p.sweepT.Reset(opts.SweepInterval)
	}
	return p, nil
}

// Len returns how many connections the poller serves.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Serve hands c to the poller, which reads it from now on and calls h for
// each data message, until the connection ends (see the package
// documentation). It returns at once. c must be a server or client
// connection over a plain socket (ErrNotSocket otherwise, and c is left
// as it was); after any other error c has been closed. A *net.TCPConn or
// *net.UnixConn under c is replaced (see the package documentation): a
// net.Conn that c.NetConn returned before Serve is closed after it.
func (p *Poller) Serve(c *conn.Conn, h Handler) error {
	if _, ok := c.NetConn().(syscall.Conn); !ok {
		return ErrNotSocket
	}
	// A TCP or Unix socket leaves the runtime's poller for an fdConn
	// (see fdconn_linux.go). One that cannot (a write in progress, a
	// net.Conn of another type) is served as it is.
	netswap.Conn(c, newFDConn)
	sc, ok := c.NetConn().(syscall.Conn)
	if !ok {
		return ErrNotSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ErrNotSocket
	}
	e := &entry{fd: -1, c: c, h: h}
	if err := rc.Control(func(fd uintptr) { e.fd = int32(fd) }); err != nil || e.fd < 0 {
		c.CloseNow()
		return ErrClosed
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.CloseNow()
		return ErrClosed
	}
	p.lastGen++
	if p.lastGen == wakeGen {
		p.lastGen++
	}
	e.gen = p.lastGen
	buffered := c.Buffered()
	if buffered {
		p.senders.Add(1) // before Close can wait for senders: it sets closed first
	}
	if need := int(e.fd) + 1 - len(p.conns); need > 0 {
		p.conns = append(p.conns, make([]*entry, need)...)
	}
	// A connection in e's slot has lost its socket (closed from outside,
	// the number given to this one): forget it, as sweep would.
	stale := p.conns[e.fd]
	p.conns[e.fd] = e
	if stale == nil {
		p.n++
	} else if stale.drainT != nil {
		stale.drainT.Stop()
	}
	p.mu.Unlock()
	if stale != nil {
		stale.c.CloseNow()
	}
	if buffered {
		// Frames that came with the handshake: epoll would not report
		// them, so a worker reads them now; what epoll reports
		// meanwhile waits for that worker (busy).
		e.state.Store(stateBusy)
		defer p.senders.Done()
	}
	if err := p.arm(e, true); err != nil {
		p.remove(e)
		return err
	}
	if buffered {
		select {
		case p.queue <- e:
		case <-p.ctx.Done():
			p.remove(e)
			return ErrClosed
		}
	}
	return nil
}

// arm adds e's socket to the epoll set, edge-triggered (add), or has
// epoll look at it again: a socket whose last read may have left input
// behind would not be reported again by an edge-triggered set until
// more came, and EPOLL_CTL_MOD reports input that is already there.
func (p *Poller) arm(e *entry, add bool) error {
	op := syscall.EPOLL_CTL_MOD
	if add {
		op = syscall.EPOLL_CTL_ADD
	}
	// Control holds the descriptor open: it cannot be closed and its
	// number reused while epoll_ctl runs. The mutex keeps Close from
	// closing epfd meanwhile, and guards the arguments epollCtl reads
	// from p, which every arm shares.
	p.mu.Lock()
	if p.fdClosed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.ctlOp = op
	p.ctlEv = syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | -syscall.EPOLLET,
		Fd:     e.fd,
		Pad:    int32(e.gen),
	}
	rc, err := e.rawConn()
	if err == nil {
		err = rc.Control(p.ctl)
	}
	if err == nil {
		err = p.ctlErr
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("poll: epoll_ctl: %w", err)
	}
	return nil
}

// remove forgets e, takes its socket out of epoll and closes it. A socket
// that is already closed left epoll with its last descriptor.
func (p *Poller) remove(e *entry) {
	p.mu.Lock()
	if p.conns[e.fd] == e {
		p.conns[e.fd] = nil
		p.n--
	}
	if e.drainT != nil {
		e.drainT.Stop()
	}
	if !p.fdClosed {
		// Also when e was never added (ENOENT): a flag saying so would
		// cost every entry 8 bytes.
		if rc, err := e.rawConn(); err == nil {
			rc.Control(func(fd uintptr) { nbsys.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
		}
	}
	p.mu.Unlock()
	e.c.CloseNow()
}

// loop waits on epoll and hands ready connections to the workers; when
// all of them are busy it waits, and readiness waits in the kernel
// meanwhile. After Close it still hands over what it has: the workers
// take it until the queue closes, after the loop has ended, and find the
// connections closed.
func (p *Poller) loop(rc syscall.RawConn) {
	defer p.wg.Done()
	defer close(p.loopDone)
	events := make([]syscall.EpollEvent, 128)
	ready := make([]*entry, 0, len(events))
	var n int
	var werr syscall.Errno
	wait := func(fd uintptr) bool {
		n, werr = nbsys.EpollReady(int(fd), events)
		return n > 0 || werr != 0
	}
	for {
		if err := rc.Read(wait); err != nil || werr != 0 {
			return
		}
		// One turn of the lock for the whole batch.
		ready = ready[:0]
		p.mu.Lock()
		for i := range events[:n] {
			ev := &events[i]
			fd, gen := int(ev.Fd), uint32(ev.Pad)
			if gen == wakeGen {
				p.mu.Unlock()
				return
			}
			// An event for a socket already forgotten, whose number may
			// be another's by now, has a generation of its own.
			if fd >= 0 && fd < len(p.conns) {
				if e := p.conns[fd]; e != nil && e.gen == gen && e.claim(ev.Events) {
					ready = append(ready, e)
				}
			}
		}
		p.mu.Unlock()
		for _, e := range ready {
			p.queue <- e
		}
	}
}

func (p *Poller) sweepTick() {
	if p.ctx.Err() != nil {
		return
	}
	p.sweep()
	p.sweepT.Reset(p.opts.SweepInterval)
}

// sweep forgets connections whose socket was closed from outside: they
// left epoll with it and would never be reported again. A connection a
// worker holds may be forgotten too; the worker's next read fails and it
// removes it again, which is harmless.
func (p *Poller) sweep() {
	var dead []*entry
	p.mu.Lock()
	for _, e := range p.conns {
		if e == nil {
			continue
		}
		if rc, err := e.rawConn(); err != nil || rc.Control(func(uintptr) {}) != nil {
			dead = append(dead, e)
		}
	}
	for _, e := range dead {
		p.conns[e.fd] = nil
		p.n--
	}
	p.mu.Unlock()
	for _, e := range dead {
		e.c.CloseNow()
	}
}

func (p *Poller) worker() {
	defer p.wg.Done()
	rctx := newReadCtx()
	for e := range p.queue {
		p.handle(e, rctx)
	}
}

// handle reads and handles the messages that arrived on e, then gives it
// back to epoll. rctx is the worker's.
func (p *Poller) handle(e *entry, rctx *readCtx) {
	wait := p.opts.FrameWait
	for {
		netswap.TakeDrained(e.c) // only the reads from here on count
		var again bool
		if e.drainT != nil {
			again = p.drainStep(e, rctx)
		} else {
			again = p.serveInput(e, rctx, wait)
		}
		if !again {
			return
		}
		// Epoll reported input while this worker held e, which its
		// reads may already have taken: read what is there, without
		// waiting for more (epoll reports what comes later).
		wait = 0
	}
}

// serveInput reads the messages on e and calls its handler for each,
// waiting up to wait for the next frame header. It reports true when e
// stays with the worker for more input (see release).
func (p *Poller) serveInput(e *entry, rctx *readCtx, wait time.Duration) (again bool) {
	rctx.drainTimeout = 0
	nc := e.c.NetConn()
	var pongSince time.Time // when a pong cut short first made the worker read again
	for {
		// One reading of the clock sets both deadlines, and Since, which
		// reads only the monotonic clock, moves them on below.
		now := time.Now()
		unow := now.UnixNano()
		rctx.start, rctx.limit = now, wait
		// The pongs Reader writes for the pings it reads are bounded like
		// a handler's writes: a peer that floods pings and never reads
		// must not hold the worker.
		setDeadlines(nc, addNanos(unow, wait), addNanos(unow, p.opts.MessageTimeout))
		typ, r, err := e.c.Reader(rctx)
		if err != nil {
			// A read gives up at FrameWait; only a write (a pong) can
			// take Reader past MessageTimeout, and one that did found
			// the peer not reading for that long: it is closed.
			if isCtxErr(err) && p.ctx.Err() == nil && time.Since(now) < p.opts.MessageTimeout {
				if netswap.ControlPending(e.c) {
					// The deadline passed between a ping and its pong
					// (always so when the worker reads again with
					// wait 0): conn keeps the pong for the next read,
					// and the peer, waiting for it, may send nothing
					// that epoll would report. Read again, under a
					// fresh deadline, for as long as a pong may take.
					if pongSince.IsZero() {
						pongSince = now
					}
					if time.Since(pongSince) < p.opts.MessageTimeout {
						wait = p.opts.FrameWait
						continue
					}
					return p.end(e, rctx)
				}
				// Only control frames, or part of a header: wait in epoll.
				return p.handBack(e)
			}
			return p.end(e, rctx)
		}
		limit := addDuration(time.Since(now), p.opts.MessageTimeout)
		rctx.limit = limit
		d := addNanos(unow, limit)
		setDeadlines(nc, d, d)
		err = p.callHandler(e, &handlerCtx{parent: p.ctx, start: now, limit: limit}, typ, r)
		if err == errPanicked {
			p.abandon(e)
			return false
		}
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			return p.end(e, rctx)
		}
		if !e.c.Buffered() {
			return p.handBack(e)
		}
	}
}

// handBack gives e back to epoll once the worker is done with it, and
// reports true when e stays with the worker for input epoll reported
// meanwhile (see release).
func (p *Poller) handBack(e *entry) (again bool) {
	// Other goroutines may write to the connection between messages,
	// with no deadline but their contexts'.
	setDeadlines(e.c.NetConn(), keepDeadline, 0)
	if !netswap.TakeDrained(e.c) || e.hup() {
		// The last read filled its buffer, or there was none, or the
		// end of the stream waits unread: epoll, edge-triggered, would
		// not report the socket again. Only then does a message cost
		// an epoll_ctl.
		if p.arm(e, false) != nil {
			p.remove(e)
			return false
		}
	}
	return e.release()
}

// setDeadlines sets nc's read deadline to rd and its write deadline to
// wd, in Unix nanoseconds (0 for none, keepDeadline to leave one as it
// is): an fdConn's without a lock or a time.Time.
func setDeadlines(nc net.Conn, rd, wd int64) {
	if fc, ok := nc.(*fdConn); ok {
		fc.setDeadlines(rd, wd)
		return
	}
	if rd == wd && rd != keepDeadline {
		nc.SetDeadline(deadlineTime(rd))
		return
	}
	if rd != keepDeadline {
		nc.SetReadDeadline(deadlineTime(rd))
	}
	if wd != keepDeadline {
		nc.SetWriteDeadline(deadlineTime(wd))
	}
}

// addNanos is the deadline d after t, both in Unix nanoseconds, at most
// math.MaxInt64 (as unixNano makes a deadline past 2262).
func addNanos(t int64, d time.Duration) int64 {
	return int64(addDuration(time.Duration(t), d))
}

// addDuration is a+b, for a and b not negative, at most math.MaxInt64.
func addDuration(a, b time.Duration) time.Duration {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// errPanicked is what callHandler returns for a handler that panicked.
var errPanicked = errors.New("poll: handler panicked")

// callHandler calls e's handler, and recovers from a panic in it as
// net/http does: the panic is logged with its stack and the connection
// ends (abandon), while the process and the other connections go on.
func (p *Poller) callHandler(e *entry, ctx context.Context, typ conn.MessageType, r io.Reader) (err error) {
	defer func() {
		if v := recover(); v != nil {
			const size = 64 << 10
			buf := make([]byte, size)
			buf = buf[:runtime.Stack(buf, false)]
			p.logf("poll: panic serving %v: %v\n%s", e.c.NetConn().RemoteAddr(), v, buf)
			err = errPanicked
		}
	}()
	return e.h(ctx, e.c, typ, r)
}

func (p *Poller) logf(format string, args ...any) {
	if p.opts.ErrorLog != nil {
		p.opts.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// abandon closes e, whose handler panicked, with StatusInternalError
// (1011). The closing handshake can take up to conn's CloseTimeout, so a
// goroutine of its own does it rather than the worker; e stays in the
// table so that Close interrupts it, and busy, so that no worker reads
// it meanwhile.
func (p *Poller) abandon(e *entry) {
	// The message's deadlines would cut the handshake short.
	e.c.NetConn().SetDeadline(time.Time{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		e.c.Close(conn.StatusInternalError, "")
		p.remove(e)
	}()
}

// end removes e after its handler or conn ended it, unless conn left the
// wait for the peer's end of stream to the poller: then that wait starts,
// and end reports what drainStep does.
func (p *Poller) end(e *entry, rctx *readCtx) (again bool) {
	d := rctx.drainTimeout
	if d == 0 {
		p.remove(e)
		return false
	}
	rctx.drainTimeout = 0
	// The deadlines the worker read and wrote under would fail the
	// drain's reads once they pass; the drain timer bounds it instead.
	e.c.NetConn().SetDeadline(time.Time{})
	p.mu.Lock()
	e.drainT = time.AfterFunc(d, func() { p.remove(e) })
	p.mu.Unlock()
	return p.drainStep(e, rctx)
}

// drainStep discards what a draining connection's peer has sent, without
// waiting for more. At the end of the stream, or on any error, the
// connection is removed; otherwise it goes back to epoll until more
// arrives or its drain timer removes it, and drainStep reports what
// release does.
func (p *Poller) drainStep(e *entry, rctx *readCtx) (again bool) {
	rc, err := e.rawConn()
	if err != nil {
		p.remove(e)
		return false
	}
	done := false
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), rctx.buf[:])
			switch {
			case n > 0 || err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
			default: // end of stream, or an error
				done = true
			}
			return true // never wait here: epoll does
		}
	})
	if err != nil || done {
		p.remove(e)
		return false
	}
	// Read until EAGAIN: epoll reports what comes next.
	return e.release()
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Close stops the poller: in-flight reads and handlers see their context
// cancelled, the workers and the epoll goroutine end, and every
// connection still served is closed at once (CloseNow, no closing
// handshake; a server that wants one closes its connections first). Serve
// returns ErrClosed afterwards.
func (p *Poller) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.cancel()
		if p.sweepT != nil {
			p.sweepT.Stop()
		}
		syscall.Write(p.wake[1], []byte{1})
		// Workers read under socket deadlines, not p.ctx: closing the
		// connections is what interrupts their reads.
		p.mu.Lock()
		conns := make([]*entry, 0, p.n)
		for _, e := range p.conns {
			if e == nil {
				continue
			}
			conns = append(conns, e)
			if e.drainT != nil {
				e.drainT.Stop()
			}
		}
		p.mu.Unlock()
		for _, e := range conns {
			e.c.CloseNow()
		}
		// The workers end when the queue closes, once nothing can send
		// to it any more.
		<-p.loopDone
		p.senders.Wait()
		close(p.queue)
		p.wg.Wait()
		p.mu.Lock()
		p.fdClosed = true
		p.epf.Close()
		syscall.Close(p.wake[0])
		syscall.Close(p.wake[1])
		p.conns, p.n = nil, 0
		p.mu.Unlock()
	})
	return nil
}
