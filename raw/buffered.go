package raw

import "github.com/hybi-go/hybi/frame"

// Buffered returns how many bytes have been read from the connection and
// not yet consumed: the rest of a frame, or whole frames the peer sent
// together with an earlier one. A readiness notifier (epoll) does not see
// them, so a caller that waits for the socket to become readable must
// first consume these. Like NextFrame and Read, it belongs to the reader.
func (c *Conn) Buffered() int { return c.w - c.r }

// FrameBuffered reports whether a whole frame, header and payload, waits
// in the read buffer after what is left of the current frame's payload:
// the next NextFrame, and the reads of that frame's payload, then make
// no system call. conn.WriteReply holds a reply only while one does, so
// that held replies are sent by the writes of a shallow stack rather than
// before a read at the bottom of a payload's, which would grow a reading
// goroutine's stack to 4 KiB for good. It belongs to the reader.
func (c *Conn) FrameBuffered() bool {
	if int64(c.w-c.r) <= c.remain {
		return false // in the caller, for every lone message: inlined
	}
	return c.frameAfterCurrent()
}

func (c *Conn) frameAfterCurrent() bool {
	h, n, err := frame.ParseHeader(c.rbuf[c.r+int(c.remain) : c.w])
	return err == nil && h.Length <= int64(c.w-c.r-int(c.remain)-n)
}
