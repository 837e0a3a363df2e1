// Package ctxflag lets a context tell package raw that its cancellation
// needs no interrupt.
//
// raw interrupts blocked I/O when the context it runs under is cancelled,
// which costs a context.AfterFunc registration per connection and
// context. conn/poll's handler contexts are cancelled only when the
// poller closes, and the poller closes every connection then, which
// interrupts their I/O anyway; an idle connection should not hold a
// registration for them.
package ctxflag

import "context"

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
