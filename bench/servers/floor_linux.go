//go:build linux

package servers

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/hybi-go/hybi/frame"
)

// The floor is not a WebSocket library and never a peer: it is the least
// work an echo server can do per message on this kernel, to show how far
// any server, hybi included, can get ahead of the peers in the echo
// scenario. After gobwas's ws.Upgrade, each socket joins one of
// GOMAXPROCS edge-triggered epoll sets; the goroutine that waits on a set
// reads a ready socket until a short read, echoes every whole frame in
// the data with one write, and waits again. No goroutine per connection,
// no hand-off, no deadline, no allocation per message, no read that only
// learns the socket is empty: one read and one write per echo, which no
// server that answers each message can go below. It checks nothing a
// server must check (UTF-8, limits, fragments, close codes), so it is a
// bound, not an option.
func init() {
	register(&Lib{
		Name:      "floor",
		Reference: true,
		Scenarios: []string{"echo", "single", "pipeline"},
		Notes:     "not a library: the least work per echo (edge-triggered epoll, one read and one write per message, no checks), a bound for every server",
		Serve:     serveFloor,
	})
}

type floorLoop struct {
	epfd int
	mu   sync.Mutex
	// conns is indexed by descriptor; the loop's goroutine owns each
	// floorConn's buffers once it is in the map.
	conns map[int32]*floorConn
}

type floorConn struct {
	fd  int
	in  []byte // unread bytes in in[:n]
	n   int
	out []byte
}

func serveFloor(ln net.Listener, o Options) error {
	if o.Deflate {
		return errors.New("floor: no permessage-deflate")
	}
	loops := make([]*floorLoop, runtime.GOMAXPROCS(0))
	for i := range loops {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		loops[i] = &floorLoop{epfd: epfd, conns: map[int32]*floorConn{}}
		go loops[i].run()
	}
	for next := 0; ; next++ {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		l := loops[next%len(loops)]
		go func() {
			if _, err := ws.Upgrade(nc); err != nil {
				nc.Close()
				return
			}
			// The loop reads and writes a duplicate descriptor; closing
			// nc takes the original out of the runtime's poller. Both
			// share one open file, nonblocking.
			rc, err := nc.(syscall.Conn).SyscallConn()
			if err != nil {
				nc.Close()
				return
			}
			fd := -1
			rc.Control(func(s uintptr) { fd, _ = syscall.Dup(int(s)) })
			nc.Close()
			if fd < 0 {
				return
			}
			c := &floorConn{fd: fd, in: make([]byte, 32<<10), out: make([]byte, 0, 32<<10)}
			l.mu.Lock()
			l.conns[int32(fd)] = c
			l.mu.Unlock()
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | -syscall.EPOLLET, Fd: int32(fd)}
			if syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
				l.drop(c)
			}
		}()
	}
}

func (l *floorLoop) drop(c *floorConn) {
	l.mu.Lock()
	delete(l.conns, int32(c.fd))
	l.mu.Unlock()
	syscall.Close(c.fd)
}

func (l *floorLoop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			l.mu.Lock()
			c := l.conns[ev.Fd]
			l.mu.Unlock()
			if c != nil && !c.serve() {
				l.drop(c)
			}
		}
	}
}

// serve reads c until a short read and echoes what it got; false means
// the connection is done.
func (c *floorConn) serve() bool {
	for {
		if c.n == len(c.in) {
			c.in = append(c.in, make([]byte, len(c.in))...)
		}
		free := len(c.in) - c.n
		m, err := syscall.Read(c.fd, c.in[c.n:])
		if err == syscall.EAGAIN {
			return true
		}
		if err != nil || m == 0 {
			return false
		}
		c.n += m
		if !c.echo() {
			return false
		}
		if m < free {
			return true // drained: the next data is a new edge
		}
	}
}

// echo answers every whole frame in c.in with one write.
func (c *floorConn) echo() bool {
	p := 0
	c.out = c.out[:0]
	for {
		b := c.in[p:c.n]
		if len(b) < 2 {
			break
		}
		hl := 2
		length := int(b[1] & 0x7f)
		switch length {
		case 126:
			hl += 2
		case 127:
			hl += 8
		}
		hl += 4 // clients mask
		if len(b) < hl {
			break
		}
		switch length {
		case 126:
			length = int(binary.BigEndian.Uint16(b[2:]))
		case 127:
			length = int(binary.BigEndian.Uint64(b[2:]))
		}
		if len(b) < hl+length {
			break
		}
		key := [4]byte(b[hl-4 : hl])
		op := b[0] & 0x0f
		p += hl + length
		switch op {
		case 0x8:
			return false
		case 0xa:
			continue
		case 0x9:
			op = 0xa
		}
		c.out = append(c.out, b[0]&0xf0|op)
		switch {
		case length < 126:
			c.out = append(c.out, byte(length))
		case length <= 0xffff:
			c.out = binary.BigEndian.AppendUint16(append(c.out, 126), uint16(length))
		default:
			c.out = binary.BigEndian.AppendUint64(append(c.out, 127), uint64(length))
		}
		start := len(c.out)
		c.out = append(c.out, b[hl:hl+length]...)
		frame.Mask(key, 0, c.out[start:])
	}
	c.n = copy(c.in, c.in[p:c.n])
	for w := c.out; len(w) > 0; {
		m, err := syscall.Write(c.fd, w)
		if err == syscall.EAGAIN {
			// The peer is slow to read: wait for room, as a blocking
			// write would.
			pfd := [1]struct {
				fd             int32
				events, revent int16
			}{{fd: int32(c.fd), events: 0x4}} // POLLOUT
			syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&pfd)), 1, 1000)
			continue
		}
		if err != nil {
			return false
		}
		w = w[m:]
	}
	return true
}
