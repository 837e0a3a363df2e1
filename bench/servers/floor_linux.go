//go:build linux

package servers

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/gobwas/ws"
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
	fd int
	floorFrames
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
			c := &floorConn{fd: fd, floorFrames: newFloorFrames()}
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
		c.grow()
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
	if !c.answer() {
		return false
	}
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
