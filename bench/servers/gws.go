package servers

import (
	"net"
	"net/http"

	"github.com/lxzan/gws"
)

func init() {
	register(&Lib{
		Name:        "gws",
		Deflate:     true,
		DeflateMode: "PermessageDeflate{Enabled: true} (defaults: no context takeover)",
		Notes:       "NewUpgrader + event handler (OnMessage echoes), ReadLoop per conn, as its examples/echo does",
		Serve:       serveGws,
	})
}

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func serveGws(ln net.Listener, o Options) error {
	up := gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{
		ReadMaxPayloadSize: readLimit,
		PermessageDeflate:  gws.PermessageDeflate{Enabled: o.Deflate},
	})
	return serveHTTP(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}), o)
}
