package raw

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/hybi-go/hybi/frame"
)

// TestDoneContextBeatsClose: a write whose context is done before the
// call returns ctx.Err(), not ErrClosed, when the connection is closed
// while another writer holds the write lock; with a live context the
// same write returns ErrClosed. (Both are ready when the lock's wait
// begins, and the wait would pick either: FuzzWritePath found a Ping
// under a done context returning ErrClosed.)
func TestDoneContextBeatsClose(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := New(server, nil, Server, nil)
	if !c.wmu.TryLock() { // another writer, stuck
		t.Fatal("the write lock of a new Conn is held")
	}
	defer c.wmu.Unlock()
	c.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	ping := frame.Header{Fin: true, Opcode: frame.OpPing}
	for i := range 100 {
		if err := c.WriteFrame(done, ping, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("write #%d under a done context, lock held, Conn closed = %v, want Canceled", i, err)
		}
	}
	if err := c.WriteFrame(context.Background(), ping, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("write under a live context, lock held, Conn closed = %v, want ErrClosed", err)
	}
}
