package deflate

import (
	"strings"
	"testing"

	"github.com/hybi-go/hybi/extension"
)

func mustParse(t *testing.T, s string) []extension.Element {
	t.Helper()
	e, err := extension.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAccept covers the server's rules of RFC 7692, Section 7.1: each
// parameter alone and combined, bad values, and several offers.
func TestAccept(t *testing.T) {
	tests := []struct {
		opts   Options
		offers string
		resp   string // "" declined
		agreed string // agreed.String(), when accepted
	}{
		// Plain offers.
		{Options{}, "permessage-deflate", "permessage-deflate", "send{bits=15 noctx=false} recv{bits=15 noctx=false}"},
		{Options{}, "permessage-deflate; client_max_window_bits", "permessage-deflate", "send{bits=15 noctx=false} recv{bits=15 noctx=false}"},
		// Section 7.1.1.1 and 7.1.1.2: no context takeover, asked or imposed.
		{Options{}, "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover", "send{bits=15 noctx=true} recv{bits=15 noctx=false}"},
		{Options{}, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover", "send{bits=15 noctx=false} recv{bits=15 noctx=true}"},
		{Options{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover", "send{bits=15 noctx=true} recv{bits=15 noctx=true}"},
		{Options{ServerNoContextTakeover: true}, "permessage-deflate", "permessage-deflate; server_no_context_takeover", "send{bits=15 noctx=true} recv{bits=15 noctx=false}"},
		{Options{ClientNoContextTakeover: true}, "permessage-deflate", "permessage-deflate; client_no_context_takeover", "send{bits=15 noctx=false} recv{bits=15 noctx=true}"},
		// Section 7.1.2.1: server_max_window_bits, asked or imposed; the smaller wins.
		{Options{}, "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10", "send{bits=10 noctx=false} recv{bits=15 noctx=false}"},
		{Options{}, "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8", "send{bits=8 noctx=false} recv{bits=15 noctx=false}"},
		{Options{}, "permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15", "send{bits=15 noctx=false} recv{bits=15 noctx=false}"},
		{Options{ServerMaxWindowBits: 9}, "permessage-deflate", "permessage-deflate; server_max_window_bits=9", "send{bits=9 noctx=false} recv{bits=15 noctx=false}"},
		{Options{ServerMaxWindowBits: 9}, "permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=9", "send{bits=9 noctx=false} recv{bits=15 noctx=false}"},
		{Options{ServerMaxWindowBits: 12}, "permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9", "send{bits=9 noctx=false} recv{bits=15 noctx=false}"},
		// Section 7.1.2.2: client_max_window_bits, with or without a value.
		{Options{}, "permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10", "send{bits=15 noctx=false} recv{bits=10 noctx=false}"},
		{Options{ClientMaxWindowBits: 9}, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=9", "send{bits=15 noctx=false} recv{bits=9 noctx=false}"},
		{Options{ClientMaxWindowBits: 9}, "permessage-deflate; client_max_window_bits=12", "permessage-deflate; client_max_window_bits=9", "send{bits=15 noctx=false} recv{bits=9 noctx=false}"},
		{Options{ClientMaxWindowBits: 12}, "permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9", "send{bits=15 noctx=false} recv{bits=9 noctx=false}"},
		{Options{ClientMaxWindowBits: 9}, "permessage-deflate", "", ""}, // cannot limit a client that did not offer it
		// Everything at once.
		{Options{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
			"send{bits=9 noctx=true} recv{bits=8 noctx=true}"},
		// Quoted values are the same values.
		{Options{}, `permessage-deflate; server_max_window_bits="10"`, "permessage-deflate; server_max_window_bits=10", "send{bits=10 noctx=false} recv{bits=15 noctx=false}"},
		// Bad offers are declined (RFC 7692, Section 5).
		{Options{}, "permessage-deflate; server_max_window_bits=7", "", ""},
		{Options{}, "permessage-deflate; server_max_window_bits=16", "", ""},
		{Options{}, "permessage-deflate; server_max_window_bits=abc", "", ""},
		{Options{}, "permessage-deflate; server_max_window_bits=010", "", ""},
		{Options{}, "permessage-deflate; server_max_window_bits", "", ""},
		{Options{}, "permessage-deflate; client_max_window_bits=7", "", ""},
		{Options{}, "permessage-deflate; client_max_window_bits=16", "", ""},
		{Options{}, "permessage-deflate; client_max_window_bits=abc", "", ""},
		{Options{}, "permessage-deflate; server_no_context_takeover=1", "", ""},
		{Options{}, "permessage-deflate; client_no_context_takeover=yes", "", ""},
		{Options{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "", ""},
		{Options{}, "permessage-deflate; client_max_window_bits; client_max_window_bits=10", "", ""},
		{Options{}, "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", "", ""},
		{Options{}, "permessage-deflate; x-unknown", "", ""},
		// Several offers: the first acceptable one wins.
		{Options{}, "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=10, permessage-deflate",
			"permessage-deflate; server_max_window_bits=10", "send{bits=10 noctx=false} recv{bits=15 noctx=false}"},
		{Options{}, "permessage-deflate; foo, permessage-deflate; client_no_context_takeover",
			"permessage-deflate; client_no_context_takeover", "send{bits=15 noctx=false} recv{bits=15 noctx=true}"},
		{Options{ClientMaxWindowBits: 10}, "permessage-deflate, permessage-deflate; client_max_window_bits",
			"permessage-deflate; client_max_window_bits=10", "send{bits=15 noctx=false} recv{bits=10 noctx=false}"},
		{Options{}, "permessage-deflate; a, permessage-deflate; b", "", ""},
	}
	for _, tt := range tests {
		x := New(&tt.opts)
		resp, a, err := x.Accept(mustParse(t, tt.offers))
		if err != nil {
			t.Errorf("%+v %q: %v", tt.opts, tt.offers, err)
			continue
		}
		if tt.resp == "" {
			if a != nil {
				t.Errorf("%+v %q: accepted with %q, want declined", tt.opts, tt.offers, resp)
			}
			continue
		}
		if a == nil {
			t.Errorf("%+v %q: declined, want %q", tt.opts, tt.offers, tt.resp)
			continue
		}
		if got := resp.String(); got != tt.resp {
			t.Errorf("%+v %q: response %q, want %q", tt.opts, tt.offers, got, tt.resp)
		}
		if got := a.(*agreed).String(); got != tt.agreed {
			t.Errorf("%+v %q: agreed %s, want %s", tt.opts, tt.offers, got, tt.agreed)
		}
		// The client that made the accepted offer agrees with the
		// server on both directions.
		checkClientAgrees(t, tt.offers, resp, a.(*agreed))
	}
}

// checkClientAgrees confirms resp on a client whose options produce the
// offer that was accepted, when there is one, and compares directions.
func checkClientAgrees(t *testing.T, offers string, resp extension.Element, srv *agreed) {
	t.Helper()
	for _, off := range mustParse(t, offers) {
		p, err := parseParams(off, false)
		if err != nil || !p.clientBitsPresent {
			continue
		}
		o := Options{ServerNoContextTakeover: p.serverNoCtx, ClientNoContextTakeover: p.clientNoCtx, ServerMaxWindowBits: p.serverBits, ClientMaxWindowBits: p.clientBits}
		if New(&o).Offer()[0].String() != off.String() {
			continue
		}
		a, err := New(&o).Confirm(resp)
		if err != nil {
			t.Errorf("client offering %q refuses %q: %v", off, resp, err)
			return
		}
		cl := a.(*agreed)
		if cl.sendBits > srv.recvBits || cl.recvBits < srv.sendBits || cl.sendNoCtx != srv.recvNoCtx || cl.recvNoCtx != srv.sendNoCtx {
			t.Errorf("client %s and server %s disagree", cl, srv)
		}
		return
	}
}

// TestOffer checks the client's offer for each option.
func TestOffer(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, "permessage-deflate; client_max_window_bits"},
		{Options{ServerNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover; client_max_window_bits"},
		{Options{ClientNoContextTakeover: true}, "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
		{Options{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=10; client_max_window_bits"},
		{Options{ClientMaxWindowBits: 8}, "permessage-deflate; client_max_window_bits=8"},
		{Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 9, ClientMaxWindowBits: 12},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=12"},
	}
	for _, tt := range tests {
		if got := extension.Format(New(&tt.opts).Offer()); got != tt.want {
			t.Errorf("%+v: offer %q, want %q", tt.opts, got, tt.want)
		}
	}
}

// TestConfirm covers the client's checks of RFC 7692, Sections 5 and 7.1.
func TestConfirm(t *testing.T) {
	tests := []struct {
		opts   Options
		resp   string
		agreed string // "" when refused
		errHas string
	}{
		{Options{}, "permessage-deflate", "send{bits=15 noctx=false} recv{bits=15 noctx=false}", ""},
		// The server may impose these on its own.
		{Options{}, "permessage-deflate; server_no_context_takeover", "send{bits=15 noctx=false} recv{bits=15 noctx=true}", ""},
		{Options{}, "permessage-deflate; client_no_context_takeover", "send{bits=15 noctx=true} recv{bits=15 noctx=false}", ""},
		{Options{}, "permessage-deflate; server_max_window_bits=8", "send{bits=15 noctx=false} recv{bits=8 noctx=false}", ""},
		{Options{}, "permessage-deflate; client_max_window_bits=9", "send{bits=9 noctx=false} recv{bits=15 noctx=false}", ""},
		// What the client asked for.
		{Options{ClientNoContextTakeover: true}, "permessage-deflate", "send{bits=15 noctx=true} recv{bits=15 noctx=false}", ""},
		{Options{ServerNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover", "send{bits=15 noctx=false} recv{bits=15 noctx=true}", ""},
		{Options{ServerNoContextTakeover: true}, "permessage-deflate", "", "server_no_context_takeover"},
		{Options{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=10", "send{bits=15 noctx=false} recv{bits=10 noctx=false}", ""},
		{Options{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=9", "send{bits=15 noctx=false} recv{bits=9 noctx=false}", ""},
		{Options{ServerMaxWindowBits: 10}, "permessage-deflate; server_max_window_bits=11", "", "larger than offered"},
		{Options{ServerMaxWindowBits: 10}, "permessage-deflate", "", "server_max_window_bits"},
		{Options{ClientMaxWindowBits: 10}, "permessage-deflate", "send{bits=10 noctx=false} recv{bits=15 noctx=false}", ""},
		{Options{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=8", "send{bits=8 noctx=false} recv{bits=15 noctx=false}", ""},
		{Options{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=12", "", "larger than offered"},
		// Bad responses.
		{Options{}, "permessage-deflate; client_max_window_bits", "", "needs a value"},
		{Options{}, "permessage-deflate; server_max_window_bits", "", "needs a value"},
		{Options{}, "permessage-deflate; server_max_window_bits=7", "", "invalid"},
		{Options{}, "permessage-deflate; server_max_window_bits=16", "", "invalid"},
		{Options{}, "permessage-deflate; client_max_window_bits=abc", "", "invalid"},
		{Options{}, "permessage-deflate; server_no_context_takeover=x", "", "takes no value"},
		{Options{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "", "duplicate"},
		{Options{}, "permessage-deflate; mystery", "", "unknown"},
	}
	for _, tt := range tests {
		e := mustParse(t, tt.resp)[0]
		a, err := New(&tt.opts).Confirm(e)
		if tt.agreed == "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("%+v %q: got %v, want an error with %q", tt.opts, tt.resp, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v %q: %v", tt.opts, tt.resp, err)
			continue
		}
		if got := a.(*agreed).String(); got != tt.agreed {
			t.Errorf("%+v %q: agreed %s, want %s", tt.opts, tt.resp, got, tt.agreed)
		}
	}
}

func TestNewPanics(t *testing.T) {
	for _, o := range []Options{{Level: 10}, {Level: -3}, {ServerMaxWindowBits: 7}, {ClientMaxWindowBits: 16}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", o)
				}
			}()
			New(&o)
		}()
	}
}
