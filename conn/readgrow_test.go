package conn_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// TestReadChunks reads messages of many sizes and shapes with Read and
// AppendRead across the sizes where the reader changes how it takes room:
// one exact allocation up to 64 KiB, then chunks joined at the end, or in
// place of the last chunk when one frame tells the size. With the read
// limit at the message's size, the last chunk is cut by the limit too;
// with none, by nothing.
func TestReadChunks(t *testing.T) {
	type shape struct {
		name   string
		frames []int // the frame sizes of the message
	}
	var shapes []shape
	for _, n := range []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 200_000, 1<<20 + 3} {
		shapes = append(shapes, shape{fmt.Sprintf("one-frame/%d", n), []int{n}})
	}
	shapes = append(shapes,
		shape{"fragments/1000x66", repeatInts(1000, 66)},
		shape{"fragments/10+300000", []int{10, 300_000}},
		shape{"fragments/70000+0+5", []int{70_000, 0, 5}},
	)
	modes := []struct {
		name string
		read func(c *conn.Conn, ctx context.Context) ([]byte, []byte, error) // prefix, message with prefix
	}{
		{"Read", func(c *conn.Conn, ctx context.Context) ([]byte, []byte, error) {
			_, p, err := c.Read(ctx)
			return nil, p, err
		}},
		{"AppendRead/nil", func(c *conn.Conn, ctx context.Context) ([]byte, []byte, error) {
			_, p, err := c.AppendRead(ctx, nil)
			return nil, p, err
		}},
		{"AppendRead/full", func(c *conn.Conn, ctx context.Context) ([]byte, []byte, error) {
			dst := []byte("prefix")
			_, p, err := c.AppendRead(ctx, dst[:len(dst):len(dst)])
			return dst, p, err
		}},
		{"AppendRead/room", func(c *conn.Conn, ctx context.Context) ([]byte, []byte, error) {
			dst := append(make([]byte, 0, 100_000), "prefix"...)
			_, p, err := c.AppendRead(ctx, dst)
			return dst, p, err
		}},
	}
	for _, sh := range shapes {
		total := 0
		for _, n := range sh.frames {
			total += n
		}
		msg := make([]byte, total)
		for i := range msg {
			msg[i] = byte(i * 7 / 5)
		}
		for _, mode := range modes {
			for _, limit := range []int64{-1, max(int64(total), 1)} {
				t.Run(fmt.Sprintf("%s/%s/limit=%d", sh.name, mode.name, limit), func(t *testing.T) {
					peer, c := rawClientOf(t, &conn.Options{ReadLimit: limit})
					errc := make(chan error, 1)
					go func() { errc <- writeFrames(peer, frame.OpBinary, msg, sh.frames) }()
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					prefix, got, err := mode.read(c, ctx)
					if err != nil {
						t.Fatal(err)
					}
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], msg) {
						t.Fatalf("read %d bytes, not the %d-byte message after %q", len(got), len(msg), prefix)
					}
				})
			}
		}
	}
}

// TestReadChunksLimit reads a message one byte over the limit, in one
// frame and in fragments, with the limit past the first chunk: it fails
// with 1009.
func TestReadChunksLimit(t *testing.T) {
	const limit = 200_000
	msg := make([]byte, limit+1)
	for _, frames := range [][]int{{limit + 1}, repeatInts(1000, limit/1000)} {
		if len(frames) > 1 {
			frames = append(frames, 1)
		}
		peer, c := rawClientOf(t, &conn.Options{ReadLimit: limit, MaxFrameSize: 1 << 20, CloseTimeout: 100 * time.Millisecond})
		go writeFrames(peer, frame.OpBinary, msg, frames)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, p, err := c.Read(ctx)
		cancel()
		if conn.CloseStatus(err) != conn.StatusMessageTooBig {
			t.Errorf("%d frames: read %d bytes, %v; want 1009", len(frames), len(p), err)
		}
	}
}

func repeatInts(n, count int) []int {
	s := make([]int, count)
	for i := range s {
		s[i] = n
	}
	return s
}

// rawClientOf returns a Raw client session and the Default server session it
// talks to over loopback TCP, closed when the test ends.
func rawClientOf(t *testing.T, o *conn.Options) (*raw.Conn, *conn.Conn) {
	t.Helper()
	s, cl := testnet.Loopback(t)
	peer := raw.New(cl, nil, raw.Client, nil)
	c := conn.New(raw.New(s, nil, raw.Server, nil), "", o)
	t.Cleanup(func() { c.CloseNow() })
	return peer, c
}

// writeFrames sends msg as one message in frames of the given sizes.
func writeFrames(rc *raw.Conn, op frame.Opcode, msg []byte, sizes []int) error {
	ctx := context.Background()
	for i, n := range sizes {
		h := frame.Header{Fin: i == len(sizes)-1, Opcode: op, Length: int64(n)}
		if i > 0 {
			h.Opcode = frame.OpContinuation
		}
		if err := rc.WriteFrame(ctx, h, msg[:n]); err != nil {
			return err
		}
		msg = msg[n:]
	}
	return nil
}

// TestDefaultReadLimit checks the default a zero Options gives: a message
// of DefaultReadLimit bytes is read, one byte more fails with 1009, in one
// frame or in two.
func TestDefaultReadLimit(t *testing.T) {
	if conn.DefaultReadLimit != 1<<20 {
		t.Errorf("DefaultReadLimit = %d, want 1 MiB", conn.DefaultReadLimit)
	}
	msg := make([]byte, conn.DefaultReadLimit+1)
	for _, frames := range [][]int{{len(msg) - 1}, {len(msg)}, {len(msg) - 1, 1}} {
		total := 0
		for _, n := range frames {
			total += n
		}
		// ReadLimit 0: the default. The peer never answers a close.
		peer, c := rawClientOf(t, &conn.Options{CloseTimeout: 100 * time.Millisecond})
		go writeFrames(peer, frame.OpBinary, msg, frames)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, p, err := c.Read(ctx)
		cancel()
		switch {
		case total <= conn.DefaultReadLimit && (err != nil || len(p) != total):
			t.Errorf("frames %v: read %d bytes, %v; want the message", frames, len(p), err)
		case total > conn.DefaultReadLimit && conn.CloseStatus(err) != conn.StatusMessageTooBig:
			t.Errorf("frames %v: read %d bytes, %v; want 1009", frames, len(p), err)
		}
	}
}
