//go:build linux

package servers

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"

	"github.com/gobwas/ws"
)

// The broadcast floor is not a library and never a peer: the least work a
// fan-out can do on this kernel. After gobwas's ws.Upgrade it keeps each
// socket's descriptor; a broadcast compiles the frame once and splits the
// sockets among GOMAXPROCS goroutines, each making one write(2) per
// socket: no goroutine per connection, no queue, no lock, no deadline. A
// write that would block is skipped (the floor never waits, and drops),
// and it reads nothing. It shows how much of a fan-out is the kernel's.
func init() {
	registerBroadcast(&BroadcastLib{
		Name:      "floor",
		Reference: true,
		Notes:     "not a library: one write(2) per socket of a frame compiled once, from GOMAXPROCS goroutines, nothing else; a bound for every server",
		Serve:     serveFloorBroadcast,
	})
}

func serveFloorBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	var mu sync.Mutex
	var fds []int
	var keep []net.Conn // the descriptors stay open while their conns are referenced
	serve := func() error {
		if o.Deflate {
			return errors.New("floor: no permessage-deflate")
		}
		for {
			nc, err := ln.Accept()
			if err != nil {
				return err
			}
			go func() {
				if _, err := ws.Upgrade(nc); err != nil {
					nc.Close()
					return
				}
				rc, err := nc.(*net.TCPConn).SyscallConn()
				if err != nil {
					nc.Close()
					return
				}
				rc.Control(func(fd uintptr) {
					mu.Lock()
					fds = append(fds, int(fd))
					keep = append(keep, nc)
					mu.Unlock()
				})
			}()
		}
	}
	broadcast := func(p []byte) {
		f, err := ws.CompileFrame(ws.NewTextFrame(p))
		if err != nil {
			return
		}
		mu.Lock()
		list := fds
		mu.Unlock()
		n := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, fd := range list[i*len(list)/n : (i+1)*len(list)/n] {
					syscall.Write(fd, f)
				}
			}()
		}
		wg.Wait()
	}
	return broadcast, serve
}
