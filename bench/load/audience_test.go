package load

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

// TestAudiences: both audiences count a message once its last frame is
// whole, whatever the reads cut it into, through fragments, control
// frames and lengths of every header size, and only on listeners.
func TestAudiences(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n, silent = 6, 2
	servers := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			servers <- c
		}
	}()
	frame := func(b0 byte, p []byte) []byte {
		h := []byte{b0}
		switch {
		case len(p) < 126:
			h = append(h, byte(len(p)))
		case len(p) <= 0xFFFF:
			h = append(h, 126, byte(len(p)>>8), byte(len(p)))
		default:
			h = append(h, 127, 0, 0, 0, 0, 0, byte(len(p)>>16), byte(len(p)>>8), byte(len(p)))
		}
		return append(h, p...)
	}
	// Each round is one message among control frames: a 1 KiB text
	// message in two fragments with a ping between them and a pong after;
	// a 70,000-byte binary message (a 64-bit length); an empty one.
	rounds := [][]byte{
		slices.Concat(frame(0x01, bytes.Repeat([]byte("a"), 600)), frame(0x89, []byte("ping")),
			frame(0x80, bytes.Repeat([]byte("b"), 424)), frame(0x8A, nil)),
		frame(0x82, make([]byte, 70_000)),
		frame(0x81, nil),
	}
	for _, mode := range []string{"goroutines", "poll"} {
		t.Run(mode, func(t *testing.T) {
			conns := make([]*Conn, n)
			srv := make([]net.Conn, n)
			for i := range conns {
				nc, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				conns[i] = &Conn{nc: nc, br: bufio.NewReaderSize(nc, 2048)}
				srv[i] = <-servers
				defer srv[i].Close()
			}
			var a *Audience
			if mode == "poll" {
				if a, err = ListenPoll(conns, silent, 2); err != nil {
					t.Fatal(err)
				}
			} else {
				a = Listen(conns, silent)
			}
			defer a.Close()
			if a.Listeners() != n-silent {
				t.Fatalf("%d listeners, want %d", a.Listeners(), n-silent)
			}
			// Every server writes the round in pieces of 1 to 7 bytes
			// at first, to cut headers and payloads anywhere. A write to
			// a silent one may block until the test closes it.
			send := func(round []byte) func() error {
				return func() error {
					for _, s := range srv {
						go func() {
							b := round
							for i := 0; len(b) > 0; i++ {
								k := min(len(b), 1+i%7)
								if i > 200 {
									k = len(b)
								}
								s.Write(b[:k])
								b = b[k:]
							}
						}()
					}
					return nil
				}
			}
			ctx := context.Background()
			for r := range 2 {
				for i, round := range rounds {
					if _, got, err := a.Round(ctx, send(round), 5*time.Second); err != nil {
						t.Fatalf("pass %d, round %d: %d of %d listeners: %v", r, i, got, a.Listeners(), err)
					}
				}
			}
			if got, want := a.got.Load(), int64(2*len(rounds)*a.Listeners()); got != want {
				t.Errorf("%d messages counted, want %d", got, want)
			}
			if got, want := a.got.Load(), int64(2*len(rounds)*a.Listeners()); got != want {
				t.Errorf("%d messages counted, want %d", got, want)
			}
		})
	}
}
