package servers

import (
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func init() {
	registerBroadcast(&BroadcastLib{
		Name:  "gobwas",
		Notes: "as gobwas/ws-examples' chat: ws.Upgrade on the net.Conn, the frame compiled once (ws.CompileFrame) and one write task per connection scheduled on a pool of 128 goroutines, each write under the user's mutex with a 10 s deadline",
		Serve: serveGobwasBroadcast,
	})
}

type gobwasUser struct {
	mu sync.Mutex
	nc net.Conn
}

func (u *gobwasUser) writeRaw(p []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.nc.SetWriteDeadline(time.Now().Add(broadcastWriteTimeout))
	u.nc.Write(p)
}

func serveGobwasBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	var mu sync.Mutex
	users := map[*gobwasUser]struct{}{}
	tasks := make(chan func(), 128)
	for range 128 {
		go func() {
			for t := range tasks {
				t()
			}
		}()
	}
	serve := func() error {
		return serveGobwasConns(ln, o, func(nc net.Conn) {
			u := &gobwasUser{nc: nc}
			mu.Lock()
			users[u] = struct{}{}
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(users, u)
				mu.Unlock()
			}()
			for {
				if _, _, err := wsutil.ReadClientData(nc); err != nil {
					return
				}
			}
		})
	}
	broadcast := func(p []byte) {
		f, err := ws.CompileFrame(ws.NewTextFrame(p))
		if err != nil {
			return
		}
		mu.Lock()
		list := make([]*gobwasUser, 0, len(users))
		for u := range users {
			list = append(list, u)
		}
		mu.Unlock()
		for _, u := range list {
			tasks <- func() { u.writeRaw(f) }
		}
	}
	return broadcast, serve
}
