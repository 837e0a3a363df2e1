package extension

import (
	"errors"
	"strconv"
	"strings"
)

// Param is one extension parameter: a name and, unless Value is empty, a
// value. The grammar requires a value to be a token, quoted or not (RFC
// 6455, Section 9.1), so an empty value and no value are the same.
type Param struct {
	Name  string
	Value string
}

// Element is one element of a Sec-WebSocket-Extensions header: an
// extension name with its parameters, in order (RFC 6455, Section 9.1).
// In a client's request it is an offer; in a server's response, the
// acceptance of one.
type Element struct {
	Name   string
	Params []Param
}

// Has reports whether e has a parameter named name.
func (e Element) Has(name string) bool {
	_, ok := e.Get(name)
	return ok
}

// Get returns the value of the first parameter of e named name, and
// whether there is one.
func (e Element) Get(name string) (value string, ok bool) {
	for _, p := range e.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// String formats e as it is sent in a Sec-WebSocket-Extensions header.
func (e Element) String() string { return string(e.Append(nil)) }

// Append appends the header form of e to b: "name; param; param=value".
// A value that is not a token is written as a quoted-string, although the
// grammar of RFC 6455, Section 9.1 allows only tokens.
func (e Element) Append(b []byte) []byte {
	b = append(b, e.Name...)
	for _, p := range e.Params {
		b = append(b, "; "...)
		b = append(b, p.Name...)
		if p.Value == "" {
			continue
		}
		b = append(b, '=')
		if isToken(p.Value) {
			b = append(b, p.Value...)
			continue
		}
		b = append(b, '"')
		for i := 0; i < len(p.Value); i++ {
			if c := p.Value[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, p.Value[i])
		}
		b = append(b, '"')
	}
	return b
}

// Format formats elements as one Sec-WebSocket-Extensions header value,
// separated by ", ".
func Format(elements []Element) string {
	var b []byte
	for i, e := range elements {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = e.Append(b)
	}
	return string(b)
}

// SyntaxError reports a Sec-WebSocket-Extensions value that does not
// follow the grammar of RFC 6455, Section 9.1.
type SyntaxError struct {
	Value  string // the header value
	Offset int    // byte offset of the error in Value
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "extension: bad Sec-WebSocket-Extensions header at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg + " in " + strconv.Quote(e.Value)
}

// ErrSyntax is wrapped by every *SyntaxError, for errors.Is.
var ErrSyntax = errors.New("extension: bad Sec-WebSocket-Extensions header")

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Parse parses the values of one or more Sec-WebSocket-Extensions header
// fields, in order, into their elements (RFC 6455, Section 9.1):
//
//	extension-list  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// Optional whitespace is allowed around the separators, and empty list
// elements are ignored (RFC 7230, Section 7). A quoted-string value is
// unescaped and must then be a token. Parameter names and values are kept
// as they are; checking them is up to the extension.
func Parse(values ...string) ([]Element, error) {
	var out []Element
	for _, v := range values {
		var err error
		if out, err = parseValue(out, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) fail(msg string) error {
	return &SyntaxError{Value: p.s, Offset: p.i, Msg: msg}
}

func (p *parser) ows() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) token() string {
	j := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[j:p.i]
}

func (p *parser) quoted() (string, error) {
	p.i++ // opening quote
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c == '\\':
			p.i++
			if p.i == len(p.s) {
				return "", p.fail("unterminated quoted-string")
			}
			c = p.s[p.i]
			if c != '\t' && (c < ' ' || c == 0x7f) {
				return "", p.fail("bad character in quoted-pair")
			}
		case c != '\t' && (c < ' ' || c == 0x7f):
			return "", p.fail("bad character in quoted-string")
		}
		b = append(b, c)
		p.i++
	}
	return "", p.fail("unterminated quoted-string")
}

func parseValue(out []Element, s string) ([]Element, error) {
	p := &parser{s: s}
	for {
		p.ows()
		if p.i == len(s) {
			return out, nil
		}
		if s[p.i] == ',' { // empty list element
			p.i++
			continue
		}
		name := p.token()
		if name == "" {
			return nil, p.fail("expected an extension token")
		}
		e := Element{Name: name}
		for {
			p.ows()
			if p.i == len(s) || s[p.i] == ',' {
				break
			}
			if s[p.i] != ';' {
				return nil, p.fail("expected ';' or ','")
			}
			p.i++
			p.ows()
			var prm Param
			if prm.Name = p.token(); prm.Name == "" {
				return nil, p.fail("expected a parameter name")
			}
			p.ows()
			if p.i < len(s) && s[p.i] == '=' {
				p.i++
				p.ows()
				at := p.i
				if p.i < len(s) && s[p.i] == '"' {
					v, err := p.quoted()
					if err != nil {
						return nil, err
					}
					if !isToken(v) {
						p.i = at
						return nil, p.fail("quoted parameter value is not a token")
					}
					prm.Value = v
				} else if prm.Value = p.token(); prm.Value == "" {
					return nil, p.fail("expected a parameter value")
				}
			}
			e.Params = append(e.Params, prm)
		}
		out = append(out, e)
		if p.i < len(s) {
			p.i++ // ','
		}
	}
}

// isTchar reports whether c may appear in a token (RFC 7230, Section
// 3.2.6).
func isTchar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}
