package load

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"
)

// Pipelined keeps window messages in flight on every connection: it sends
// window copies of m, then, each time echoes come back, as many new ones
// as came, in one write. Echoes are read by one goroutine per connection
// and messages written by another, so that neither side of a full socket
// waits for the other. Latency is from a message's send to its echo;
// after warmup, echoes are counted for d.
func Pipelined(conns []*Conn, m *Message, window int, warmup, d time.Duration) Result {
	s := &runState{}
	burst := bytes.Repeat(m.Frame, window)
	// The echo of m as the server frames it (no mask), for telling
	// whether a whole one is buffered.
	echoLen := len(m.Frame) - 4
	return s.run(conns, warmup, d, func(i int, c *Conn) {
		var n uint64
		defer func() { s.count.Add(n) }()
		// sent[k % window] is when message k was sent: the writer fills
		// it before the write that sends k, the reader reads it once k's
		// echo is back.
		sent := make([]atomic.Int64, window)
		credits := make(chan int, window)
		writerDone := make(chan struct{})
		go func() {
			defer close(writerDone)
			var next int
			k := window
			for {
				now := time.Now().UnixNano()
				for j := 0; j < k; j++ {
					sent[(next+j)%window].Store(now)
				}
				next += k
				if err := c.Write(burst[:k*len(m.Frame)]); err != nil {
					s.fail(err)
					c.Interrupt() // the reader stops too
					return
				}
				var ok bool
				if k, ok = <-credits; !ok {
					return
				}
			more:
				for k < window {
					select {
					case j, ok := <-credits:
						if !ok {
							return
						}
						k += j
					default:
						break more
					}
				}
			}
		}()
		defer func() { <-writerDone }()
		defer close(credits)
		var head int // the oldest message in flight
		for s.phase.Load() != phaseStop {
			got := 0
			for {
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
					s.hist.Record(i, time.Duration(time.Now().UnixNano()-sent[head%window].Load()))
					n++
				}
				head++
				got++
				if c.br.Buffered() < echoLen {
					break
				}
			}
			credits <- got
		}
	})
}
