//go:build linux

package load

import (
	"encoding/binary"
	"sync/atomic"
	"syscall"
)

// ListenPoll is Listen with the listeners read as the scale client reads
// them: loops goroutines, each with an epoll set of its share of the
// sockets, one shared read buffer and a few bytes of frame state per
// connection, and no goroutine or bufio.Reader per connection. With
// 10,000 listeners a goroutine each, the client's reads (a wake-up and a
// read per goroutine, on the same two cores as the server) bounded the
// fan-out time more than the server did.
//
// A listener counts a message when its last frame is whole; control
// frames are skipped, and a close frame, a masked frame or a read error
// ends that listener, as ReadEcho's error ends Listen's.
func ListenPoll(conns []*Conn, silent, loops int) (*Audience, error) {
	a := newAudience(conns)
	listening := a.listening(silent)
	loops = max(1, min(loops, len(listening)))
	ls := make([]*pollLoop, loops)
	var stopped atomic.Bool
	cleanup := func() {
		for _, l := range ls {
			if l != nil {
				l.closeAll()
			}
		}
	}
	for i := range ls {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			cleanup()
			return nil, err
		}
		ls[i] = &pollLoop{a: a, epfd: epfd, stopped: &stopped}
	}
	for i, c := range listening {
		l := ls[i%loops]
		fd, err := c.dupFD()
		if err != nil {
			cleanup()
			return nil, err
		}
		l.conns = append(l.conns, pollConn{fd: fd})
		pc := &l.conns[len(l.conns)-1]
		// What the handshake's bufio.Reader read past the response.
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			l.parse(pc, b)
		}
		c.nc.Close() // the duplicate keeps the socket open
	}
	for _, l := range ls {
		for i := range l.conns {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(i)}
			if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, l.conns[i].fd, &ev); err != nil {
				cleanup()
				return nil, err
			}
		}
	}
	for _, l := range ls {
		a.wg.Add(1)
		go l.run()
	}
	a.stop = func() {
		stopped.Store(true)
		a.wg.Wait()
		cleanup()
	}
	return a, nil
}

// dupFD returns a duplicate of the connection's descriptor, nonblocking
// as the original.
func (c *Conn) dupFD() (int, error) {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return -1, syscall.ENOTSOCK
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = syscall.Dup(int(s)) }); err != nil {
		return -1, err
	}
	return fd, derr
}

// pollLoop reads its share of the listeners; its goroutine owns conns
// once run starts.
type pollLoop struct {
	a       *Audience
	epfd    int
	conns   []pollConn // indexed by the epoll event's data
	stopped *atomic.Bool
}

// pollConn is one listener's frame state.
type pollConn struct {
	fd     int   // -1 once closed
	remain int64 // payload bytes of the current frame still to skip
	hdr    [10]byte
	nh     uint8 // header bytes in hdr
	ends   bool  // the current frame ends a data message
}

func (l *pollLoop) run() {
	defer l.a.wg.Done()
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for !l.stopped.Load() {
		// Level-triggered: one read per ready socket and round, and a
		// socket with more to read is reported again. The timeout lets
		// the loop see stop.
		n, err := syscall.EpollWait(l.epfd, events, 100)
		if err != nil && err != syscall.EINTR {
			return
		}
		for _, ev := range events[:max(n, 0)] {
			pc := &l.conns[ev.Fd]
			if pc.fd < 0 {
				continue
			}
			m, err := syscall.Read(pc.fd, buf)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if m <= 0 || !l.parse(pc, buf[:m]) {
				l.close(pc)
			}
		}
	}
}

// parse counts the messages that p completes; false means the listener
// is done (a close frame or a frame no server may send).
func (l *pollLoop) parse(pc *pollConn, p []byte) bool {
	for len(p) > 0 {
		if pc.remain > 0 {
			k := min(int64(len(p)), pc.remain)
			p, pc.remain = p[k:], pc.remain-k
			if pc.remain == 0 && pc.ends {
				l.a.delivered()
			}
			continue
		}
		if pc.nh < 2 {
			k := copy(pc.hdr[pc.nh:2], p)
			p, pc.nh = p[k:], pc.nh+uint8(k)
			if pc.nh < 2 {
				return true
			}
		}
		if pc.hdr[1]&0x80 != 0 {
			return false // masked: not from a server
		}
		need := uint8(2)
		switch pc.hdr[1] & 0x7F {
		case 126:
			need = 4
		case 127:
			need = 10
		}
		if pc.nh < need {
			k := copy(pc.hdr[pc.nh:need], p)
			p, pc.nh = p[k:], pc.nh+uint8(k)
			if pc.nh < need {
				return true
			}
		}
		var length int64
		switch need {
		case 2:
			length = int64(pc.hdr[1] & 0x7F)
		case 4:
			length = int64(binary.BigEndian.Uint16(pc.hdr[2:]))
		default:
			length = int64(binary.BigEndian.Uint64(pc.hdr[2:]))
		}
		op, fin := pc.hdr[0]&0xF, pc.hdr[0]&0x80 != 0
		if op == opClose || length < 0 {
			return false
		}
		pc.nh, pc.remain, pc.ends = 0, length, fin && op < opClose
		if length == 0 && pc.ends {
			l.a.delivered()
		}
	}
	return true
}

func (l *pollLoop) close(pc *pollConn) {
	if pc.fd >= 0 {
		syscall.Close(pc.fd) // leaves the epoll set with its last descriptor
		pc.fd = -1
	}
}

// closeAll closes the loop's sockets and its epoll set; after run
// returned, or before it started.
func (l *pollLoop) closeAll() {
	for i := range l.conns {
		l.close(&l.conns[i])
	}
	if l.epfd >= 0 {
		syscall.Close(l.epfd)
		l.epfd = -1
	}
}
