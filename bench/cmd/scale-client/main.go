//go:build linux

// Command scale-client is the load client of the matrix's scale scenario:
// it opens many WebSocket connections to one scale-server from the source
// addresses 127.0.0.1 to 127.0.0.SRC, holds them, and reports when every
// one of them has received the server's broadcast.
//
//	scale-client -addr 127.0.0.1:PORT -n 16667 -src 16 -timeout 2m
//
// It is lean so that it does not weigh on what it measures: one goroutine
// and one epoll set for all its sockets, no buffer per connection (one
// shared read buffer; per connection only a state byte and a count), and a
// fixed handshake request (the servers check a key's form, not its
// randomness).
//
// It prints JSON lines on stdout: once every connection is open or has
// failed, {"ok","failed","err","connect_ns"}; then, for each broadcast
// round, once every open connection has that round's message (or the
// timeout ran out), {"round","got","lost","last_unix_ns"}: the wall-clock
// time the last one arrived, which the parent compares with the time it
// ordered the broadcast. It exits at the timeout or when stdin closes.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

// The broadcast frame: FIN + text, 16-byte unmasked payload.
const frameLen = 2 + 16

// ipBindAddressNoPort (IP_BIND_ADDRESS_NO_PORT, Linux 4.2) defers the
// choice of the source port from bind to connect, so that a port is only
// taken per destination: bind alone would reserve one per socket and
// exhaust 32768-60999 for the source address.
const ipBindAddressNoPort = 24

const (
	stConnecting = iota + 1
	stHandshake
	stOpen
	stClosed
)

type client struct {
	epfd     int
	dst      syscall.SockaddrInet4
	req      []byte
	state    []uint8  // by descriptor
	got      []uint16 // bytes of the broadcast received, by descriptor
	partial  map[int][]byte
	inflight int
	ok       int
	failed   int
	lost     int
	firstErr error
	// For broadcast round r (from 1): how many connections have it
	// whole, and when the last of them got it.
	roundDone []int
	roundLast []time.Time
	reported  int // rounds reported so far
}

func main() {
	addr := flag.String("addr", "", "server address, 127.0.0.1:PORT")
	n := flag.Int("n", 1000, "connections")
	src := flag.Int("src", 16, "source addresses 127.0.0.1 to 127.0.0.SRC")
	inflight := flag.Int("inflight", 512, "connections being opened at once")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up and exit after this long")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("scale-client: ")

	ta, err := net.ResolveTCPAddr("tcp4", *addr)
	if err != nil || !ta.IP.IsLoopback() {
		log.Fatalf("-addr %q: a loopback IPv4 address", *addr)
	}
	if *src < 1 || *src > 254 {
		log.Fatal("-src: 1 to 254")
	}
	raiseNoFile()
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		log.Fatal(err)
	}
	c := &client{epfd: epfd, partial: map[int][]byte{}}
	c.dst.Port = ta.Port
	copy(c.dst.Addr[:], ta.IP.To4())
	c.req = []byte("GET / HTTP/1.1\r\nHost: " + *addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")

	quit := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).WriteTo(discard{})
		close(quit)
	}()
	deadline := time.Now().Add(*timeout)
	out := json.NewEncoder(os.Stdout)

	start := time.Now()
	events := make([]syscall.EpollEvent, 1024)
	buf := make([]byte, 64<<10)
	started, readySent := 0, false
	for {
		select {
		case <-quit:
			return
		default:
		}
		if time.Now().After(deadline) {
			if !readySent {
				c.firstErr = fmt.Errorf("timeout with %d of %d open", c.ok, *n)
				c.failed = *n - c.ok
				c.ready(out, start)
			}
			c.result(out) // the round under way, however far it got
			return
		}
		for started < *n && c.inflight < *inflight {
			c.dial(byte(1 + started%*src))
			started++
		}
		if !readySent && c.ok+c.failed == *n {
			c.ready(out, start)
			readySent = true
		}
		for readySent && c.ok > 0 && c.reported+1 < len(c.roundDone) && c.roundDone[c.reported+1]+c.lost >= c.ok {
			c.result(out)
		}
		k, err := syscall.EpollWait(epfd, events, 50)
		if err != nil && err != syscall.EINTR {
			log.Fatal(err)
		}
		for _, ev := range events[:max(k, 0)] {
			c.event(int(ev.Fd), ev.Events, buf)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (c *client) ready(out *json.Encoder, start time.Time) {
	r := map[string]any{"ok": c.ok, "failed": c.failed, "connect_ns": int64(time.Since(start))}
	if c.firstErr != nil {
		r["err"] = c.firstErr.Error()
	}
	out.Encode(r)
}

// result reports the next round: how many have it, and when the last did.
func (c *client) result(out *json.Encoder) {
	c.reported++
	r := map[string]any{"round": c.reported, "got": 0, "lost": c.lost, "last_unix_ns": 0}
	if c.reported < len(c.roundDone) {
		r["got"], r["last_unix_ns"] = c.roundDone[c.reported], c.roundLast[c.reported].UnixNano()
	}
	out.Encode(r)
}

func (c *client) fail(fd int, err error) {
	if c.firstErr == nil {
		c.firstErr = err
	}
	switch c.state[fd] {
	case stConnecting, stHandshake:
		c.inflight--
		c.failed++
	case stOpen:
		c.lost++
	}
	c.state[fd] = stClosed
	delete(c.partial, fd)
	syscall.Close(fd)
}

func (c *client) track(fd int) {
	for fd >= len(c.state) {
		c.state = append(c.state, 0)
		c.got = append(c.got, 0)
	}
}

func (c *client) dial(srcHost byte) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		c.failed++
		if c.firstErr == nil {
			c.firstErr = fmt.Errorf("socket: %w", err)
		}
		return
	}
	c.track(fd)
	c.state[fd] = stConnecting
	c.got[fd] = 0
	c.inflight++
	syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, srcHost}}); err != nil {
		c.fail(fd, fmt.Errorf("bind 127.0.0.%d: %w", srcHost, err))
		return
	}
	if err := syscall.Connect(fd, &c.dst); err != nil && err != syscall.EINPROGRESS {
		c.fail(fd, fmt.Errorf("connect from 127.0.0.%d: %w", srcHost, err))
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT, Fd: int32(fd)}
	if err := syscall.EpollCtl(c.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		c.fail(fd, err)
	}
}

func (c *client) event(fd int, events uint32, buf []byte) {
	switch c.state[fd] {
	case stConnecting:
		if errno, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR); err != nil || errno != 0 {
			c.fail(fd, fmt.Errorf("connect: %w", syscall.Errno(errno)))
			return
		}
		if n, err := syscall.Write(fd, c.req); err != nil || n != len(c.req) {
			c.fail(fd, fmt.Errorf("write handshake: %d bytes, %v", n, err))
			return
		}
		c.state[fd] = stHandshake
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
		if err := syscall.EpollCtl(c.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
			c.fail(fd, err)
		}
	case stHandshake:
		n, err := syscall.Read(fd, buf)
		if err == syscall.EAGAIN {
			return
		}
		if n <= 0 {
			c.fail(fd, fmt.Errorf("handshake read: %d, %v", n, err))
			return
		}
		resp := append(c.partial[fd], buf[:n]...)
		end := bytes.Index(resp, []byte("\r\n\r\n"))
		if end < 0 {
			if len(resp) > 4096 {
				c.fail(fd, fmt.Errorf("handshake response too long"))
				return
			}
			c.partial[fd] = resp
			return
		}
		delete(c.partial, fd)
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
			line, _, _ := bytes.Cut(resp, []byte("\r\n"))
			c.fail(fd, fmt.Errorf("handshake refused: %q", line))
			return
		}
		c.state[fd] = stOpen
		c.inflight--
		c.ok++
		if rest := len(resp) - end - 4; rest > 0 {
			c.data(fd, resp[end+4:])
		}
	case stOpen:
		n, err := syscall.Read(fd, buf)
		if err == syscall.EAGAIN {
			return
		}
		if n <= 0 {
			c.fail(fd, fmt.Errorf("connection lost: %d, %v", n, err))
			return
		}
		c.data(fd, buf[:n])
	}
}

// data counts the bytes of the broadcast frames, checking the header of
// each frame that starts at the beginning of p, and notes each round a
// connection completes.
func (c *client) data(fd int, p []byte) {
	g := int(c.got[fd])
	if g%frameLen == 0 && len(p) >= 2 && (p[0] != 0x81 || p[1] != frameLen-2) {
		c.fail(fd, fmt.Errorf("unexpected frame header % x", p[:2]))
		return
	}
	ng := g + len(p)
	if ng >= 1<<16 {
		c.fail(fd, fmt.Errorf("more broadcasts than counted"))
		return
	}
	c.got[fd] = uint16(ng)
	now := time.Now()
	for r := g/frameLen + 1; r <= ng/frameLen; r++ {
		for r >= len(c.roundDone) {
			c.roundDone = append(c.roundDone, 0)
			c.roundLast = append(c.roundLast, time.Time{})
		}
		c.roundDone[r]++
		c.roundLast[r] = now
	}
}

func raiseNoFile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}
