package conn

import (
	"context"
	"io"

	"github.com/hybi-go/hybi/frame"
)

// messageReader reads one data message. It is reused for every message of
// a Conn, so reading allocates nothing.
type messageReader struct {
	c      *Conn
	ctx    context.Context
	typ    MessageType
	active bool  // a message is open and not read to its end
	fin    bool  // the current frame is the message's last
	n      int64 // bytes of the message read so far
	utf8   frame.UTF8
}

// Reader waits for the next data message and returns its type and a
// reader for its payload, valid until the next call to Reader or Read.
// Whatever was left unread of the previous message is discarded. Control
// frames that arrive meanwhile are handled: pings answered, pongs noted,
// a close answered and returned as a *CloseError.
//
// ctx bounds this call and the reads of the returned reader. Cancelling it
// returns ctx.Err() and leaves the connection open; the message can be
// read on after a cancel, or discarded by the next Reader call.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := lock(ctx, c.readMu, c.peerClose); err != nil {
		if err == ErrClosed {
			err = c.terminal()
		}
		return 0, nil, err
	}
	defer func() { <-c.readMu }()
	m := &c.msg
	m.ctx = ctx
	if m.active {
		if err := m.drain(); err != nil {
			return 0, nil, err
		}
	}
	if err := c.terminal(); err != nil {
		return 0, nil, err
	}
	h, err := c.nextData(ctx)
	if err != nil {
		return 0, nil, err
	}
	m.typ = MessageType(h.Opcode)
	m.fin = h.Fin
	m.n = 0
	m.utf8.Reset()
	m.active = true
	if err := m.checkLimit(h.Length); err != nil {
		return 0, nil, err
	}
	return m.typ, m, nil
}

// drain discards the rest of an unfinished message.
func (m *messageReader) drain() error {
	// The control frame buffer is free between frames; discarded data may
	// pass through it.
	for m.active {
		if _, err := m.read(m.c.ctrl[:]); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

func (m *messageReader) checkLimit(frameLen int64) error {
	if l := m.c.opts.ReadLimit; l > 0 && m.n+frameLen > l {
		return m.c.fail(m.ctx, frame.ErrMessageTooBig)
	}
	return nil
}

func (m *messageReader) Read(p []byte) (int, error) {
	c := m.c
	if err := lock(m.ctx, c.readMu, c.peerClose); err != nil {
		if err == ErrClosed {
			err = c.terminal()
		}
		return 0, err
	}
	defer func() { <-c.readMu }()
	return m.read(p)
}

// read is Read with the read lock held.
func (m *messageReader) read(p []byte) (int, error) {
	c := m.c
	if !m.active {
		return 0, io.EOF
	}
	for {
		if c.rc.Remaining() == 0 {
			if m.fin {
				m.active = false
				if m.typ == MessageText && !m.utf8.Done() {
					return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
				}
				return 0, io.EOF
			}
			h, err := c.nextData(m.ctx)
			if err != nil {
				return 0, err
			}
			m.fin = h.Fin
			if err := m.checkLimit(h.Length); err != nil {
				return 0, err
			}
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := c.rc.Read(p)
		if n > 0 {
			m.n += int64(n)
			if m.typ == MessageText && !m.utf8.Write(p[:n]) {
				return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
			}
			if m.fin && c.rc.Remaining() == 0 {
				// End the message now, so that a caller who read exactly
				// its length need not come back for io.EOF.
				m.active = false
				if m.typ == MessageText && !m.utf8.Done() {
					return 0, c.fail(m.ctx, frame.ErrInvalidUTF8)
				}
			}
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, c.fail(m.ctx, err)
		}
	}
}

// Read reads the next whole data message. It is Reader followed by reading
// to the end; the returned slice is the caller's.
func (c *Conn) Read(ctx context.Context) (MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	m := r.(*messageReader)
	// A single-frame message has a known size: allocate it exactly.
	var b []byte
	if rem := c.rc.Remaining(); m.fin {
		b = make([]byte, 0, rem)
	} else {
		b = make([]byte, 0, min(rem*2+512, 64<<10))
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return typ, b, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}
