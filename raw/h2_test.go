package raw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// readMessage reads one whole unfragmented frame.
func readMessage(ctx context.Context, c *raw.Conn) (frame.Header, []byte, error) {
	h, err := c.NextFrame(ctx)
	if err != nil {
		return h, nil, err
	}
	p, err := io.ReadAll(c)
	return h, p, err
}

// TestHTTP2 runs the Raw session on an HTTP/2 stream (RFC 8441), with a
// server read cancelled by its context on the way: raw's interrupter sets
// a read deadline in the past, which must not end the stream.
func TestHTTP2(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	served := make(chan error, 1)
	s := testnet.NewTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u handshake.Upgrader
		res, err := u.Upgrade(w, r)
		if err != nil {
			served <- err
			return
		}
		c := raw.New(res.Conn, res.Buffered, raw.Server, nil)
		defer c.Close()
		served <- func() error {
			ctx, cancel := context.WithTimeout(r.Context(), 50*time.Millisecond)
			defer cancel()
			if _, err := c.NextFrame(ctx); !errors.Is(err, context.DeadlineExceeded) {
				return errors.New("cancelled read: " + errString(err))
			}
			h, p, err := readMessage(r.Context(), c)
			if err != nil {
				return err
			}
			return c.WriteFrame(r.Context(), frame.Header{Fin: true, Opcode: h.Opcode}, p)
		}()
	}), nil)

	d := handshake.Dialer{
		TLSConfig: s.ClientTLS(),
		HTTP2:     handshake.HTTP2Always,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
	}
	ctx := context.Background()
	res, resp, err := d.Dial(ctx, s.WSURL("/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("dialled over %s, want HTTP/2.0", resp.Proto)
	}
	c := raw.New(res.Conn, res.Buffered, raw.Client, nil)
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // the server's first read gives up
	want := payload(70000, 3)
	if err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true}, want); err != nil {
		t.Fatal(err)
	}
	h, got, err := readMessage(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if h.Opcode != frame.OpBinary || string(got) != string(want) {
		t.Errorf("echo: %v, %d bytes; want binary, %d bytes", h.Opcode, len(got), len(want))
	}
	select {
	case err := <-served:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not return")
	}
	// The handler returned: the server's half of the stream has ended.
	if _, err := c.NextFrame(ctx); err == nil {
		t.Error("a frame after the server ended the stream")
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
