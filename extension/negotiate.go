package extension

import (
	"errors"
	"fmt"
	"math/bits"
	"net/http"

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

// Errors that say why Negotiate declined an offered extension (see
// Declined), or why it failed.
var (
	// ErrNotSupported: the client offered an extension the server does not
	// support.
	ErrNotSupported = errors.New("extension: not supported by the server")

	// ErrOffersDeclined: the extension's Accept declined every offer of
	// the client (it returned a nil Agreed).
	ErrOffersDeclined = errors.New("extension: every offer declined by the extension")

	// ErrWrongName is wrapped by Negotiate's error when an extension's
	// Accept answers with an element named after another extension: a bug
	// in the extension, which would have the server agree to something
	// the client did not offer.
	ErrWrongName = errors.New("extension: Accept answered with another extension's name")
)

// RequestAccepter is implemented by an Extension whose answer depends on
// the client's request: a per-user parameter, a setting chosen from a
// header, a cookie, the URL or the request's context (where middleware
// puts the authenticated user). NegotiateRequest calls AcceptRequest in
// place of Accept, with the same offers and the same contract; Negotiate,
// which has no request, calls Accept.
type RequestAccepter interface {
	AcceptRequest(r *http.Request, offers []Element) (response Element, agreed Agreed, err error)
}

// Negotiated is an extension in use on a connection: its name and
// parameters as the server's response gave them, and its Agreed value.
type Negotiated struct {
	Element
	// Agreed is what the extension's Accept or Confirm returned; an
	// extension that exports its type lets a caller type-assert it.
	Agreed Agreed
}

// Declined is an extension the client offered that the server did not
// agree to, and why.
type Declined struct {
	Name string
	// Reason wraps ErrNotSupported, ErrOffersDeclined or ErrRSVConflict
	// (for that one, its text names the extension that holds the bit).
	Reason error
}

// Negotiation is the outcome of the server's side of the negotiation.
type Negotiation struct {
	// Response is the value of the server's Sec-WebSocket-Extensions
	// header, "" when nothing was agreed.
	Response string
	// Agreed are the extensions agreed, in the order of Response, which
	// is the order they apply to outgoing data.
	Agreed []Negotiated
	// Declined are the extensions the client offered that were not
	// agreed, in the client's order: the server does not support them,
	// declined them, or could not give them the reserved bit they want.
	// None of these fails the handshake: the connection goes on without
	// them, as RFC 6455, Section 9.1 provides. A server that must not go
	// on without one fails the handshake itself.
	Declined []Declined
}

// AgreedValues returns the Agreed values of n.Agreed, in order: what
// conn.NewFromResult and raw.NewFromResult take.
func (n *Negotiation) AgreedValues() []Agreed {
	if len(n.Agreed) == 0 {
		return nil
	}
	a := make([]Agreed, len(n.Agreed))
	for i, x := range n.Agreed {
		a[i] = x.Agreed
	}
	return a
}

// Negotiate is the server's side of the negotiation (RFC 6455, Section
// 9.1): offers are the values of the client's Sec-WebSocket-Extensions
// header fields, exts the extensions the server supports. It is
// NegotiateRequest with no request, and returns only the response and the
// Agreed values.
//
// Negotiate fits handshake.Upgrader.NegotiateExtensions.
func Negotiate(exts []Extension, offers []string) (response string, agreed []Agreed, err error) {
	n, err := NegotiateRequest(nil, exts, offers)
	if err != nil {
		return "", nil, err
	}
	return n.Response, n.AgreedValues(), nil
}

// NegotiateRequest is the server's side of the negotiation (RFC 6455,
// Section 9.1) for the request r: offers are the values of the client's
// Sec-WebSocket-Extensions header fields, exts the extensions the server
// supports. The client's extensions are considered in the order it listed
// them; each one the server supports gets all its offers, in order,
// through AcceptRequest (when it is a RequestAccepter and r is not nil) or
// Accept.
//
// An extension that wants a reserved bit an extension accepted before it
// already uses is declined, and so is one whose Accept declined; both
// are listed in the result's Declined with their reason. A response
// element with no name is given the extension's; one named after another
// extension is ErrWrongName, the server's bug, which should fail the
// handshake with 500. A header that does not parse, or an error from
// Accept, is an error, which should fail the handshake with 400.
func NegotiateRequest(r *http.Request, exts []Extension, offers []string) (*Negotiation, error) {
	n := new(Negotiation)
	if len(exts) == 0 {
		return n, nil
	}
	elems, err := Parse(offers...)
	if err != nil {
		return nil, err
	}
	var (
		resp  []Element
		used  frame.RSV
		owner [8]string // owner[i]: the extension that holds bit 4+i
		seen  []string
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
			n.Declined = append(n.Declined, Declined{e.Name, ErrNotSupported})
			continue
		}
		var group []Element
		for _, o := range elems {
			if o.Name == e.Name {
				group = append(group, o)
			}
		}
		var (
			el Element
			a  Agreed
		)
		if ra, ok := x.(RequestAccepter); ok && r != nil {
			el, a, err = ra.AcceptRequest(r, group)
		} else {
			el, a, err = x.Accept(group)
		}
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", x.Name(), err)
		}
		if a == nil {
			n.Declined = append(n.Declined, Declined{e.Name, ErrOffersDeclined})
			continue
		}
		switch el.Name {
		case "":
			el.Name = x.Name()
		case x.Name():
		default:
			return nil, fmt.Errorf("extension %s: %w (%q)", x.Name(), ErrWrongName, el.Name)
		}
		if clash := a.RSV() & used; clash != 0 {
			n.Declined = append(n.Declined, Declined{e.Name,
				fmt.Errorf("%w: %s wants %s, which %s holds", ErrRSVConflict, x.Name(), rsvName(clash), owner[bitIndex(clash)])})
			continue
		}
		for rsv := a.RSV(); rsv != 0; rsv &= rsv - 1 {
			owner[bitIndex(rsv)] = x.Name()
		}
		used |= a.RSV()
		resp = append(resp, el)
		n.Agreed = append(n.Agreed, Negotiated{el, a})
	}
	n.Response = Format(resp)
	return n, nil
}

// bitIndex is the index in an owner table of the lowest bit set in rsv.
func bitIndex(rsv frame.RSV) int { return bits.TrailingZeros8(uint8(rsv)) & 7 }

// rsvName names the lowest reserved bit set in rsv.
func rsvName(rsv frame.RSV) string {
	switch rsv & -rsv {
	case frame.RSV1:
		return "RSV1"
	case frame.RSV2:
		return "RSV2"
	case frame.RSV3:
		return "RSV3"
	}
	return fmt.Sprintf("bit %#x", byte(rsv&-rsv))
}

// Describe pairs the extensions of a Sec-WebSocket-Extensions response
// with the Agreed values that Negotiate or Confirm returned for it, in
// order. A value missing from agreed is nil; an element missing from the
// response is empty.
func Describe(response string, agreed []Agreed) ([]Negotiated, error) {
	elems, err := Parse(response)
	if err != nil {
		return nil, err
	}
	n := max(len(elems), len(agreed))
	if n == 0 {
		return nil, nil
	}
	out := make([]Negotiated, n)
	for i := range out {
		if i < len(elems) {
			out[i].Element = elems[i]
		}
		if i < len(agreed) {
			out[i].Agreed = agreed[i]
		}
	}
	return out, nil
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
