package extension

import (
	"errors"
	"reflect"
	"testing"
)

func el(name string, params ...string) Element {
	e := Element{Name: name}
	for i := 0; i < len(params); i += 2 {
		e.Params = append(e.Params, Param{Name: params[i], Value: params[i+1]})
	}
	return e
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   []string
		want []Element
	}{
		{[]string{"permessage-deflate"}, []Element{el("permessage-deflate")}},
		{[]string{"permessage-deflate; client_max_window_bits"}, []Element{el("permessage-deflate", "client_max_window_bits", "")}},
		{[]string{"permessage-deflate;client_max_window_bits=10;server_no_context_takeover"},
			[]Element{el("permessage-deflate", "client_max_window_bits", "10", "server_no_context_takeover", "")}},
		{[]string{" a ; b = 1 ;\tc=\"2\" , d"}, []Element{el("a", "b", "1", "c", "2"), el("d")}},
		{[]string{`x; v="a\bc"`}, []Element{el("x", "v", "abc")}}, // quoted-pair unescaped
		{[]string{"a, , b,"}, []Element{el("a"), el("b")}},        // empty list elements (RFC 7230, Section 7)
		{[]string{"a", "b; p=1", "a"}, []Element{el("a"), el("b", "p", "1"), el("a")}},
		{[]string{""}, nil},
		{nil, nil},
		{[]string{"foo, bar; baz=2"}, []Element{el("foo"), el("bar", "baz", "2")}}, // RFC 6455, Section 9.1
		{[]string{"mux; max-channels=4; flow-control, deflate-stream", "private-extension"},
			[]Element{el("mux", "max-channels", "4", "flow-control", ""), el("deflate-stream"), el("private-extension")}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in...)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		";",
		"a;",
		"a; =1",
		"a; b=",
		"a; b=;",
		"a b",
		"a; b c",
		"a; b=1 2",
		`a; b="unterminated`,
		`a; b="two words"`,   // a quoted value must be a token once unescaped
		`a; b=""`,            // the empty string is no token
		`a; b="x\`,           // escape at the end
		"a; b=\"x\x01\"",     // control character
		"a; b=\"x\\\x01\"",   // control character escaped
		"a/b",                // separator in a token
		"a; b=c/d",           // separator in a value
		"\"quoted-name\"",    // the name is a token
		"a; b=1; c=\"ok\" x", // junk after a parameter
		"é",                  // not ASCII
	} {
		_, err := Parse(in)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   []Element
		want string
	}{
		{nil, ""},
		{[]Element{el("a")}, "a"},
		{[]Element{el("a", "b", "", "c", "15")}, "a; b; c=15"},
		{[]Element{el("a"), el("b", "x", "1")}, "a, b; x=1"},
		{[]Element{el("a", "v", `two "words"`)}, `a; v="two \"words\""`},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%+v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// What Format writes with token values, Parse reads back.
	in := []Element{el("permessage-deflate", "server_no_context_takeover", "", "client_max_window_bits", "10"), el("x-y", "z", "1")}
	out, err := Parse(Format(in))
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
}

func TestElementGet(t *testing.T) {
	e := el("x", "a", "1", "b", "", "a", "2")
	if v, ok := e.Get("a"); !ok || v != "1" {
		t.Errorf("Get(a) = %q, %v", v, ok)
	}
	if !e.Has("b") || e.Has("c") {
		t.Error("Has")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"permessage-deflate; client_max_window_bits", `a; b="c\"d", e`, "a,,b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(Format(e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("%q: parsed %+v, formatted %q, reparsed %+v, %v", s, e, Format(e), again, err)
		}
	})
}
