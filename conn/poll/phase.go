package poll

import (
	"context"
	"sync/atomic"
	"time"
)

// phaseCtx is the context a worker reads one message with. conn binds a
// message's reader to the context given to Reader, but the worker needs
// two bounds: a short one (FrameWait) while waiting for a frame header,
// so that a wake-up that brought only a ping or part of a header gives the
// connection back to epoll, and a long one (MessageTimeout) for the rest
// of the message once its header is in. The short one may expire just as
// Reader returns a message; swapping the inner context then gives the
// message's reads a fresh, live bound.
//
// Every method delegates to the current inner context, Value included:
// the context package then attaches children (the interrupts of package
// raw) straight to the inner cancelCtx, and a child attached before a
// swap is cancelled, harmlessly, with the old inner one.
type phaseCtx struct {
	parent context.Context
	cur    atomic.Pointer[phase]
}

type phase struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newPhaseCtx(parent context.Context, d time.Duration) *phaseCtx {
	p := &phaseCtx{parent: parent}
	p.set(d)
	return p
}

func (p *phaseCtx) set(d time.Duration) {
	ctx, cancel := context.WithTimeout(p.parent, d)
	if old := p.cur.Swap(&phase{ctx, cancel}); old != nil {
		old.cancel()
	}
}

// extend starts the message phase. Only the worker, between I/O calls,
// may call it.
func (p *phaseCtx) extend(d time.Duration) { p.set(d) }

func (p *phaseCtx) cancel() { p.cur.Load().cancel() }

func (p *phaseCtx) Deadline() (time.Time, bool) { return p.cur.Load().ctx.Deadline() }
func (p *phaseCtx) Done() <-chan struct{}       { return p.cur.Load().ctx.Done() }
func (p *phaseCtx) Err() error                  { return p.cur.Load().ctx.Err() }
func (p *phaseCtx) Value(key any) any           { return p.cur.Load().ctx.Value(key) }
