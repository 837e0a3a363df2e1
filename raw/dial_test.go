package raw_test

import (
	"context"
	"errors"
	"io"
	"net"
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

// rsv2 is an Agreed extension on RSV2 with no codec.
type rsv2 struct{}

func (rsv2) RSV() frame.RSV                { return frame.RSV2 }
func (rsv2) NewEncoder() extension.Encoder { return nil }
func (rsv2) NewDecoder() extension.Decoder { return nil }

// TestNewFromResultRecords: NewFromResult adds the agreed bits to the
// caller's, records the subprotocol and the extensions, hands out copies,
// and copes with a header given by hand that does not parse.
func TestNewFromResultRecords(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	res := &handshake.Result{Conn: a, Subprotocol: "chat", Extensions: "x-two; p=1"}
	c := raw.NewFromResult(res, raw.Server, []extension.Agreed{rsv2{}}, &raw.Options{AllowedRSV: frame.RSV3})
	defer c.Close()
	if c.AllowedRSV() != frame.RSV2|frame.RSV3 || c.Subprotocol() != "chat" || c.Extensions() != "x-two; p=1" {
		t.Fatalf("allowed %#x subprotocol %q extensions %q", c.AllowedRSV(), c.Subprotocol(), c.Extensions())
	}
	got := c.AgreedExtensions()
	if v, _ := got[0].Get("p"); len(got) != 1 || got[0].Name != "x-two" || v != "1" || got[0].Agreed != (rsv2{}) {
		t.Fatalf("agreed %+v", got)
	}
	got[0].Name, got[0].Params[0].Value = "changed", "2"
	if again := c.AgreedExtensions(); again[0].Name != "x-two" || again[0].Params[0].Value != "1" {
		t.Fatalf("a caller's change shows through: %+v", again)
	}

	a2, b2 := net.Pipe()
	defer b2.Close()
	c2 := raw.NewFromResult(&handshake.Result{Conn: a2, Extensions: "x-two;"}, raw.Server, []extension.Agreed{rsv2{}}, nil)
	defer c2.Close()
	if got := c2.AgreedExtensions(); len(got) != 1 || got[0].Name != "" || got[0].Agreed != (rsv2{}) {
		t.Fatalf("unparsable header: %+v", got)
	}
	a3, b3 := net.Pipe()
	defer b3.Close()
	c3 := raw.New(a3, nil, raw.Client, nil)
	defer c3.Close()
	if c3.AgreedExtensions() != nil || c3.Subprotocol() != "" || c3.Extensions() != "" || c3.AllowedRSV() != 0 {
		t.Fatal("New records a handshake it was not given")
	}
}

// renamer is a server extension with a bug: it answers an offer of "foo"
// under the name "bar".
type renamer struct{}

func (renamer) Name() string                  { return "foo" }
func (renamer) Offer() []extension.Element    { return []extension.Element{{Name: "foo"}} }
func (renamer) RSV() frame.RSV                { return frame.RSV2 }
func (renamer) NewEncoder() extension.Encoder { return nil }
func (renamer) NewDecoder() extension.Decoder { return nil }
func (renamer) Accept([]extension.Element) (extension.Element, extension.Agreed, error) {
	return extension.Element{Name: "bar"}, rsv2{}, nil
}
func (renamer) Confirm(extension.Element) (extension.Agreed, error) { return rsv2{}, nil }

// TestAcceptWrongNameIs500: an extension of the server's that answers
// under another name is the server's fault, not the client's: the client
// is told 500, not 400, and is not shown the server's internals.
func TestAcceptWrongNameIs500(t *testing.T) {
	errc := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := raw.Accept(w, r, &raw.AcceptOptions{Extensions: []extension.Extension{renamer{}}})
		errc <- err
	}))
	defer srv.Close()
	_, resp, err := raw.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), &raw.DialOptions{Extensions: []extension.Extension{renamer{}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("Dial: %v, response %v; want 500", err, resp)
	}
	if strings.Contains(err.Error(), "bar") {
		t.Errorf("the client was shown the server's internals: %v", err)
	}
	var he *handshake.Error
	if err := <-errc; !errors.As(err, &he) || he.StatusCode != http.StatusInternalServerError || !errors.Is(err, extension.ErrWrongName) {
		t.Fatalf("Accept: %v", err)
	}
}
