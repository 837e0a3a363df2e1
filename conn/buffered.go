package conn

// Buffered reports whether bytes already read from the connection wait to
// be consumed (frames the peer sent together with the last message), so
// that the next Reader call may return without the socket becoming
// readable again. Only the goroutine that reads may call it.
func (c *Conn) Buffered() bool { return c.rc.Buffered() > 0 }
