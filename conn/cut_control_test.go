package conn_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// maskedFrame is a whole frame as a client sends it.
func maskedFrame(op frame.Opcode, p []byte) []byte {
	b, _ := wireBytes([]fuzzFrame{{0x80 | byte(op), p}}, true)
	return b
}

// TestControlFrameCutByDeadline cuts a ping and a close frame in the
// middle of their payloads with a read whose context expires: the read
// returns the context's error, and the next read must take the frame up
// where it was cut, answering the ping with its whole payload and the
// close with its code, as if nothing had happened.
func TestControlFrameCutByDeadline(t *testing.T) {
	for _, tc := range []struct {
		op      frame.Opcode
		payload []byte
	}{
		{frame.OpPing, []byte("ping payload")},
		{frame.OpClose, frame.AppendClose(nil, 4001, "bye")},
	} {
		t.Run(tc.op.String(), func(t *testing.T) {
			srvNC, cliNC := testnet.Loopback(t)
			c := conn.NewFromResult(&handshake.Result{Conn: srvNC}, raw.Server, nil, nil)
			defer c.CloseNow()
			wire := append(maskedFrame(tc.op, tc.payload), maskedFrame(frame.OpText, []byte("after"))...)
			cut := 6 + 3 // header with mask key, and three bytes of the payload
			if _, err := cliNC.Write(wire[:cut]); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			_, _, err := c.Read(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("read cut short: %v, want %v", err, context.DeadlineExceeded)
			}
			if _, err := cliNC.Write(wire[cut:]); err != nil {
				t.Fatal(err)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			typ, p, err := c.Read(ctx)

			peer := raw.New(cliNC, nil, raw.Client, nil)
			h, perr := peer.NextFrame(ctx)
			var got []byte
			if perr == nil {
				got, perr = io.ReadAll(peer)
			}
			switch tc.op {
			case frame.OpPing:
				if err != nil || typ != conn.MessageText || string(p) != "after" {
					t.Fatalf("read after the ping: %v %q %v, want the text message", typ, p, err)
				}
				if perr != nil || h.Opcode != frame.OpPong || string(got) != string(tc.payload) {
					t.Fatalf("client got %v %q (%v), want a pong with %q", h.Opcode, got, perr, tc.payload)
				}
			case frame.OpClose:
				if conn.CloseStatus(err) != 4001 {
					t.Fatalf("read after the close: %v, want the peer's close 4001", err)
				}
				if perr != nil || h.Opcode != frame.OpClose {
					t.Fatalf("client got %v (%v), want the close echoed", h.Opcode, perr)
				}
				if code, _, _ := frame.ParseClose(got); code != 4001 {
					t.Fatalf("close echoed with %d, want 4001", code)
				}
			}
		})
	}
}

// TestReadAfterDeadlineMidMessage cuts a data message in the middle of its
// payload with a read whose context expires: the connection stays open,
// and the next read, with a new context, discards the rest of that
// message and returns the next one. (The read of what was left went on
// under the expired context and failed the connection with 1006.)
func TestReadAfterDeadlineMidMessage(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		srvNC, cliNC := testnet.Loopback(t)
		c := conn.NewFromResult(&handshake.Result{Conn: srvNC}, raw.Server, nil, nil)
		defer c.CloseNow()
		wire := append(maskedFrame(frame.OpText, []byte("first message")), maskedFrame(frame.OpText, []byte("after"))...)
		cut := 6 + 3
		if _, err := cliNC.Write(wire[:cut]); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		var err error
		if streamed {
			var r io.Reader
			if _, r, err = c.Reader(ctx); err == nil {
				_, err = io.ReadAll(r)
			}
		} else {
			_, _, err = c.Read(ctx)
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("streamed=%v: read cut short: %v, want %v", streamed, err, context.DeadlineExceeded)
		}
		if _, err := cliNC.Write(wire[cut:]); err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		typ, p, err := c.Read(ctx)
		if err != nil || typ != conn.MessageText || string(p) != "after" {
			t.Fatalf("streamed=%v: next read: %v %q %v, want the text message after", streamed, typ, p, err)
		}
	}
}
