package conn_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// A read whose context ends after it read a ping, but before the pong
// went out, must not lose the pong: the next read sends it. (conn/poll
// reads with a deadline of FrameWait, 2 ms, so on a loaded machine the
// pong of a ping read from the buffer found that deadline passed, and
// Autobahn 2.11 saw its first pong missing.)
func TestPongOfPingReadWithExpiredContext(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	// The ping and a message wait in the bytes read past the handshake,
	// so that reading them needs no system call and ignores ctx.
	buffered := append(maskedFrame(frame.OpPing, []byte("first")), maskedFrame(frame.OpText, []byte("after"))...)
	c := conn.New(raw.New(b, buffered, raw.Server, nil), "", nil)
	defer c.CloseNow()

	pongs := make(chan string, 1)
	go func() {
		peer := raw.New(a, nil, raw.Client, nil)
		for {
			h, err := peer.NextFrame(context.Background())
			if err != nil {
				close(pongs)
				return
			}
			p, _ := io.ReadAll(peer)
			if h.Opcode == frame.OpPong {
				pongs <- string(p)
			}
		}
	}()

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Read(done); err == nil {
		t.Fatal("a read with a done context returned a message")
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	typ, p, err := c.Read(ctx)
	if err != nil || typ != conn.MessageText || string(p) != "after" {
		t.Fatalf("Read = %v %q %v", typ, p, err)
	}
	select {
	case got := <-pongs:
		if got != "first" {
			t.Fatalf("pong %q, want %q", got, "first")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the ping read under a done context was never answered")
	}
}
