package servers

import (
	"net"
	"net/http"

	"github.com/lxzan/gws"
)

func init() {
	registerBroadcast(&BroadcastLib{
		Name:    "gws",
		Deflate: true,
		Notes:   "as its examples/push: Upgrader + ReadLoop per conn, a ConcurrentMap of conns, gws.NewBroadcaster per message and Broadcast to each (framed and compressed once, written by each conn's async write queue, which has no bound)",
		Serve:   serveGwsBroadcast,
	})
}

type gwsBroadcast struct {
	gws.BuiltinEventHandler
	conns *gws.ConcurrentMap[*gws.Conn, struct{}]
}

func (h *gwsBroadcast) OnOpen(c *gws.Conn)             { h.conns.Store(c, struct{}{}) }
func (h *gwsBroadcast) OnClose(c *gws.Conn, err error) { h.conns.Delete(c) }
func (h *gwsBroadcast) OnMessage(c *gws.Conn, m *gws.Message) {
	m.Close()
}

func serveGwsBroadcast(ln net.Listener, o Options) (func([]byte), func() error) {
	h := &gwsBroadcast{conns: gws.NewConcurrentMap[*gws.Conn, struct{}]()}
	up := gws.NewUpgrader(h, &gws.ServerOption{
		PermessageDeflate: gws.PermessageDeflate{Enabled: o.Deflate},
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
	broadcast := func(p []byte) {
		b := gws.NewBroadcaster(gws.OpcodeText, p)
		h.conns.Range(func(c *gws.Conn, _ struct{}) bool {
			_ = b.Broadcast(c)
			return true
		})
		_ = b.Close()
	}
	return broadcast, func() error { return serveHTTP(ln, handler, o) }
}
