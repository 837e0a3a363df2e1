package conn

import (
	"net"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/raw"
)

// NewWithExtensions starts a session on nc, whose opening handshake agreed
// the extensions agreed (header is the server's Sec-WebSocket-Extensions
// value), as Accept and Dial do: for tests that drive a session with
// extensions without an HTTP handshake.
func NewWithExtensions(nc net.Conn, role raw.Role, header string, agreed []extension.Agreed, o *Options) *Conn {
	return newFromNet(nc, nil, role, "", header, agreed, o)
}
