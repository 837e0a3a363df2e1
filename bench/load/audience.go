package load

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Audience is a set of connections that only receive, for broadcast
// scenarios: the listeners read every message and count it, the silent
// ones never read (slow consumers, whose receive buffers are shrunk so
// that the server's writes to them block soon).
type Audience struct {
	conns     []*Conn
	listeners int
	got       atomic.Int64 // messages received by listeners, in all
	want      atomic.Int64 // got at which the current round is complete
	last      atomic.Int64 // UnixNano when got reached want
	reached   chan struct{}
	wg        sync.WaitGroup
	// stop, if set, ends the readers of ListenPoll before the
	// connections are closed.
	stop func()
}

// Listen starts reading on conns, except for silent of them, spread
// evenly, which never read: a goroutine and a bufio.Reader per listener.
func Listen(conns []*Conn, silent int) *Audience {
	a := newAudience(conns)
	for _, c := range a.listening(silent) {
		a.wg.Add(1)
		go a.listen(c)
	}
	return a
}

func newAudience(conns []*Conn) *Audience {
	a := &Audience{conns: conns, reached: make(chan struct{}, 1)}
	a.want.Store(-1)
	return a
}

// listening returns the connections that read, leaving out silent of
// them, spread evenly, whose receive buffers it shrinks.
func (a *Audience) listening(silent int) []*Conn {
	every := 0
	if silent > 0 {
		every = len(a.conns) / silent
	}
	var l []*Conn
	for i, c := range a.conns {
		if every > 0 && i%every == every-1 && silent > 0 {
			silent--
			if tc, ok := c.nc.(*net.TCPConn); ok {
				tc.SetReadBuffer(4096)
			}
			continue
		}
		l = append(l, c)
	}
	a.listeners = len(l)
	return l
}

// Listeners returns how many connections read.
func (a *Audience) Listeners() int { return a.listeners }

func (a *Audience) listen(c *Conn) {
	defer a.wg.Done()
	for {
		if _, err := c.ReadEcho(nil); err != nil {
			return
		}
		a.delivered()
	}
}

// delivered counts one message a listener received whole.
func (a *Audience) delivered() {
	if a.got.Add(1) == a.want.Load() {
		a.last.Store(time.Now().UnixNano())
		select {
		case a.reached <- struct{}{}:
		default:
		}
	}
}

// ErrRoundTimeout is returned by Round when some listener did not get the
// message in time.
var ErrRoundTimeout = errors.New("not every listener got the broadcast in time")

// Round measures one broadcast: from the call of trigger until every
// listener has received one more message. It returns the time and how
// many listeners got the message (all of them unless err is not nil).
func (a *Audience) Round(ctx context.Context, trigger func() error, timeout time.Duration) (time.Duration, int, error) {
	base := a.got.Load()
	a.want.Store(base + int64(a.listeners))
	select {
	case <-a.reached:
	default:
	}
	t0 := time.Now()
	if err := trigger(); err != nil {
		return 0, 0, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-a.reached:
		return time.Unix(0, a.last.Load()).Sub(t0), a.listeners, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return time.Since(t0), int(a.got.Load() - base), ErrRoundTimeout
}

// Close closes every connection and waits for the listeners to return.
func (a *Audience) Close() {
	if a.stop != nil {
		a.stop()
	}
	CloseAll(a.conns)
	a.wg.Wait()
}
