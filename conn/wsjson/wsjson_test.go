package wsjson_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/wsjson"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/internal/leakcheck"
	"github.com/hybi-go/hybi/raw"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawClient returns a Raw client joined by net.Pipe to a conn server with
// options o.
func rawClient(t *testing.T, o *conn.Options) (*raw.Conn, *conn.Conn) {
	a, b := net.Pipe()
	rc := raw.New(a, nil, raw.Client, nil)
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", o)
	t.Cleanup(func() {
		rc.Close()
		s.CloseNow()
	})
	return rc, s
}

type frameSpec struct {
	op  frame.Opcode
	fin bool
	p   string
}

func sendFrames(t *testing.T, rc *raw.Conn, fs ...frameSpec) {
	go func() {
		for _, f := range fs {
			if err := rc.WriteFrame(context.Background(), frame.Header{Fin: f.fin, Opcode: f.op}, []byte(f.p)); err != nil {
				return
			}
		}
	}()
}

type point struct {
	X, Y int
	Name string
}

func TestRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	client := conn.New(raw.New(a, nil, raw.Client, nil), "", nil)
	server := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	big := point{Name: strings.Repeat("é", 50000)} // larger than the write buffer
	go func() {
		for _, p := range []point{{1, 2, "a"}, big} {
			if err := wsjson.Write(ctx, client, p); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, want := range []point{{1, 2, "a"}, big} {
		var got point
		if err := wsjson.Read(ctx, server, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("got X=%d and a name of %d bytes", got.X, len(got.Name))
		}
	}
}

// A JSON value split across frames, the split falling inside a string
// and inside a multi-byte rune, is read whole.
func TestSplitAcrossFrames(t *testing.T) {
	rc, s := rawClient(t, nil)
	msg := `{"X": 7, "Y": -3, "Name": "𝄞 split"}`
	cut1, cut2 := 5, strings.Index(msg, "𝄞")+2
	sendFrames(t, rc,
		frameSpec{frame.OpText, false, msg[:cut1]},
		frameSpec{frame.OpContinuation, false, msg[cut1:cut2]},
		frameSpec{frame.OpContinuation, false, ""},
		frameSpec{frame.OpContinuation, true, msg[cut2:]},
	)
	var got point
	if err := wsjson.Read(testCtx(t), s, &got); err != nil {
		t.Fatal(err)
	}
	if want := (point{7, -3, "𝄞 split"}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// A bad message is an error that leaves the connection usable: the next
// Read starts at the next message.
func TestBadMessagesLeaveConnUsable(t *testing.T) {
	rc, s := rawClient(t, nil)
	sendFrames(t, rc,
		frameSpec{frame.OpText, true, `{"X": 1,`}, // malformed
		frameSpec{frame.OpText, false, `{"X": 2} `},
		frameSpec{frame.OpContinuation, true, `{"X": 3}`},                     // trailing value
		frameSpec{frame.OpBinary, true, `{"X": 4}`},                           // binary
		frameSpec{frame.OpText, true, `{"X": "five"}`},                        // wrong type
		frameSpec{frame.OpText, false, `{"X": "` + strings.Repeat("z", 3000)}, // malformed, long, in pieces
		frameSpec{frame.OpContinuation, true, strings.Repeat("z", 3000) + `"`},
		frameSpec{frame.OpText, true, " \n{\"X\": 6}\r\n\t "}, // white space is fine
	)
	ctx := testCtx(t)
	for i, want := range []string{"unexpected EOF", "data after the JSON value", "binary message", "cannot unmarshal", "unexpected EOF", ""} {
		var p point
		err := wsjson.Read(ctx, s, &p)
		if want == "" {
			if err != nil || p.X != 6 {
				t.Fatalf("last message: %+v %v", p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("message %d: error %v, want one containing %q", i, err, want)
		}
		if !errors.Is(err, wsjson.ErrBadMessage) || conn.CloseStatus(err) != 0 {
			t.Fatalf("message %d: error %v carries a close status", i, err)
		}
	}
}

// A message over the read limit fails the connection with 1009.
func TestTooBig(t *testing.T) {
	rc, s := rawClient(t, &conn.Options{ReadLimit: 100})
	sendFrames(t, rc, frameSpec{frame.OpText, false, `"` + strings.Repeat("a", 60)}, frameSpec{frame.OpContinuation, true, strings.Repeat("a", 60) + `"`})
	go func() {
		// Take the close frame the server sends.
		for {
			if _, err := rc.NextFrame(context.Background()); err != nil {
				return
			}
			io.Copy(io.Discard, rc)
		}
	}()
	var v string
	err := wsjson.Read(testCtx(t), s, &v)
	if conn.CloseStatus(err) != conn.StatusMessageTooBig || !errors.Is(err, frame.ErrMessageTooBig) {
		t.Fatalf("got %v, want ErrMessageTooBig", err)
	}
}

// A value that cannot be encoded sends nothing.
func TestWriteUnencodable(t *testing.T) {
	a, b := net.Pipe()
	client := conn.New(raw.New(a, nil, raw.Client, nil), "", nil)
	server := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	go func() {
		if err := wsjson.Write(ctx, client, map[string]any{"c": make(chan int)}); err == nil {
			t.Error("Write of a channel succeeded")
		}
		if err := wsjson.Write(ctx, client, "next"); err != nil {
			t.Error(err)
		}
	}()
	typ, p, err := server.Read(ctx)
	if err != nil || typ != conn.MessageText || string(p) != "\"next\"\n" {
		t.Fatalf("server read %v %q %v", typ, p, err)
	}
}

func TestReadClosed(t *testing.T) {
	rc, s := rawClient(t, nil)
	go rc.WriteFrame(context.Background(), frame.Header{Fin: true, Opcode: frame.OpClose}, frame.AppendClose(nil, 4000, "bye"))
	go func() {
		rc.NextFrame(context.Background()) // the echo
		rc.Close()
	}()
	var v any
	err := wsjson.Read(testCtx(t), s, &v)
	if conn.CloseStatus(err) != 4000 {
		t.Fatalf("got %v, want the peer's 4000", err)
	}
}
