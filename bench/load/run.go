package load

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// SourceIPs returns n loopback source addresses, 127.0.0.1 to 127.0.0.n.
func SourceIPs(n int) []net.IP {
	ips := make([]net.IP, n)
	for i := range ips {
		ips[i] = net.IPv4(127, 0, 0, byte(1+i))
	}
	return ips
}

// DialMany opens n connections, parallel at a time, spreading them over
// the source addresses ips.
func DialMany(ctx context.Context, addr string, n, parallel int, ips []net.IP, o DialOptions) ([]*Conn, error) {
	conns := make([]*Conn, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				var err error
				for try := 0; try < len(ips); try++ {
					oo := o
					oo.LocalIP = ips[(i+try)%len(ips)]
					conns[i], err = Dial(ctx, addr, oo)
					if err == nil || !IsAddrShortage(err) {
						break
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("dial %d of %d: %w", i, n, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		CloseAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

// CloseAll closes every non-nil connection.
func CloseAll(conns []*Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// Message is what a run sends: a prebuilt frame and how to check its echo.
type Message struct {
	Frame   []byte // framed and masked, shared by every connection
	Op      byte
	Payload []byte // the uncompressed payload, to check the first echo
	// Compressed says the frame carries a deflated payload (RSV1).
	Compressed bool
}

// NewMessage builds a message; with compress, its payload is deflated.
func NewMessage(op byte, payload []byte, compress bool) *Message {
	m := &Message{Op: op, Payload: payload, Compressed: compress}
	if compress {
		m.Frame = BuildFrame(op, true, Compress(payload))
	} else {
		m.Frame = BuildFrame(op, false, payload)
	}
	return m
}

// Check sends m on c and checks the echo byte for byte.
func Check(c *Conn, m *Message) error {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.Write(m.Frame); err != nil {
		return err
	}
	keep := make([]byte, len(m.Frame)+64)
	e, err := c.ReadEcho(keep)
	if err != nil {
		return err
	}
	if e.Op != m.Op {
		return fmt.Errorf("echo opcode %d, want %d", e.Op, m.Op)
	}
	got := keep[:e.Length]
	if e.RSV1 {
		if got, err = Decompress(got); err != nil {
			return fmt.Errorf("inflating echo: %w", err)
		}
	}
	if !bytes.Equal(got, m.Payload) {
		return fmt.Errorf("echo differs: %d bytes, want %d", len(got), len(m.Payload))
	}
	return nil
}

// CheckAll runs Check on every connection, parallel at a time.
func CheckAll(conns []*Conn, m *Message, parallel int) error {
	var next atomic.Int64
	errc := make(chan error, parallel)
	for range parallel {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					errc <- nil
					return
				}
				if err := Check(conns[i], m); err != nil {
					errc <- fmt.Errorf("conn %d: %w", i, err)
					return
				}
			}
		}()
	}
	var first error
	for range parallel {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Result is the outcome of a run.
type Result struct {
	Count   uint64        // echoes completed inside the window
	Elapsed time.Duration // the window
	P50     time.Duration
	P99     time.Duration
	Errors  int
	Err     error // the first error, if any
}

// Rate returns echoes per second.
func (r Result) Rate() float64 { return float64(r.Count) / r.Elapsed.Seconds() }

const (
	phaseWarmup = iota
	phaseMeasure
	phaseStop
)

type runState struct {
	phase  atomic.Int32
	hist   Histogram
	count  atomic.Uint64
	errs   atomic.Int64
	errMu  sync.Mutex
	first  error
	wg     sync.WaitGroup
	window time.Duration
}

func (s *runState) fail(err error) {
	if s.phase.Load() == phaseStop {
		return
	}
	s.errs.Add(1)
	s.errMu.Lock()
	if s.first == nil {
		s.first = err
	}
	s.errMu.Unlock()
}

func (s *runState) run(conns []*Conn, warmup, d time.Duration, work func(i int, c *Conn)) Result {
	for i, c := range conns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			work(i, c)
		}()
	}
	time.Sleep(warmup)
	start := time.Now()
	s.phase.Store(phaseMeasure)
	time.Sleep(d)
	s.phase.Store(phaseStop)
	elapsed := time.Since(start)
	for _, c := range conns {
		c.Interrupt()
	}
	s.wg.Wait()
	r := Result{Count: s.count.Load(), Elapsed: elapsed, Errors: int(s.errs.Load()), Err: s.first}
	_, q := s.hist.Quantiles(0.5, 0.99)
	r.P50, r.P99 = q[0], q[1]
	return r
}

// Echo runs closed-loop round trips: each connection sends m, waits for
// its echo, and sends again. After warmup, echoes are counted for d.
func Echo(conns []*Conn, m *Message, warmup, d time.Duration) Result {
	s := &runState{}
	return s.run(conns, warmup, d, func(i int, c *Conn) {
		var n uint64
		defer func() { s.count.Add(n) }()
		for s.phase.Load() != phaseStop {
			t0 := time.Now()
			if err := c.Write(m.Frame); err != nil {
				s.fail(err)
				return
			}
			e, err := c.ReadEcho(nil)
			if err != nil {
				s.fail(err)
				return
			}
			if e.Op != m.Op {
				s.fail(fmt.Errorf("echo opcode %d", e.Op))
				return
			}
			if s.phase.Load() == phaseMeasure {
				s.hist.Record(i, time.Since(t0))
				n++
			}
		}
	})
}

// Paced sends m on every connection at a steady total rate (messages per
// second over all connections), each connection waiting for its echo
// before its next turn; latency is measured from the send.
func Paced(conns []*Conn, m *Message, rate float64, warmup, d time.Duration) Result {
	s := &runState{}
	interval := time.Duration(float64(len(conns)) / rate * float64(time.Second))
	t0 := time.Now()
	return s.run(conns, warmup, d, func(i int, c *Conn) {
		var n uint64
		defer func() { s.count.Add(n) }()
		next := t0.Add(interval * time.Duration(i) / time.Duration(len(conns)))
		for s.phase.Load() != phaseStop {
			if w := time.Until(next); w > 0 {
				time.Sleep(w)
			}
			next = next.Add(interval)
			start := time.Now()
			if err := c.Write(m.Frame); err != nil {
				s.fail(err)
				return
			}
			if _, err := c.ReadEcho(nil); err != nil {
				s.fail(err)
				return
			}
			if s.phase.Load() == phaseMeasure {
				s.hist.Record(i, time.Since(start))
				n++
			}
		}
	})
}
