package extension_test

import (
	"errors"
	"io"
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
