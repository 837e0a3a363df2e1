package servers

import (
	"crypto/tls"

	"github.com/hybi-go/hybi/internal/selfsigned"
)

// SelfSigned returns a server TLS configuration with a new self-signed
// certificate for 127.0.0.1 and ::1, valid for a day. The load client,
// on loopback only, does not verify it.
func SelfSigned() (*tls.Config, error) {
	c, err := selfsigned.New("hybi bench-server")
	if err != nil {
		return nil, err
	}
	return c.ServerConfig(), nil
}
