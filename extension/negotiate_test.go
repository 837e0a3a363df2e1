package extension_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
)

// fake is an extension that accepts every offer as it is, with a fixed
// RSV, and can be told to fail.
type fake struct {
	name string
	rsv  frame.RSV
	fail bool
}

func (f fake) Name() string                  { return f.name }
func (f fake) Offer() []extension.Element    { return []extension.Element{{Name: f.name}} }
func (f fake) RSV() frame.RSV                { return f.rsv }
func (f fake) NewEncoder() extension.Encoder { return nil }
func (f fake) NewDecoder() extension.Decoder { return nil }
func (f fake) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	if f.fail {
		return extension.Element{}, nil, errors.New("boom")
	}
	return offers[0], f, nil
}
func (f fake) Confirm(resp extension.Element) (extension.Agreed, error) {
	if f.fail {
		return nil, errors.New("boom")
	}
	return f, nil
}

var (
	fooExt = fake{name: "foo", rsv: frame.RSV2}
	barExt = fake{name: "bar", rsv: frame.RSV3}
	bazExt = fake{name: "baz", rsv: frame.RSV2} // the same bit as foo
)

func names(a []extension.Agreed) string {
	var s []string
	for _, x := range a {
		s = append(s, x.(fake).name)
	}
	return strings.Join(s, ",")
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		exts   []extension.Extension
		offers []string
		resp   string
		agreed string
		err    bool
	}{
		{[]extension.Extension{fooExt, barExt}, []string{"foo, bar"}, "foo, bar", "foo,bar", false},
		// The client's order decides, not the server's.
		{[]extension.Extension{fooExt, barExt}, []string{"bar", "foo"}, "bar, foo", "bar,foo", false},
		// Unknown extensions are skipped.
		{[]extension.Extension{fooExt}, []string{"x-unknown; a=1, foo"}, "foo", "foo", false},
		// The second one on the same bit is declined.
		{[]extension.Extension{fooExt, bazExt, barExt}, []string{"baz, foo, bar"}, "baz, bar", "baz,bar", false},
		// Several offers of one extension go to it together.
		{[]extension.Extension{fooExt}, []string{"foo; a=1, bar, foo; a=2"}, "foo; a=1", "foo", false},
		{[]extension.Extension{fooExt}, nil, "", "", false},
		{nil, []string{"foo"}, "", "", false},
		{[]extension.Extension{fooExt}, []string{"foo; a=\"b c\""}, "", "", true},
		{[]extension.Extension{fake{name: "foo", fail: true}}, []string{"foo"}, "", "", true},
	}
	for _, tt := range tests {
		resp, agreed, err := extension.Negotiate(tt.exts, tt.offers)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v", tt.offers, err)
			continue
		}
		if resp != tt.resp || names(agreed) != tt.agreed {
			t.Errorf("%q: response %q agreed %q, want %q %q", tt.offers, resp, names(agreed), tt.resp, tt.agreed)
		}
	}
}

func TestConfirm(t *testing.T) {
	exts := []extension.Extension{fooExt, barExt, bazExt}
	tests := []struct {
		resp   string
		agreed string
		err    string
	}{
		{"foo, bar", "foo,bar", ""},
		{"bar, foo", "bar,foo", ""},
		{"", "", ""},
		{"foo, foo", "", "twice"},
		{"qux", "", "not offered"},
		{"foo, baz", "", "same reserved bit"},
		{"foo;", "", "bad Sec-WebSocket-Extensions"},
	}
	for _, tt := range tests {
		agreed, err := extension.Confirm(exts, tt.resp)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.resp, err, tt.err)
			}
			continue
		}
		if err != nil || names(agreed) != tt.agreed {
			t.Errorf("%q: %q, %v; want %q", tt.resp, names(agreed), err, tt.agreed)
		}
	}
	if _, err := extension.Confirm([]extension.Extension{fake{name: "foo", fail: true}}, "foo"); err == nil {
		t.Error("Confirm ignored the extension's refusal")
	}
	if _, err := extension.Confirm(exts, "foo, baz"); !errors.Is(err, extension.ErrRSVConflict) {
		t.Errorf("conflict: %v", err)
	}
}

func TestOffers(t *testing.T) {
	got := extension.Offers([]extension.Extension{xorExtension{key: 7}, deflate.New(nil)})
	want := []string{"x-xor; key=7", "permessage-deflate; client_max_window_bits"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Offers = %q, want %q", got, want)
	}
}

// TestExampleRoundTrip drives the example extension's codec directly.
func TestExampleRoundTrip(t *testing.T) {
	c := xorCodec{key: 9}
	var wire strings.Builder
	m := &extension.Message{Opcode: frame.OpText, Size: -1}
	w, _ := c.Encode(&wire, m)
	io.WriteString(w, strings.Repeat("abc", 300))
	w.Close()
	r, _ := c.Decode(strings.NewReader(wire.String()), m)
	got, _ := io.ReadAll(r)
	if string(got) != strings.Repeat("abc", 300) || m.RSV != frame.RSV2 {
		t.Fatal("xor round trip")
	}
}

// renamer answers with another extension's name.
type renamer struct{ fake }

func (r renamer) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	return extension.Element{Name: "permessage-deflate"}, r.fake, nil
}

// TestNegotiateWrongName: an extension that answers under another name is
// a bug that would have the server agree to what the client never
// offered; it must not be renamed silently.
func TestNegotiateWrongName(t *testing.T) {
	exts := []extension.Extension{renamer{fooExt}}
	resp, _, err := extension.Negotiate(exts, []string{"foo"})
	if err == nil {
		t.Fatalf("Negotiate renamed the answer silently: response %q", resp)
	}
	if !errors.Is(err, extension.ErrWrongName) || !strings.Contains(err.Error(), "permessage-deflate") {
		t.Fatalf("error %v, want ErrWrongName naming the answer", err)
	}
	// An answer with no name is given the extension's.
	exts = []extension.Extension{blank{fooExt}}
	if resp, _, err := extension.Negotiate(exts, []string{"foo; a=1"}); err != nil || resp != "foo; a=1" {
		t.Fatalf("an unnamed answer: %q %v", resp, err)
	}
}

// blank answers with the offer's parameters and no name.
type blank struct{ fake }

func (b blank) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	return extension.Element{Params: offers[0].Params}, b.fake, nil
}

// decliner declines every offer.
type decliner struct{ fake }

func (decliner) Accept([]extension.Element) (extension.Element, extension.Agreed, error) {
	return extension.Element{}, nil, nil
}

// TestNegotiateReportsDeclined: what the server did not agree to is
// listed with the reason, an RSV conflict naming both extensions and the
// bit, instead of being dropped without a word.
func TestNegotiateReportsDeclined(t *testing.T) {
	exts := []extension.Extension{fooExt, bazExt, barExt, decliner{fake{name: "qux", rsv: frame.RSV1}}}
	n, err := extension.NegotiateRequest(nil, exts, []string{"baz, x-unknown, foo, qux, bar"})
	if err != nil {
		t.Fatal(err)
	}
	if n.Response != "baz, bar" || len(n.Agreed) != 2 || n.Agreed[0].Name != "baz" || n.Agreed[1].Agreed.(fake).name != "bar" {
		t.Fatalf("agreed %q %+v", n.Response, n.Agreed)
	}
	want := []struct {
		name   string
		reason error
		text   string
	}{
		{"x-unknown", extension.ErrNotSupported, "not supported"},
		{"foo", extension.ErrRSVConflict, "foo wants RSV2, which baz holds"},
		{"qux", extension.ErrOffersDeclined, "declined"},
	}
	if len(n.Declined) != len(want) {
		t.Fatalf("declined %v, want %d", n.Declined, len(want))
	}
	for i, w := range want {
		d := n.Declined[i]
		if d.Name != w.name || !errors.Is(d.Reason, w.reason) || !strings.Contains(d.Reason.Error(), w.text) {
			t.Errorf("declined[%d] = %s: %v, want %s: %q", i, d.Name, d.Reason, w.name, w.text)
		}
	}
	// Negotiate agrees to the same.
	resp, agreed, err := extension.Negotiate(exts, []string{"baz, x-unknown, foo, qux, bar"})
	if err != nil || resp != n.Response || names(agreed) != "baz,bar" {
		t.Fatalf("Negotiate: %q %q %v", resp, names(agreed), err)
	}
}

// perUser is an extension whose parameter is chosen per request: the
// server answers with the user's quota, from the request's context.
type perUser struct{ fake }

type userKey struct{}

func (p perUser) AcceptRequest(r *http.Request, offers []extension.Element) (extension.Element, extension.Agreed, error) {
	user, _ := r.Context().Value(userKey{}).(string)
	if user == "" {
		return extension.Element{}, nil, nil
	}
	quota := "10"
	if user == "alice" {
		quota = "99"
	}
	return extension.Element{Name: p.name, Params: []extension.Param{{Name: "quota", Value: quota}}}, p.fake, nil
}

func TestNegotiateRequest(t *testing.T) {
	exts := []extension.Extension{perUser{fooExt}, barExt}
	for _, tt := range []struct{ user, resp string }{
		{"alice", "foo; quota=99, bar"},
		{"bob", "foo; quota=10, bar"},
		{"", "bar"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(context.WithValue(r.Context(), userKey{}, tt.user))
		n, err := extension.NegotiateRequest(r, exts, []string{"foo, bar"})
		if err != nil || n.Response != tt.resp {
			t.Errorf("user %q: %q %v, want %q", tt.user, n.Response, err, tt.resp)
		}
	}
	// Without a request, Accept answers (here with the offer as it is).
	if resp, _, err := extension.Negotiate(exts, []string{"foo, bar"}); err != nil || resp != "foo, bar" {
		t.Errorf("Negotiate: %q %v", resp, err)
	}
}

func TestDescribe(t *testing.T) {
	got, err := extension.Describe("foo; a=1, bar", []extension.Agreed{fooExt})
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if v, _ := got[0].Get("a"); got[0].Name != "foo" || v != "1" || got[0].Agreed != fooExt || got[1].Name != "bar" || got[1].Agreed != nil {
		t.Fatalf("%+v", got)
	}
	if got, err := extension.Describe("", nil); got != nil || err != nil {
		t.Fatalf("empty: %+v %v", got, err)
	}
}
