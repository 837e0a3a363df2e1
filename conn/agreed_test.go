package conn_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// tieredDeflate chooses permessage-deflate's parameters per user, from the
// request: paying users keep their compression context between messages
// (better ratio, more memory on the server), the others do not.
type tieredDeflate struct {
	*deflate.Extension // Name, Offer, Confirm, and Accept without a request
	paying, free       *deflate.Extension
}

func (x tieredDeflate) AcceptRequest(r *http.Request, offers []extension.Element) (extension.Element, extension.Agreed, error) {
	if r.Header.Get("X-User") == "alice" {
		return x.paying.Accept(offers)
	}
	return x.free.Accept(offers)
}

// rsv1Ext is an extension that wants RSV1, as permessage-deflate does.
type rsv1Ext struct{}

func (rsv1Ext) Name() string                  { return "x-rsv1" }
func (rsv1Ext) Offer() []extension.Element    { return []extension.Element{{Name: "x-rsv1"}} }
func (rsv1Ext) RSV() frame.RSV                { return frame.RSV1 }
func (rsv1Ext) NewEncoder() extension.Encoder { return nil }
func (rsv1Ext) NewDecoder() extension.Decoder { return nil }
func (x rsv1Ext) Accept([]extension.Element) (extension.Element, extension.Agreed, error) {
	return extension.Element{}, x, nil
}
func (x rsv1Ext) Confirm(extension.Element) (extension.Agreed, error) { return x, nil }

// unknownExt is an extension the server does not support.
type unknownExt struct{ rsv1Ext }

func (unknownExt) Name() string               { return "x-unknown" }
func (unknownExt) Offer() []extension.Element { return []extension.Element{{Name: "x-unknown"}} }

// TestAgreedExtensionsPerUser: the server picks permessage-deflate's
// parameters from the request (RequestAccepter through conn.Accept), both
// ends report what was agreed with its parameters, messages are
// compressed and decompressed with them, and what the server declined is
// reported with the reason.
func TestAgreedExtensionsPerUser(t *testing.T) {
	var (
		mu       sync.Mutex
		declined = map[string][]extension.Declined{}
		server   = make(chan []extension.Negotiated, 1)
	)
	ao := &conn.AcceptOptions{
		Extensions: []extension.Extension{
			tieredDeflate{deflate.New(nil), deflate.New(nil), deflate.New(&deflate.Options{ServerNoContextTakeover: true})},
			rsv1Ext{},
		},
		OnNegotiation: func(r *http.Request, n *extension.Negotiation) {
			mu.Lock()
			declined[r.Header.Get("X-User")] = n.Declined
			mu.Unlock()
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			return
		}
		defer c.CloseNow()
		server <- c.AgreedExtensions()
		ctx := context.Background()
		typ, p, err := c.Read(ctx)
		if err == nil {
			c.Write(ctx, typ, p)
		}
		c.Read(ctx)
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	for _, tt := range []struct{ user, params string }{
		{"alice", ""},
		{"bob", "server_no_context_takeover"},
	} {
		do := &conn.DialOptions{
			Dialer:     handshake.Dialer{Header: http.Header{"X-User": {tt.user}}},
			Extensions: []extension.Extension{deflate.New(nil), rsv1Ext{}, unknownExt{}},
		}
		c := dial(t, url, do)
		check := func(end string, agreed []extension.Negotiated) {
			t.Helper()
			if len(agreed) != 1 || agreed[0].Name != "permessage-deflate" || agreed[0].Agreed == nil || agreed[0].Agreed.RSV() != frame.RSV1 {
				t.Fatalf("%s, %s: agreed %+v", tt.user, end, agreed)
			}
			var ps []string
			for _, p := range agreed[0].Params {
				ps = append(ps, p.Name)
			}
			if got := strings.Join(ps, ","); got != tt.params {
				t.Fatalf("%s, %s: parameters %q, want %q", tt.user, end, got, tt.params)
			}
		}
		check("client", c.AgreedExtensions())
		check("server", <-server)
		msg := strings.Repeat("compress me ", 1000)
		ctx := context.Background()
		if err := c.Write(ctx, conn.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.Read(ctx); err != nil || string(p) != msg {
			t.Fatalf("%s: echo %d bytes, %v", tt.user, len(p), err)
		}
		c.Close(conn.StatusNormalClosure, "")

		mu.Lock()
		d := declined[tt.user]
		mu.Unlock()
		if len(d) != 2 || d[0].Name != "x-rsv1" || !errors.Is(d[0].Reason, extension.ErrRSVConflict) ||
			!strings.Contains(d[0].Reason.Error(), "which permessage-deflate holds") ||
			d[1].Name != "x-unknown" || !errors.Is(d[1].Reason, extension.ErrNotSupported) {
			t.Fatalf("%s: declined %v", tt.user, d)
		}
	}
}

// TestNewAppliesRawExtensions: a Raw session started by raw.Accept knows
// what was agreed, and conn.New on it takes its subprotocol and compresses
// and decompresses accordingly (before, conn.New dropped the extensions the Raw session
// had allowed the bits of).
func TestNewAppliesRawExtensions(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := raw.Accept(w, r, &raw.AcceptOptions{Extensions: exts(nil), Upgrader: handshake.Upgrader{Subprotocols: []string{"chat"}}})
		if err != nil {
			done <- err
			return
		}
		if rc.AllowedRSV() != frame.RSV1 || len(rc.AgreedExtensions()) != 1 {
			done <- errors.New("raw: " + rc.Extensions())
			rc.Close()
			return
		}
		c := conn.New(rc, "", nil)
		defer c.CloseNow()
		if c.Subprotocol() != "chat" || c.Extensions() != "permessage-deflate" {
			done <- errors.New("conn.New: subprotocol " + c.Subprotocol() + ", extensions " + c.Extensions())
			return
		}
		ctx := context.Background()
		typ, p, err := c.Read(ctx)
		if err == nil {
			err = c.Write(ctx, typ, p)
		}
		done <- err
		c.Read(ctx)
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{
		Extensions: exts(nil), Dialer: handshake.Dialer{Subprotocols: []string{"chat"}},
	})
	if c.Extensions() != "permessage-deflate" {
		t.Fatalf("agreed %q", c.Extensions())
	}
	ctx := context.Background()
	msg := strings.Repeat("abc", 5000)
	c.Write(ctx, conn.MessageBinary, []byte(msg))
	_, p, err := c.Read(ctx)
	if e := <-done; e != nil {
		t.Fatalf("server: %v", e)
	}
	if err != nil || string(p) != msg {
		t.Fatalf("echo: %d bytes %v", len(p), err)
	}
	c.Close(conn.StatusNormalClosure, "")
}
