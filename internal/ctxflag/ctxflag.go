// Package ctxflag lets a context carry what its owner takes care of for
// the packages below: that its cancellation needs no interrupt (Key), and
// that it waits out a failed connection's end itself (DrainKey).
//
// raw interrupts blocked I/O when the context it runs under is cancelled,
// which costs a context.AfterFunc registration per connection and
// context. conn/poll's handler contexts are cancelled only when the
// poller closes, and the poller closes every connection then, which
// interrupts their I/O anyway; an idle connection should not hold a
// registration for them.
package ctxflag

import (
	"context"
	"time"
)

// closesConnKey is the context value key; see ClosesConn.
type closesConnKey struct{}

// Key is what a context's Value method answers with its own Done
// channel to say that its cancellation closes the connections it is used
// with.
var Key any = closesConnKey{}

// ClosesConn reports whether done, the Done channel of ctx, is one whose
// closing closes the connection: ctx answers Value(Key) with it. A
// context derived with a deadline or cancel of its own has another Done
// channel and is not covered.
func ClosesConn(ctx context.Context, done <-chan struct{}) bool {
	ch, ok := ctx.Value(Key).(<-chan struct{})
	return ok && ch == done
}

// drainKey is the context value key; see Drainer.
type drainKey struct{}

// DrainKey is what a context's Value method answers with a
// func(time.Duration) to say that its owner takes over the last wait of a
// connection: after conn fails a connection (or, as a client, finishes
// the closing handshake), it waits up to CloseTimeout for the peer's end
// of stream before closing, so that the peer gets the close frame rather
// than a reset. A goroutine per connection does that wait itself; conn/poll
// does it in epoll instead of holding a worker. conn calls the function
// with its CloseTimeout and leaves the socket open; the owner then reads
// until the end of stream or the timeout, and closes the connection.
var DrainKey any = drainKey{}

// Drainer returns the function ctx offers under DrainKey, or nil.
func Drainer(ctx context.Context) func(time.Duration) {
	f, _ := ctx.Value(DrainKey).(func(time.Duration))
	return f
}
