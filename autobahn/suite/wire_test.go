package suite

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// resetConn is a connection whose peer has sent its last frames and then
// ended it while we were still sending, as an HTTP/2 server does when its
// handler returns (END_STREAM, then RST_STREAM(NO_ERROR), RFC 9113,
// Section 8.1): writes fail, and what the peer sent is readable until
// Close, which discards it, as closing a response body does.
type resetConn struct {
	net.Conn // nil; only what the session uses is implemented

	mu     sync.Mutex
	failed chan struct{} // closed by the first failed write
	once   sync.Once
	closed chan struct{}
	data   *bytes.Reader
}

func newResetConn(data []byte) *resetConn {
	return &resetConn{failed: make(chan struct{}), closed: make(chan struct{}), data: bytes.NewReader(data)}
}

func (c *resetConn) Write(p []byte) (int, error) {
	c.once.Do(func() { close(c.failed) })
	return 0, errors.New("stream reset by the peer (NO_ERROR)")
}

// Read delivers the peer's frames only once a write has failed, so that
// the test does not depend on which goroutine runs first.
func (c *resetConn) Read(p []byte) (int, error) {
	select {
	case <-c.failed:
	case <-c.closed:
		return 0, net.ErrClosed
	}
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data.Read(p)
}

func (c *resetConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return nil
}

// TestWriteFailureKeepsReading: a write that fails because the peer ended
// the connection must not throw away what the peer sent before it ended:
// the session reads on until the end. Over HTTP/2 hybi's server ends the
// stream right after its close frame, and the runner's writes still in
// flight then fail; closing the stream at the first failed write lost the
// server's echo and close frame (4.1.5 and 4.2.5 came out NON-STRICT, now
// and then).
func TestWriteFailureKeepsReading(t *testing.T) {
	var peer []byte
	peer = appendHeader(peer, header{fin: true, op: opText, length: 2})
	peer = append(peer, "hi"...)
	peer = appendHeader(peer, header{fin: true, op: opClose, length: 2})
	peer = append(peer, 0x03, 0xe8)
	nc := newResetConn(peer)
	c := &Case{ID: "x", Start: func(s *Session) {
		s.expect(OK, Event{Kind: "message", Len: 2})
		s.expectClose(false, false, 1000)
		s.message(false, []byte("a message the peer no longer reads"), 0)
	}}
	s := newSession(c, &Options{CloseTimeout: 200 * time.Millisecond, MaxWait: 5 * time.Second}, nc, nil, false)
	s.run()
	if len(s.received) != 1 || s.received[0].Len != 2 {
		t.Errorf("received %v; want the peer's message", s.received)
	}
	if s.remoteCloseCode == nil || *s.remoteCloseCode != 1000 {
		t.Errorf("remote close code %v; want the peer's 1000", s.remoteCloseCode)
	}
}
