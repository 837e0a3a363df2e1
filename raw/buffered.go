package raw

// Buffered returns how many bytes have been read from the connection and
// not yet consumed: the rest of a frame, or whole frames the peer sent
// together with an earlier one. A readiness notifier (epoll) does not see
// them, so a caller that waits for the socket to become readable must
// first consume these. Like NextFrame and Read, it belongs to the reader.
func (c *Conn) Buffered() int { return c.w - c.r }
