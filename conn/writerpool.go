package conn

import (
	"sync"
	"time"
)

// DefaultStallAfter is WriterPool's default StallAfter.
const DefaultStallAfter = 5 * time.Millisecond

// WriterPool is a bounded set of goroutines that write from SendQueues
// (QueueOptions.Writers), for a server that fans out to many: a
// broadcast to 10,000 queues then starts at most Size goroutines, each
// writing from one queue until it is empty and then from the next that
// waits, instead of a goroutine per queue, each growing its stack
// through the write path anew. Measured on a 10,000-member broadcast of
// 1 KiB, a writer per queue cost about a fifth of the server's CPU.
//
// A write that blocks (a peer that stopped reading, its socket buffers
// full) must not hold up the other queues. When no worker has taken a
// waiting queue for StallAfter, the workers are taken to be stuck in
// such writes: they stop counting against Size and up to Size new ones
// start. A queue thus waits for a worker at most about twice StallAfter
// longer for every Size writes that block ahead of it, and not at all
// for fewer. A stuck worker that returns joins the count again if there
// is room, and exits otherwise.
//
// As a queue's own writer does, the pool holds no goroutine while no
// queue waits. A WriterPool is safe for concurrent use, and may be
// shared by any number of queues, on any connections.
type WriterPool struct {
	size  int
	stall time.Duration

	mu       sync.Mutex
	ready    []*SendQueue // queues waiting for a worker, from head
	head     int
	active   int    // workers that count against size, started or starting
	gen      uint64 // incremented when the workers are taken to be stuck
	starting int    // workers started and not yet running
	taken    uint64 // queues taken by workers, in all
	seen     uint64 // taken when the stall timer was armed
	timer    *time.Timer
	armed    bool
	workFn   func() // p.work, made once: "go p.work()" would allocate
}

// WriterPoolOptions configures a WriterPool; the zero value gives the
// defaults.
type WriterPoolOptions struct {
	// Size is how many workers write at once, not counting those taken
	// to be stuck. 0 means 128.
	Size int
	// StallAfter is how long queues may wait with no worker taking one
	// before the workers are taken to be stuck. 0 means
	// DefaultStallAfter.
	StallAfter time.Duration
}

// NewWriterPool returns a pool; o may be nil.
func NewWriterPool(o *WriterPoolOptions) *WriterPool {
	p := &WriterPool{size: 128, stall: DefaultStallAfter}
	if o != nil && o.Size > 0 {
		p.size = o.Size
	}
	if o != nil && o.StallAfter > 0 {
		p.stall = o.StallAfter
	}
	p.workFn = p.work
	return p
}

// schedule puts q, whose writer is to start, in line for a worker.
func (p *WriterPool) schedule(q *SendQueue) {
	p.mu.Lock()
	p.ready = append(p.ready, q)
	if p.active < p.size {
		p.active++
		p.starting++
		go p.workFn()
	} else if !p.armed {
		p.arm()
	}
	p.mu.Unlock()
}

// arm starts the stall timer; under p.mu.
func (p *WriterPool) arm() {
	p.armed = true
	p.seen = p.taken
	if p.timer == nil {
		p.timer = time.AfterFunc(p.stall, p.check)
	} else {
		p.timer.Reset(p.stall)
	}
}

// check runs when the stall timer fires: if queues still wait and no
// worker took one since the timer was armed, every worker is taken to
// be stuck and new ones start.
func (p *WriterPool) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	waiting := len(p.ready) - p.head
	if waiting == 0 {
		return
	}
	if p.taken == p.seen {
		p.gen++
		// Workers not yet running will count in the new generation.
		p.active = p.starting
		for p.active < p.size && p.active < waiting+p.starting {
			p.active++
			p.starting++
			go p.workFn()
		}
	}
	if p.active >= p.size {
		p.arm()
	}
}

// work is a worker: it writes from the queues that wait, one at a time,
// and exits when none does.
func (p *WriterPool) work() {
	p.mu.Lock()
	p.starting--
	gen := p.gen
	for {
		if gen != p.gen {
			// Taken to be stuck while it wrote: it counts again only if
			// there is room.
			if p.active >= p.size {
				break
			}
			p.active++
			gen = p.gen
		}
		if p.head == len(p.ready) {
			p.active--
			break
		}
		q := p.ready[p.head]
		p.ready[p.head] = nil
		p.head++
		if p.head == len(p.ready) {
			p.ready, p.head = p.ready[:0], 0
		}
		p.taken++
		p.mu.Unlock()
		q.drainPooled()
		p.mu.Lock()
	}
	p.mu.Unlock()
}
