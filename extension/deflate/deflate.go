// Package deflate is the permessage-deflate WebSocket extension (RFC 7692):
// each data message is compressed with DEFLATE (RFC 1951), built on
// github.com/klauspost/compress/flate.
//
// Enable it on both ends with one line:
//
//	c, err := conn.Accept(w, r, &conn.AcceptOptions{Extensions: []extension.Extension{deflate.New(nil)}})
//	c, _, err := conn.Dial(ctx, url, &conn.DialOptions{Extensions: []extension.Extension{deflate.New(nil)}})
//
// # Memory
//
// The flate engines (about 1 MB for a compressor, 40 KB for a
// decompressor) are never held by an idle connection: one is taken from a
// pool owned by the Extension for each message and given back at its end.
// What a connection keeps between messages is only the LZ77 window that
// context takeover needs (RFC 7692, Section 7.1.1): the last
// 2^max_window_bits bytes it received (32 KiB at 15 bits), and the last
// Options.ContextSize bytes it sent (4 KiB by default), which prime the
// engines as a dictionary at the start of the next message. With no
// context takeover in a direction that direction keeps nothing.
//
// Measured Go heap per idle server connection, one compressed message each
// way first (go test -bench IdleConnDeflate ./conn; without deflate 1.9 KB):
//
//	context takeover both ways (the default)       39 KB
//	server_no_context_takeover                     35 KB
//	client_no_context_takeover                      6.5 KB
//	no context takeover either way                  2.4 KB
//	both max_window_bits 9                          3.5 KB
//	takeover with ContextSize 32 KiB               68 KB
//
// Decompression is streamed: a message is never decompressed whole into
// memory, so that the reader's limit (conn.Options.ReadLimit) stops a
// decompression bomb after at most 32 KiB past the limit.
package deflate

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/klauspost/compress/flate"
)

// Name is the extension token (RFC 7692, Section 7).
const Name = "permessage-deflate"

// Parameter names (RFC 7692, Section 7.1).
const (
	ServerNoContextTakeover = "server_no_context_takeover"
	ClientNoContextTakeover = "client_no_context_takeover"
	ServerMaxWindowBits     = "server_max_window_bits"
	ClientMaxWindowBits     = "client_max_window_bits"
)

// Defaults for Options.
const (
	DefaultLevel       = flate.BestSpeed
	DefaultThreshold   = 128
	DefaultContextSize = 4 << 10
)

// Options configures permessage-deflate. The zero value is context takeover
// both ways, full 32 KiB windows, level 1 and a threshold of 128 bytes.
//
// The four negotiation settings mean, on a client, what it asks for in its
// offer and, on a server, what it imposes in its answer whatever the client
// offered (RFC 7692, Section 7.1).
type Options struct {
	// Level is the compression level, 1 (fastest) to 9 (smallest). 0 means
	// DefaultLevel. It applies when this end's window is the full 15 bits;
	// a smaller negotiated window uses a windowed level-5 compressor.
	Level int

	// Threshold is the size below which a message written whole (with
	// Write) is sent uncompressed. 0 means DefaultThreshold; negative
	// means every message is compressed. Streamed messages, whose size is
	// not known in advance, are always compressed unless the writer asked
	// for no compression.
	Threshold int

	// ContextSize is how much of what this end sent it keeps, with context
	// takeover, as the dictionary of its next message. More compresses
	// repetitive traffic a little better but costs memory per connection
	// and time per message: the compressor is primed with the dictionary
	// at the start of every message, which for 32 KiB takes about 20 µs,
	// five times the cost of compressing a 1 KiB message, against 2 µs
	// for 4 KiB, with nearly the same ratio on JSON-like traffic. 0 means
	// DefaultContextSize; it is capped by the negotiated window. The peer
	// needs no more than the window it allowed, so any value is correct.
	ContextSize int

	// ServerNoContextTakeover resets the server's compressor for every
	// message (RFC 7692, Section 7.1.1.1): the server keeps no send
	// window, and the client no receive window.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover resets the client's compressor for every
	// message (RFC 7692, Section 7.1.1.2).
	ClientNoContextTakeover bool

	// ServerMaxWindowBits limits the server's LZ77 window to 2^bits bytes,
	// 8 to 15 (RFC 7692, Section 7.1.2.1). 0 means no limit (15). A client
	// that sets it needs a smaller receive window; it fails the handshake
	// if the server does not agree.
	ServerMaxWindowBits int
	// ClientMaxWindowBits limits the client's LZ77 window, 8 to 15 (RFC
	// 7692, Section 7.1.2.2). 0 means no limit. A client always offers
	// client_max_window_bits (it can use any window the server asks for);
	// a server that sets it declines the offers that do not allow it to.
	ClientMaxWindowBits int
}

// Extension is permessage-deflate configured with Options. It implements
// extension.Extension and owns the pools of flate engines its connections
// share; it is safe for concurrent use.
type Extension struct {
	o      Options
	wpools [16]sync.Pool // *deflater by window bits
	rpool  sync.Pool     // *inflater
}

var _ extension.Extension = (*Extension)(nil)

// New returns permessage-deflate configured with o; a nil o means the zero
// Options. It panics if o holds an invalid level or window size, which is
// a programming error.
func New(o *Options) *Extension {
	x := &Extension{}
	if o != nil {
		x.o = *o
	}
	if x.o.Level == 0 {
		x.o.Level = DefaultLevel
	}
	if x.o.Threshold == 0 {
		x.o.Threshold = DefaultThreshold
	}
	if x.o.ContextSize <= 0 {
		x.o.ContextSize = DefaultContextSize
	}
	if x.o.Level < 1 || x.o.Level > 9 {
		panic(fmt.Sprintf("deflate: Options.Level %d out of range 1..9", x.o.Level))
	}
	for _, b := range [...]int{x.o.ServerMaxWindowBits, x.o.ClientMaxWindowBits} {
		if b != 0 && (b < 8 || b > 15) {
			panic(fmt.Sprintf("deflate: window bits %d out of range 8..15", b))
		}
	}
	if x.o.ServerMaxWindowBits == 0 {
		x.o.ServerMaxWindowBits = 15
	}
	if x.o.ClientMaxWindowBits == 0 {
		x.o.ClientMaxWindowBits = 15
	}
	return x
}

// Name returns "permessage-deflate".
func (x *Extension) Name() string { return Name }

// Offer returns the client's offer: permessage-deflate with
// client_max_window_bits (with a value if Options.ClientMaxWindowBits is
// set) and the other parameters Options asks for.
func (x *Extension) Offer() []extension.Element {
	e := extension.Element{Name: Name}
	if x.o.ServerNoContextTakeover {
		e.Params = append(e.Params, extension.Param{Name: ServerNoContextTakeover})
	}
	if x.o.ClientNoContextTakeover {
		e.Params = append(e.Params, extension.Param{Name: ClientNoContextTakeover})
	}
	if x.o.ServerMaxWindowBits < 15 {
		e.Params = append(e.Params, extension.Param{Name: ServerMaxWindowBits, Value: strconv.Itoa(x.o.ServerMaxWindowBits)})
	}
	p := extension.Param{Name: ClientMaxWindowBits}
	if x.o.ClientMaxWindowBits < 15 {
		p.Value = strconv.Itoa(x.o.ClientMaxWindowBits)
	}
	e.Params = append(e.Params, p)
	return []extension.Element{e}
}

// params are the parameters of one offer or response. Window bits are 0
// when absent; clientBitsNoValue is client_max_window_bits with no value.
type params struct {
	serverNoCtx, clientNoCtx bool
	serverBits, clientBits   int
	clientBitsPresent        bool
}

var (
	errUnknownParam  = errors.New("unknown parameter")
	errDuplicate     = errors.New("duplicate parameter")
	errBadValue      = errors.New("invalid parameter value")
	errMissingValue  = errors.New("parameter needs a value")
	errNotOffered    = errors.New("response has a parameter that was not offered")
	errBitsTooLarge  = errors.New("window bits larger than offered")
	errNoServerBits  = errors.New("server did not accept server_max_window_bits")
	errNoServerNoCtx = errors.New("server did not accept server_no_context_takeover")
)

// windowBits parses a window size: a decimal integer from 8 to 15 with no
// leading zero (RFC 7692, Sections 7.1.2.1 and 7.1.2.2).
func windowBits(v string) (int, bool) {
	switch len(v) {
	case 1:
		if v[0] == '8' || v[0] == '9' {
			return int(v[0] - '0'), true
		}
	case 2:
		if v[0] == '1' && v[1] >= '0' && v[1] <= '5' {
			return 10 + int(v[1]-'0'), true
		}
	}
	return 0, false
}

// parseParams checks the parameters of an offer, or of a response, by the
// rules of RFC 7692, Section 7.1: no unknown parameter, none twice, no
// value on the two no_context_takeover ones, a valid value on the window
// sizes (optional only on client_max_window_bits in an offer).
func parseParams(e extension.Element, response bool) (params, error) {
	var p params
	var seen [4]bool
	for _, q := range e.Params {
		var i int
		switch q.Name {
		case ServerNoContextTakeover:
			i = 0
			p.serverNoCtx = true
		case ClientNoContextTakeover:
			i = 1
			p.clientNoCtx = true
		case ServerMaxWindowBits:
			i = 2
		case ClientMaxWindowBits:
			i = 3
			p.clientBitsPresent = true
		default:
			return p, fmt.Errorf("%w %q", errUnknownParam, q.Name)
		}
		if seen[i] {
			return p, fmt.Errorf("%w %q", errDuplicate, q.Name)
		}
		seen[i] = true
		switch {
		case i < 2 && q.Value != "":
			return p, fmt.Errorf("%w: %s takes no value", errBadValue, q.Name)
		case i >= 2 && q.Value == "":
			if i == 2 || response {
				return p, fmt.Errorf("%w: %s", errMissingValue, q.Name)
			}
		case i >= 2:
			b, ok := windowBits(q.Value)
			if !ok {
				return p, fmt.Errorf("%w: %s=%q", errBadValue, q.Name, q.Value)
			}
			if i == 2 {
				p.serverBits = b
			} else {
				p.clientBits = b
			}
		}
	}
	return p, nil
}

// Accept is the server's side (RFC 7692, Section 7.1): it answers the first
// offer it can honour and declines the others. An offer is declined when
// its parameters break Section 7.1 (unknown, repeated, bad value) or when
// Options.ClientMaxWindowBits is set and the offer does not have
// client_max_window_bits. The answer carries server_max_window_bits when
// the offer had it or Options limits the server's window (the smaller of
// the two), client_max_window_bits when the client's window is limited by
// either side, and each no_context_takeover that the offer or Options
// asks for.
func (x *Extension) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	for _, off := range offers {
		p, err := parseParams(off, false)
		if err != nil {
			continue
		}
		sBits := x.o.ServerMaxWindowBits
		if p.serverBits != 0 && p.serverBits < sBits {
			sBits = p.serverBits
		}
		cBits := x.o.ClientMaxWindowBits
		if cBits < 15 && !p.clientBitsPresent {
			continue // Section 7.1.2.2: cannot limit a client that did not offer to be limited
		}
		if p.clientBits != 0 && p.clientBits < cBits {
			cBits = p.clientBits
		}
		a := &agreed{
			x:         x,
			sendNoCtx: p.serverNoCtx || x.o.ServerNoContextTakeover,
			recvNoCtx: p.clientNoCtx || x.o.ClientNoContextTakeover,
			sendBits:  sBits,
			recvBits:  cBits,
		}
		resp := extension.Element{Name: Name}
		if a.sendNoCtx {
			resp.Params = append(resp.Params, extension.Param{Name: ServerNoContextTakeover})
		}
		if a.recvNoCtx {
			resp.Params = append(resp.Params, extension.Param{Name: ClientNoContextTakeover})
		}
		if p.serverBits != 0 || sBits < 15 {
			resp.Params = append(resp.Params, extension.Param{Name: ServerMaxWindowBits, Value: strconv.Itoa(sBits)})
		}
		if cBits < 15 {
			resp.Params = append(resp.Params, extension.Param{Name: ClientMaxWindowBits, Value: strconv.Itoa(cBits)})
		}
		return resp, a, nil
	}
	return extension.Element{}, nil, nil
}

// Confirm is the client's side (RFC 7692, Sections 5 and 7.1): it fails on
// an unknown or repeated parameter, a bad value, client_max_window_bits
// larger than offered, server_max_window_bits missing or larger than
// offered when the client asked for it, and a missing
// server_no_context_takeover when the client asked for it. The server may
// add server_no_context_takeover, client_no_context_takeover and
// server_max_window_bits on its own; the client complies.
func (x *Extension) Confirm(resp extension.Element) (extension.Agreed, error) {
	p, err := parseParams(resp, true)
	if err != nil {
		return nil, err
	}
	if x.o.ServerMaxWindowBits < 15 {
		if p.serverBits == 0 {
			return nil, errNoServerBits
		}
		if p.serverBits > x.o.ServerMaxWindowBits {
			return nil, fmt.Errorf("%w: %s=%d", errBitsTooLarge, ServerMaxWindowBits, p.serverBits)
		}
	}
	if x.o.ServerNoContextTakeover && !p.serverNoCtx {
		return nil, errNoServerNoCtx
	}
	if p.clientBits > x.o.ClientMaxWindowBits {
		return nil, fmt.Errorf("%w: %s=%d", errBitsTooLarge, ClientMaxWindowBits, p.clientBits)
	}
	a := &agreed{
		x:         x,
		sendNoCtx: p.clientNoCtx || x.o.ClientNoContextTakeover,
		recvNoCtx: p.serverNoCtx,
		sendBits:  x.o.ClientMaxWindowBits,
		recvBits:  15,
	}
	if p.clientBits != 0 {
		a.sendBits = p.clientBits
	}
	if p.serverBits != 0 {
		a.recvBits = p.serverBits
	}
	return a, nil
}

// agreed is permessage-deflate on one connection, from this end's point of
// view: send is what it compresses, recv what it decompresses.
type agreed struct {
	x                    *Extension
	sendNoCtx, recvNoCtx bool
	sendBits, recvBits   int
}

func (a *agreed) RSV() frame.RSV { return frame.RSV1 }

func (a *agreed) NewEncoder() extension.Encoder {
	e := &encoder{x: a.x, bits: a.sendBits, noCtx: a.sendNoCtx}
	if !a.sendNoCtx {
		e.hist.size = min(a.x.o.ContextSize, 1<<a.sendBits)
	}
	return e
}

func (a *agreed) NewDecoder() extension.Decoder {
	d := &decoder{x: a.x, noCtx: a.recvNoCtx}
	if !a.recvNoCtx {
		// A zlib-based peer told to use 8 bits uses 9 (zlib cannot
		// compress with a 256-byte window); keep 512 bytes to be safe.
		d.hist.size = 1 << max(a.recvBits, 9)
	}
	return d
}

// String describes the agreement, for tests and logs.
func (a *agreed) String() string {
	return fmt.Sprintf("send{bits=%d noctx=%v} recv{bits=%d noctx=%v}", a.sendBits, a.sendNoCtx, a.recvBits, a.recvNoCtx)
}
