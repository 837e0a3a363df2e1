package suite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/flate"
)

// The runner's own permessage-deflate (RFC 7692), independent of the
// implementation under test: the negotiation the compression cases ask
// for, and a compressor and decompressor that honour the agreed context
// takeover and window sizes.

const pmdName = "permessage-deflate"

// extension is one element of a Sec-WebSocket-Extensions header.
type extension struct {
	name   string
	params []extParam
}

type extParam struct {
	name  string
	value string
	has   bool // a value was given
}

// parseExtensions splits a Sec-WebSocket-Extensions value (RFC 6455,
// Section 9.1) into extensions and their parameters. Quoted values are
// unquoted.
func parseExtensions(v string) ([]extension, error) {
	var out []extension
	for _, part := range splitOutsideQuotes(v, ',') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		items := splitOutsideQuotes(part, ';')
		e := extension{name: strings.TrimSpace(items[0])}
		if e.name == "" {
			return nil, fmt.Errorf("empty extension name in %q", v)
		}
		for _, it := range items[1:] {
			it = strings.TrimSpace(it)
			name, value, has := strings.Cut(it, "=")
			p := extParam{name: strings.TrimSpace(name), has: has}
			if has {
				value = strings.TrimSpace(value)
				if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				p.value = value
			}
			if p.name == "" {
				return nil, fmt.Errorf("empty parameter in %q", part)
			}
			e.params = append(e.params, p)
		}
		out = append(out, e)
	}
	return out, nil
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// pmdOffer is a permessage-deflate offer, in the terms the suite's cases
// use: what the client accepts to be asked, and what it asks the server.
type pmdOffer struct {
	acceptNoContextTakeover  bool // client_no_context_takeover
	acceptMaxWindowBits      bool // client_max_window_bits
	requestNoContextTakeover bool // server_no_context_takeover
	requestMaxWindowBits     int  // server_max_window_bits=N, 0 if absent
}

func (o pmdOffer) String() string {
	s := pmdName
	if o.acceptNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if o.acceptMaxWindowBits {
		s += "; client_max_window_bits"
	}
	if o.requestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.requestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", o.requestMaxWindowBits)
	}
	return s
}

// defaultOffer is the suite's default client offer.
func defaultOffer(noCtx bool, bits int) pmdOffer {
	return pmdOffer{acceptNoContextTakeover: true, acceptMaxWindowBits: true, requestNoContextTakeover: noCtx, requestMaxWindowBits: bits}
}

func windowBits(p extParam) (int, error) {
	n, err := strconv.Atoi(p.value)
	if err != nil || n < 8 || n > 15 || strings.TrimLeft(p.value, "0123456789") != "" {
		return 0, fmt.Errorf("invalid %s value %q", p.name, p.value)
	}
	return n, nil
}

// parseOffer reads one permessage-deflate offer from a client.
func parseOffer(e extension) (pmdOffer, error) {
	var o pmdOffer
	seen := map[string]bool{}
	for _, p := range e.params {
		if seen[p.name] {
			return o, fmt.Errorf("parameter %s repeated", p.name)
		}
		seen[p.name] = true
		switch p.name {
		case "client_no_context_takeover":
			if p.has {
				return o, fmt.Errorf("%s takes no value", p.name)
			}
			o.acceptNoContextTakeover = true
		case "server_no_context_takeover":
			if p.has {
				return o, fmt.Errorf("%s takes no value", p.name)
			}
			o.requestNoContextTakeover = true
		case "client_max_window_bits":
			if p.has {
				if _, err := windowBits(p); err != nil {
					return o, err
				}
			}
			o.acceptMaxWindowBits = true
		case "server_max_window_bits":
			n, err := windowBits(p)
			if err != nil {
				return o, err
			}
			o.requestMaxWindowBits = n
		default:
			return o, fmt.Errorf("unknown parameter %s", p.name)
		}
	}
	return o, nil
}

// pmdAccept is a server's answer to an offer (the suite's
// PerMessageDeflateOfferAccept): the offer's own requests are granted,
// and the server may ask the client for no context takeover or a smaller
// window.
type pmdAccept struct {
	offer                    pmdOffer
	requestNoContextTakeover bool
	requestMaxWindowBits     int
}

func (a pmdAccept) String() string {
	s := pmdName
	if a.offer.requestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if a.offer.requestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", a.offer.requestMaxWindowBits)
	}
	if a.requestNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if a.requestMaxWindowBits != 0 {
		s += fmt.Sprintf("; client_max_window_bits=%d", a.requestMaxWindowBits)
	}
	return s
}

// serverConn is the server's compression state after accepting.
func (a pmdAccept) serverConn() *pmdConn {
	return newPMD(a.offer.requestNoContextTakeover, a.offer.requestMaxWindowBits, a.requestNoContextTakeover)
}

// deflateSpec is what a compression case negotiates: the offers the
// runner makes as a client, and how it answers as a server (nil: decline).
type deflateSpec struct {
	offers []pmdOffer
	accept func(offers []pmdOffer) *pmdAccept
}

// clientConn checks a server's response against the offers made and
// returns the client's compression state.
func clientConn(offers []pmdOffer, resp string) (*pmdConn, error) {
	exts, err := parseExtensions(resp)
	if err != nil {
		return nil, err
	}
	if len(exts) != 1 || exts[0].name != pmdName {
		return nil, fmt.Errorf("unexpected extensions %q", resp)
	}
	var serverNoCtx, clientNoCtx bool
	var serverBits, clientBits int
	seen := map[string]bool{}
	for _, p := range exts[0].params {
		if seen[p.name] {
			return nil, fmt.Errorf("parameter %s repeated", p.name)
		}
		seen[p.name] = true
		switch p.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.has {
				return nil, fmt.Errorf("%s takes no value", p.name)
			}
			if p.name == "server_no_context_takeover" {
				serverNoCtx = true
			} else {
				clientNoCtx = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			n, err := windowBits(p)
			if err != nil {
				return nil, err
			}
			if p.name == "server_max_window_bits" {
				serverBits = n
			} else {
				clientBits = n
			}
		default:
			return nil, fmt.Errorf("unknown parameter %s in response", p.name)
		}
	}
	// The response must fit one of the offers (RFC 7692, Section 7.1).
	for _, o := range offers {
		if o.requestNoContextTakeover && !serverNoCtx {
			continue
		}
		if o.requestMaxWindowBits != 0 && (serverBits == 0 || serverBits > o.requestMaxWindowBits) {
			continue
		}
		if clientBits != 0 && !o.acceptMaxWindowBits {
			continue
		}
		return newPMD(clientNoCtx, clientBits, serverNoCtx), nil
	}
	return nil, fmt.Errorf("response %q fits none of the offers", resp)
}

// pmdConn compresses what the runner sends and inflates what it receives.
type pmdConn struct {
	noCtxOut bool // reset the compressor for every message
	bitsOut  int  // compress with a window of 1<<bitsOut (0: 32 KiB)
	noCtxIn  bool // the peer resets its compressor for every message

	zw   *flate.Writer
	zbuf bytes.Buffer
	zr   io.ReadCloser
	win  []byte // the last 32 KiB received, the peer's window

	// Octets before and after compression, for the report.
	rawOut, zOut, rawIn, zIn int64
}

func newPMD(noCtxOut bool, bitsOut int, noCtxIn bool) *pmdConn {
	return &pmdConn{noCtxOut: noCtxOut, bitsOut: bitsOut, noCtxIn: noCtxIn}
}

var pmdTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress returns the message payload of p (RFC 7692, Section 7.2.1).
func (c *pmdConn) compress(p []byte) []byte {
	c.zbuf.Reset()
	switch {
	case c.zw == nil && c.bitsOut > 0 && c.bitsOut < 15:
		c.zw, _ = flate.NewWriterWindow(&c.zbuf, 1<<c.bitsOut)
	case c.zw == nil:
		c.zw, _ = flate.NewWriter(&c.zbuf, flate.BestSpeed)
	case c.noCtxOut:
		c.zw.Reset(&c.zbuf)
	}
	c.zw.Write(p)
	c.zw.Flush()
	out := bytes.TrimSuffix(c.zbuf.Bytes(), pmdTail)
	c.rawOut += int64(len(p))
	c.zOut += int64(len(out))
	return append([]byte(nil), out...)
}

// maxInflated bounds one inflated message.
const maxInflated = 64 << 20

var errInflatedTooBig = errors.New("inflated message too big")

// decompress inflates a message payload into w.
func (c *pmdConn) decompress(z []byte, w io.Writer) error {
	// The sync flush tail the sender stripped, then an empty final
	// stored block so that the inflater ends cleanly.
	src := io.MultiReader(bytes.NewReader(z), bytes.NewReader([]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}))
	var dict []byte
	if !c.noCtxIn {
		dict = c.win
	}
	if c.zr == nil {
		c.zr = flate.NewReaderDict(src, dict)
	} else if err := c.zr.(flate.Resetter).Reset(src, dict); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := c.zr.Read(buf)
		if m > 0 {
			n += int64(m)
			if n > maxInflated {
				return errInflatedTooBig
			}
			w.Write(buf[:m])
			if !c.noCtxIn {
				c.win = append(c.win, buf[:m]...)
				if len(c.win) > 32<<10 {
					c.win = append(c.win[:0], c.win[len(c.win)-32<<10:]...)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	c.rawIn += n
	c.zIn += int64(len(z))
	return nil
}
