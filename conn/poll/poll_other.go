//go:build !linux

package poll

import (
	"errors"
	"fmt"

	"github.com/hybi-go/hybi/conn"
)

// Poller is unavailable off Linux: New returns an error wrapping
// errors.ErrUnsupported.
type Poller struct{}

// New returns an error wrapping errors.ErrUnsupported off Linux.
func New(o *Options) (*Poller, error) {
	return nil, fmt.Errorf("poll: epoll: %w", errors.ErrUnsupported)
}

// Serve is unsupported off Linux.
func (p *Poller) Serve(c *conn.Conn, h Handler) error { return errors.ErrUnsupported }

// Len is 0 off Linux.
func (p *Poller) Len() int { return 0 }

// Close does nothing off Linux.
func (p *Poller) Close() error { return nil }
