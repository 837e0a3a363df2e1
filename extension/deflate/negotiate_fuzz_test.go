package deflate

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"

	"github.com/hybi-go/hybi/extension"
)

// The model of RFC 7692, Section 7 below is written apart from
// parseParams, Accept and Confirm, to check them: parameters as a map,
// values as Atoi reads them.

// rfcElement is one permessage-deflate offer or response as RFC 7692
// reads it: the parameters present, with their values ("" for none).
type rfcElement map[string]string

// rfcRead reads e's parameters, and reports false if the element breaks
// Section 7.1: an unknown or repeated parameter, a value on a
// no_context_takeover parameter, a missing or bad window size (the value
// may be absent only on client_max_window_bits in an offer).
func rfcRead(e extension.Element, response bool) (rfcElement, bool) {
	m := rfcElement{}
	for _, p := range e.Params {
		if _, dup := m[p.Name]; dup {
			return nil, false
		}
		m[p.Name] = p.Value
		switch p.Name {
		case ServerNoContextTakeover, ClientNoContextTakeover:
			if p.Value != "" {
				return nil, false
			}
		case ServerMaxWindowBits:
			if !rfcBits(p.Value) {
				return nil, false
			}
		case ClientMaxWindowBits:
			if (p.Value != "" || response) && !rfcBits(p.Value) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return m, true
}

// rfcBits: 1*DIGIT from 8 to 15 with no leading zero (Section 7.1.2).
func rfcBits(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 8 && n <= 15 && strconv.Itoa(n) == v
}

func (m rfcElement) has(name string) bool { _, ok := m[name]; return ok }

// bits is the window size m gives name, or 15 if none.
func (m rfcElement) bits(name string) int {
	if n, err := strconv.Atoi(m[name]); err == nil {
		return n
	}
	return 15
}

// rfcAnswers reports whether resp is a response the offer allows
// (Sections 7.1.1 and 7.1.2): server_no_context_takeover kept if offered;
// server_max_window_bits kept if offered, no larger than offered;
// client_max_window_bits only if offered, no larger than a value offered.
func rfcAnswers(offer, resp rfcElement) bool {
	if offer.has(ServerNoContextTakeover) && !resp.has(ServerNoContextTakeover) {
		return false
	}
	if offer.has(ServerMaxWindowBits) && (!resp.has(ServerMaxWindowBits) || resp.bits(ServerMaxWindowBits) > offer.bits(ServerMaxWindowBits)) {
		return false
	}
	if resp.has(ClientMaxWindowBits) && (!offer.has(ClientMaxWindowBits) || resp.bits(ClientMaxWindowBits) > offer.bits(ClientMaxWindowBits)) {
		return false
	}
	return true
}

// TestWindowBitsModel compares the window sizes parseParams accepts, in
// offers and responses, with rfcBits for every value of up to three
// characters drawn from the digits and a few that Atoi or a sloppy parser
// might take.
func TestWindowBitsModel(t *testing.T) {
	const chars = "0123456789+- x"
	var values []string
	var grow func(prefix string)
	grow = func(prefix string) {
		values = append(values, prefix)
		if len(prefix) < 3 {
			for _, c := range chars {
				grow(prefix + string(c))
			}
		}
	}
	grow("")
	for _, v := range values {
		for _, name := range []string{ServerMaxWindowBits, ClientMaxWindowBits} {
			for _, response := range []bool{false, true} {
				e := extension.Element{Name: Name, Params: []extension.Param{{Name: name, Value: v}}}
				_, err := parseParams(e, response)
				_, want := rfcRead(e, response)
				if (err == nil) != want {
					t.Errorf("%s=%q (response %v): parseParams error %v, RFC 7692 valid=%v", name, v, response, err, want)
				}
			}
		}
	}
}

// fuzzOptions unpacks Options from a fuzz argument: bit 0 and 1 the two
// no_context_takeover settings, bits 2-5 and 6-9 the server's and the
// client's window bits (0 below 8), bit 10 a threshold that compresses
// every message, bits 11-12 the level (1, 5, 9 or 1).
func fuzzOptions(v uint16) Options {
	bits := func(b uint16) int {
		if b < 8 {
			return 0
		}
		return int(b)
	}
	o := Options{
		ServerNoContextTakeover: v&1 != 0,
		ClientNoContextTakeover: v&2 != 0,
		ServerMaxWindowBits:     bits(v >> 2 & 15),
		ClientMaxWindowBits:     bits(v >> 6 & 15),
		Level:                   [4]int{1, 5, 9, 1}[v>>11&3],
	}
	if v&(1<<10) != 0 {
		o.Threshold = -1
	}
	return o
}

// FuzzNegotiate checks the permessage-deflate negotiation against the
// model of RFC 7692 above.
//
// Server: an arbitrary offer header through extension.Negotiate with a
// server configured by srvMode. A header that does not parse is an error;
// otherwise the server accepts exactly when some permessage-deflate offer
// is valid and can be answered under its options (one without
// client_max_window_bits cannot be when the server limits the client's
// window), and answers the first such offer with a response that offer
// allows, that imposes the server's own options, and that says what the
// server then does.
//
// Client: an arbitrary response header through extension.Confirm with a
// client configured by cliMode. It is accepted exactly when it is empty or
// one valid permessage-deflate response that the client's offer allows,
// and what the client then does is what the response says.
//
// Both: the client's offer goes to the server and the server's answer to
// the client, which must accept it; then messages go both ways through the
// encoders and decoders of the two agreements and must arrive intact.
func FuzzNegotiate(f *testing.F) {
	offers := []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; client_max_window_bits=10, permessage-deflate",
		"permessage-deflate; server_max_window_bits=10, permessage-deflate",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		`permessage-deflate; client_max_window_bits="10"`,
		"x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8",
		"permessage-deflate; server_max_window_bits=08, permessage-deflate; server_max_window_bits=+9",
		"permessage-deflate; client_max_window_bits=16, permessage-deflate; server_max_window_bits",
		"permessage-deflate; foo, permessage-deflate; server_no_context_takeover=1",
		"permessage-deflate; client_max_window_bits; client_max_window_bits",
		"permessage-deflate;; ,",
		"permessage-deflate; server_max_window_bits=7; client_max_window_bits=15",
		"permessage-deflate; server_max_window_bits=15",
	}
	responses := []string{
		"",
		"permessage-deflate",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; client_max_window_bits=8; server_max_window_bits=9",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_max_window_bits=16",
		"permessage-deflate, permessage-deflate",
		"x-unknown",
		"permessage-deflate; client_no_context_takeover; server_max_window_bits=15",
		`permessage-deflate; server_max_window_bits="10"`,
		"permessage-deflate; client_max_window_bits=09",
		"permessage-deflate; bar=1",
		"permessage-deflate; client_max_window_bits=7",
		"permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
	}
	for i := range offers {
		// Modes: none; server limits client to 10 bits and takes no
		// context; client asks 9-bit server window and no context.
		f.Add(uint16(0), uint16(0), offers[i], responses[i])
		f.Add(uint16(1|10<<6), uint16(2|9<<2|1<<10), offers[i], responses[len(responses)-1-i])
	}
	f.Fuzz(func(t *testing.T, srvMode, cliMode uint16, offer, response string) {
		so, co := fuzzOptions(srvMode), fuzzOptions(cliMode)
		srv, cli := New(&so), New(&co)
		fuzzServerSide(t, srv, offer)
		fuzzClientSide(t, cli, response)
		fuzzBothSides(t, srv, cli, []byte(offer+response))
	})
}

// agreedFrom is what a response says one end does: the server's view if
// server, else the client's; own is the client's own window limit.
func agreedFrom(r rfcElement, server bool, ownNoCtx bool, own int) agreed {
	srvSend := agreed{sendNoCtx: r.has(ServerNoContextTakeover), sendBits: r.bits(ServerMaxWindowBits)}
	cliBits := own
	if r.has(ClientMaxWindowBits) {
		cliBits = r.bits(ClientMaxWindowBits)
	}
	cliNoCtx := r.has(ClientNoContextTakeover) || ownNoCtx
	if server {
		return agreed{sendNoCtx: srvSend.sendNoCtx, sendBits: srvSend.sendBits, recvNoCtx: cliNoCtx, recvBits: cliBits}
	}
	return agreed{sendNoCtx: cliNoCtx, sendBits: cliBits, recvNoCtx: srvSend.sendNoCtx, recvBits: srvSend.sendBits}
}

func sameAgreement(a *agreed, b agreed) bool {
	return a.sendNoCtx == b.sendNoCtx && a.sendBits == b.sendBits && a.recvNoCtx == b.recvNoCtx && a.recvBits == b.recvBits
}

func fuzzServerSide(t *testing.T, srv *Extension, offer string) {
	elems, perr := extension.Parse(offer)
	resp, agreedList, err := extension.Negotiate([]extension.Extension{srv}, []string{offer})
	if perr != nil {
		if err == nil {
			t.Fatalf("offer %q does not parse (%v), Negotiate accepted it: %q", offer, perr, resp)
		}
		return
	}
	if err != nil {
		t.Fatalf("offer %q: Negotiate: %v", offer, err)
	}
	o := srv.o
	var want rfcElement
	for _, e := range elems {
		if e.Name != Name {
			continue
		}
		m, ok := rfcRead(e, false)
		if ok && (o.ClientMaxWindowBits == 15 || m.has(ClientMaxWindowBits)) {
			want = m
			break
		}
	}
	if want == nil {
		if resp != "" || len(agreedList) != 0 {
			t.Fatalf("server %+v: no offer in %q can be accepted, answered %q", o, offer, resp)
		}
		return
	}
	if len(agreedList) != 1 {
		t.Fatalf("server %+v: offer %q can be accepted, answered %q", o, offer, resp)
	}
	rs, err := extension.Parse(resp)
	if err != nil || len(rs) != 1 || rs[0].Name != Name {
		t.Fatalf("offer %q: response %q is not one permessage-deflate (%v)", offer, resp, err)
	}
	r, ok := rfcRead(rs[0], true)
	switch {
	case !ok:
		t.Fatalf("offer %q: response %q breaks RFC 7692, Section 7.1", offer, resp)
	case !rfcAnswers(want, r):
		t.Fatalf("offer %q: response %q does not answer the first acceptable offer %v", offer, resp, want)
	case o.ServerNoContextTakeover && !r.has(ServerNoContextTakeover),
		o.ClientNoContextTakeover && !r.has(ClientNoContextTakeover),
		r.bits(ServerMaxWindowBits) > o.ServerMaxWindowBits,
		r.bits(ClientMaxWindowBits) > o.ClientMaxWindowBits:
		t.Fatalf("server %+v: response %q to %q does not impose its options", o, resp, offer)
	}
	if a := agreedList[0].(*agreed); !sameAgreement(a, agreedFrom(r, true, false, 15)) {
		t.Fatalf("offer %q: server answered %q and does %s", offer, resp, a)
	}
}

func fuzzClientSide(t *testing.T, cli *Extension, response string) {
	offer, _ := rfcRead(cli.Offer()[0], false)
	rs, perr := extension.Parse(response)
	agreedList, err := extension.Confirm([]extension.Extension{cli}, response)
	var want bool
	var r rfcElement
	switch {
	case perr != nil:
	case len(rs) == 0:
		if err != nil || len(agreedList) != 0 {
			t.Fatalf("empty response %q: %v, %d agreed", response, err, len(agreedList))
		}
		return
	case len(rs) == 1 && rs[0].Name == Name:
		var ok bool
		r, ok = rfcRead(rs[0], true)
		want = ok && rfcAnswers(offer, r)
	}
	if (err == nil) != want {
		t.Fatalf("client %+v offering %v: response %q: Confirm error %v, the RFC says accept=%v", cli.o, offer, response, err, want)
	}
	if !want {
		return
	}
	if a := agreedList[0].(*agreed); !sameAgreement(a, agreedFrom(r, false, cli.o.ClientNoContextTakeover, cli.o.ClientMaxWindowBits)) {
		t.Fatalf("client %+v: response %q, client does %s", cli.o, response, a)
	}
}

func fuzzBothSides(t *testing.T, srv, cli *Extension, text []byte) {
	exts := func(x *Extension) []extension.Extension { return []extension.Extension{x} }
	resp, sa, err := extension.Negotiate(exts(srv), extension.Offers(exts(cli)))
	if err != nil || len(sa) != 1 {
		t.Fatalf("server %+v refuses client %+v's offer %q: %v", srv.o, cli.o, extension.Offers(exts(cli)), err)
	}
	ca, err := extension.Confirm(exts(cli), resp)
	if err != nil || len(ca) != 1 {
		t.Fatalf("client %+v refuses server %+v's answer %q: %v", cli.o, srv.o, resp, err)
	}
	s, c := sa[0].(*agreed), ca[0].(*agreed)
	// Each sender keeps within what its receiver allowed.
	if s.sendBits > c.recvBits || c.sendBits > s.recvBits || s.sendNoCtx != c.recvNoCtx || c.sendNoCtx != s.recvNoCtx {
		t.Fatalf("server %s and client %s disagree (response %q)", s, c, resp)
	}
	msg := bytes.Repeat(append(text, "abcdefghijklmnopqrstuvwxyz0123456789"...), 1+2048/(len(text)+36))[:2048]
	for _, dir := range []struct {
		name string
		from *agreed
		to   *agreed
	}{{"server to client", s, c}, {"client to server", c, s}} {
		e, d := dir.from.NewEncoder().(*encoder), dir.to.NewDecoder().(*decoder)
		for i := range 3 {
			p := msg[i*100:]
			payload, rsv := encode(t, e, p, int64(len(p)), 0)
			got, err := decode(t, d, payload, rsv, false)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("%s (%s, %s), message %d: %v, %s", dir.name, dir.from, dir.to, i, err, diffAt(got, p))
			}
		}
	}
}

// diffAt describes where got first differs from want.
func diffAt(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("byte %d of %d differs", i, len(want))
		}
	}
	return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
}
