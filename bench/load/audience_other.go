//go:build !linux

package load

// ListenPoll is Listen where epoll is not available.
func ListenPoll(conns []*Conn, silent, loops int) (*Audience, error) {
	return Listen(conns, silent), nil
}
