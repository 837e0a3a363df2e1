package extension

import (
	"errors"
	"fmt"

	"github.com/hybi-go/hybi/frame"
)

// ErrRSVConflict is wrapped by Confirm's error when the server agreed to
// two extensions that use the same reserved bit.
var ErrRSVConflict = errors.New("extension: two extensions use the same reserved bit")

// Offers returns the client's Sec-WebSocket-Extensions offers for exts,
// one string per element, in order: each extension's offers in its order
// of preference, the extensions in the order given (RFC 6455, Section
// 9.1). The result is what handshake.Dialer.Extensions takes.
func Offers(exts []Extension) []string {
	var out []string
	for _, x := range exts {
		for _, e := range x.Offer() {
			if e.Name == "" {
				e.Name = x.Name()
			}
			out = append(out, e.String())
		}
	}
	return out
}

// Negotiate is the server's side of the negotiation (RFC 6455, Section
// 9.1): offers are the values of the client's Sec-WebSocket-Extensions
// header fields, exts the extensions the server supports. The client's
// extensions are considered in the order it listed them; each one the
// server supports gets all its offers, in order, through Accept. An
// extension that wants a reserved bit an extension accepted before it
// already uses is declined.
//
// It returns the value of the response header ("" when nothing was
// accepted) and what was agreed, in the order of the response, which is
// the order the extensions apply to outgoing data. A header that does not
// parse is an error, which should fail the handshake with 400.
//
// Negotiate fits handshake.Upgrader.NegotiateExtensions.
func Negotiate(exts []Extension, offers []string) (response string, agreed []Agreed, err error) {
	if len(exts) == 0 {
		return "", nil, nil
	}
	elems, err := Parse(offers...)
	if err != nil {
		return "", nil, err
	}
	var (
		resp []Element
		used frame.RSV
		seen []string
	)
next:
	for _, e := range elems {
		for _, s := range seen {
			if s == e.Name {
				continue next
			}
		}
		seen = append(seen, e.Name)
		var x Extension
		for _, c := range exts {
			if c.Name() == e.Name {
				x = c
				break
			}
		}
		if x == nil {
			continue
		}
		var group []Element
		for _, o := range elems {
			if o.Name == e.Name {
				group = append(group, o)
			}
		}
		r, a, err := x.Accept(group)
		if err != nil {
			return "", nil, fmt.Errorf("extension %s: %w", x.Name(), err)
		}
		if a == nil || a.RSV()&used != 0 {
			continue
		}
		used |= a.RSV()
		r.Name = x.Name()
		resp = append(resp, r)
		agreed = append(agreed, a)
	}
	return Format(resp), agreed, nil
}

// Confirm is the client's side: it checks the server's
// Sec-WebSocket-Extensions response against exts, the extensions the
// client offered, and returns what was agreed, in the order of the
// response. An extension the client did not offer, one listed twice, an
// answer its Confirm refuses, and two extensions that use the same
// reserved bit are errors that must fail the connection (RFC 6455,
// Section 4.1 and Section 9.1).
//
// A closure over Confirm fits handshake.Dialer.CheckExtensions.
func Confirm(exts []Extension, response string) ([]Agreed, error) {
	elems, err := Parse(response)
	if err != nil {
		return nil, err
	}
	var (
		agreed []Agreed
		used   frame.RSV
	)
	for i, e := range elems {
		for _, p := range elems[:i] {
			if p.Name == e.Name {
				return nil, fmt.Errorf("extension: %s accepted twice", e.Name)
			}
		}
		var x Extension
		for _, c := range exts {
			if c.Name() == e.Name {
				x = c
				break
			}
		}
		if x == nil {
			return nil, fmt.Errorf("extension: server accepted %s, which was not offered", e.Name)
		}
		a, err := x.Confirm(e)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", e.Name, err)
		}
		if a == nil {
			return nil, fmt.Errorf("extension %s: response refused", e.Name)
		}
		if a.RSV()&used != 0 {
			return nil, fmt.Errorf("extension %s: %w", e.Name, ErrRSVConflict)
		}
		used |= a.RSV()
		agreed = append(agreed, a)
	}
	return agreed, nil
}
