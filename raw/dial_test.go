package raw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// TestDialAccept opens a Raw session with raw.Dial and raw.Accept,
// permessage-deflate offered: both ends know what was agreed, allow RSV1
// (on a ping too: that rule is the caller's) and no other bit, and the
// server's OnNegotiation sees the outcome.
func TestDialAccept(t *testing.T) {
	errc := make(chan error, 1)
	var neg *extension.Negotiation
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		errc <- func() error {
			c, err := raw.Accept(w, r, &raw.AcceptOptions{
				Extensions:    []extension.Extension{deflate.New(nil)},
				OnNegotiation: func(_ *http.Request, n *extension.Negotiation) { neg = n },
			})
			if err != nil {
				return err
			}
			defer c.Close()
			if a := c.AgreedExtensions(); len(a) != 1 || a[0].Name != "permessage-deflate" || a[0].Agreed == nil {
				return errors.New("server agreed " + c.Extensions())
			}
			ctx := context.Background()
			for _, want := range []frame.Header{
				{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1},
				{Fin: true, Opcode: frame.OpPing, RSV: frame.RSV1},
			} {
				h, err := c.NextFrame(ctx)
				if err != nil || h.Opcode != want.Opcode || h.RSV != want.RSV {
					return errors.New("read " + h.Opcode.String() + ": " + errString(err))
				}
				io.Copy(io.Discard, c)
			}
			if _, err := c.NextFrame(ctx); err != frame.ErrReservedBits {
				return errors.New("RSV2: " + errString(err))
			}
			return nil
		}()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := raw.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &raw.DialOptions{
		Extensions: []extension.Extension{deflate.New(nil)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || c.Role() != raw.Client {
		t.Fatalf("status %d role %v", resp.StatusCode, c.Role())
	}
	if a := c.AgreedExtensions(); len(a) != 1 || a[0].Name != "permessage-deflate" || c.AllowedRSV() != frame.RSV1 {
		t.Fatalf("client agreed %+v, allowed %#x", a, c.AllowedRSV())
	}
	c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV1}, []byte{0x2a, 0x00}) // not decoded here
	c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing, RSV: frame.RSV1}, nil)
	if err := c.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV2}, nil); err == nil {
		t.Fatal("WriteFrame sent RSV2, which no extension owns")
	}
	// Send it anyway, as a broken peer would.
	raw.New(c.NetConn(), nil, raw.Client, &raw.Options{AllowIllegalWrites: true}).
		WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText, RSV: frame.RSV2}, nil)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if neg == nil || neg.Response != "permessage-deflate" || len(neg.Declined) != 0 {
		t.Fatalf("OnNegotiation: %+v", neg)
	}
}

// TestDialAcceptFailures: a refused handshake comes back as an error on
// both ends, with the response on the client.
func TestDialAcceptFailures(t *testing.T) {
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := raw.Accept(w, r, &raw.AcceptOptions{Upgrader: handshake.Upgrader{CheckOrigin: func(*http.Request) bool { return false }}})
		errc <- err
	}))
	defer srv.Close()
	c, resp, err := raw.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err == nil || c != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial: %v %v", err, resp)
	}
	var he *handshake.Error
	if err := <-errc; !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !errors.Is(err, handshake.ErrOriginNotAllowed) {
		t.Fatalf("Accept: %v", err)
	}
}
