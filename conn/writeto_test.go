package conn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
)

// copyEchoLoop echoes with io.Copy from the message's reader to a message
// writer, as conn/poll's package example does.
func copyEchoLoop(s *conn.Conn) {
	ctx := context.Background()
	for {
		typ, r, err := s.Reader(ctx)
		if err != nil {
			return
		}
		w, err := s.Writer(ctx, typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			return
		}
		if err := w.Close(); err != nil {
			return
		}
	}
}

// TestCopyMessageAllocs pins that io.Copy out of a message allocates no
// buffer: without WriteTo, io.Copy makes 32 KiB for every message (two
// allocations per echo here). What is left is the one allocation of the
// handle Writer returns for each streamed message. Counted as objects
// (AllocsPerRun): the bytes allocated meanwhile include, now and then, a
// pooled buffer made again after a collection emptied the pool.
func TestCopyMessageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c, s := pipePair()
	t.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	go copyEchoLoop(s)
	msg := bytes.Repeat([]byte("x"), 1024)
	buf := make([]byte, 1024)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() { echoInto(t, ctx, c, msg, buf) })
	if allocs > 1 {
		t.Fatalf("%v allocations per echo through io.Copy, want at most 1 (Writer's handle)", allocs)
	}
}

// TestWriteToMessages checks that io.Copy out of a message returns exactly
// what reading it does, for the shapes a message comes in: empty, one
// frame, text fragmented inside a character, larger than the copy buffer,
// compressed, and after part of it was read with Read. The writer's
// 512-byte buffer cuts every message of more than 512 bytes into frames.
func TestWriteToMessages(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5000) // 80,000 B: more than one buffer
	cut := strings.Repeat("a", 511) + "\u00fc" + strings.Repeat("b", 100)
	for _, tc := range []struct {
		name    string
		deflate bool
		msg     string
		typ     conn.MessageType
		first   int // bytes read with Read before WriteTo
	}{
		{name: "empty", msg: "", typ: conn.MessageBinary},
		{name: "one frame", msg: "hello", typ: conn.MessageBinary},
		{name: "text cut in a character", msg: cut, typ: conn.MessageText},
		{name: "big", msg: big, typ: conn.MessageText},
		{name: "read first", msg: "hello, world", typ: conn.MessageBinary, first: 5},
		{name: "read first big", msg: big, typ: conn.MessageText, first: 40000},
		{name: "deflate", deflate: true, msg: big, typ: conn.MessageText},
		{name: "deflate read first", deflate: true, msg: big, typ: conn.MessageText, first: 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := handshakePair(t, tc.deflate)
			ctx := context.Background()
			go func() {
				w, err := c.Writer(ctx, tc.typ)
				if err != nil {
					return
				}
				if _, err := w.Write([]byte(tc.msg)); err != nil {
					return
				}
				w.Close()
			}()
			typ, r, err := s.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if typ != tc.typ {
				t.Fatalf("type %v, want %v", typ, tc.typ)
			}
			var got bytes.Buffer
			if tc.first > 0 {
				if _, err := io.CopyN(&got, onlyReader{r}, int64(tc.first)); err != nil {
					t.Fatal(err)
				}
			}
			wt, ok := r.(io.WriterTo)
			if !ok {
				t.Fatal("the message reader is not an io.WriterTo")
			}
			n, err := wt.WriteTo(&got)
			if err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			if got.String() != tc.msg {
				t.Fatalf("got %d bytes, want %d", got.Len(), len(tc.msg))
			}
			if n != int64(len(tc.msg)-tc.first) {
				t.Fatalf("WriteTo returned %d, want %d", n, len(tc.msg)-tc.first)
			}
			// At its end: nothing more, and no error.
			if n, err := wt.WriteTo(&got); n != 0 || err != nil {
				t.Fatalf("WriteTo at the end: %d, %v; want 0, nil", n, err)
			}
		})
	}
}

// onlyReader hides every method but Read.
type onlyReader struct{ io.Reader }

// handshakePair returns a client and a server Conn over loopback TCP, with
// 512-byte write buffers and, with deflate, permessage-deflate agreed.
func handshakePair(t *testing.T, deflateOn bool) (client, server *conn.Conn) {
	o := conn.Options{WriteBufferSize: 512}
	var exts []extension.Extension
	if deflateOn {
		exts = []extension.Extension{deflate.New(nil)}
	}
	ch := make(chan *conn.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, &conn.AcceptOptions{Options: o, Extensions: exts})
		if err != nil {
			t.Error(err)
			close(ch)
			return
		}
		ch <- c
	}))
	t.Cleanup(srv.Close)
	c, _, err := conn.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{Options: o, Extensions: exts})
	if err != nil {
		t.Fatal(err)
	}
	s := <-ch
	if s == nil {
		t.FailNow()
	}
	t.Cleanup(func() {
		c.CloseNow()
		s.CloseNow()
	})
	if deflateOn && s.Extensions() == "" {
		t.Fatal("permessage-deflate not agreed")
	}
	return c, s
}

// TestWriteToErrors checks that WriteTo reports a failing writer, and
// invalid text as Read does, with the connection failed with 1007.
func TestWriteToErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("writer fails", func(t *testing.T) {
		c, s := handshakePair(t, false)
		go c.Write(ctx, conn.MessageBinary, []byte("hello"))
		_, r, err := s.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if _, err := r.(io.WriterTo).WriteTo(failWriter{boom}); err != boom {
			t.Fatalf("WriteTo: %v, want %v", err, boom)
		}
		// The connection goes on: the next message reads.
		go c.Write(ctx, conn.MessageBinary, []byte("next"))
		_, p, err := s.Read(ctx)
		if err != nil || string(p) != "next" {
			t.Fatalf("next message: %q, %v", p, err)
		}
	})
	t.Run("short write", func(t *testing.T) {
		c, s := handshakePair(t, false)
		go c.Write(ctx, conn.MessageBinary, []byte("hello"))
		_, r, err := s.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.(io.WriterTo).WriteTo(shortWriter{}); err != io.ErrShortWrite {
			t.Fatalf("WriteTo: %v, want io.ErrShortWrite", err)
		}
	})
	t.Run("invalid text", func(t *testing.T) {
		c, s := handshakePair(t, false)
		go func() {
			w, err := c.Writer(ctx, conn.MessageBinary)
			if err != nil {
				return
			}
			w.Write([]byte("ok"))
			w.Close()
		}()
		if _, _, err := s.Read(ctx); err != nil {
			t.Fatal(err)
		}
		go c.Write(ctx, conn.MessageText, []byte("bad \xff"))
		go c.Read(ctx) // takes the server's close frame
		_, r, err := s.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, r)
		if !errors.Is(err, frame.ErrInvalidUTF8) {
			t.Fatalf("io.Copy of invalid text: %v, want frame.ErrInvalidUTF8", err)
		}
	})
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }
