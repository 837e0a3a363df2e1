package servers

import (
	"errors"
	"net"
)

// floor-netpoll is the floor's work served the way a Go server that
// gives each connection a goroutine is served: the connection's goroutine
// reads with net.Conn.Read and echoes every whole frame with one Write.
// It is not a library and never a peer: it is the least such a server
// can do per echo. Go's poller has one rule the floor does not: a reader
// tries the read system call before it waits (the wait forgets earlier
// readiness), so every echo costs a read that only learns the socket is
// empty, beside the one that gets the message. Against the floor it
// shows what that rule costs, which hybi's default (a goroutine per
// connection, over the same poller) cannot go below.
func init() {
	register(&Lib{
		Name:      "floor-netpoll",
		Reference: true,
		Scenarios: []string{"echo"},
		Notes:     "not a library: the floor's work (one write per echo, no checks) with a goroutine per connection over Go's poller, whose reads try the socket before they wait (two reads per echo); the bound for a server built that way, hybi's default included",
		Serve:     serveFloorNetpoll,
	})
}

func serveFloorNetpoll(ln net.Listener, o Options) error {
	if o.Deflate {
		return errors.New("floor-netpoll: no permessage-deflate")
	}
	// Accepted and upgraded as gobwas's server is, each connection in
	// its own goroutine.
	return serveGobwasConns(ln, o, floorNetpollEcho)
}

// floorNetpollEcho reads nc and echoes every whole frame with one write.
func floorNetpollEcho(nc net.Conn) { floorNetpollLoop(nc, nil) }

// floorNetpollLoop is floorNetpollEcho, calling work, if not nil, between
// each read and its write: the reference variants of costrefs.go add
// their work to the floor's there.
func floorNetpollLoop(nc net.Conn, work func()) {
	f := newFloorFrames()
	for {
		f.grow()
		m, err := nc.Read(f.in[f.n:])
		if err != nil {
			return
		}
		f.n += m
		if !f.answer() {
			return
		}
		if work != nil {
			work()
		}
		if len(f.out) > 0 {
			if _, err := nc.Write(f.out); err != nil {
				return
			}
		}
	}
}
