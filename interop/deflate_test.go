package interop_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// permessage-deflate (RFC 7692) against each peer, in several
// configurations: TestHybiClientDeflate dials each peer server started with
// the configuration's argument, TestHybiServerDeflate runs each peer client
// with it against a conn.Accept echo server with permessage-deflate.

// A deflateConfig is one permessage-deflate configuration of a peer and of
// hybi, with the parameters the two must agree on.
type deflateConfig struct {
	name string
	peer string
	// peerArg is the DEFLATE argument of the peer scripts: for node, ws's
	// perMessageDeflate option as JSON; for python, keyword arguments of
	// its PerMessageDeflateFactory as JSON ({}: the defaults).
	peerArg string
	// hybi is the deflate.Options of hybi in both roles; nil is the
	// defaults, deflate.New(nil).
	hybi *deflate.Options
	// asClient and asServer are the parameters of the agreed
	// permessage-deflate as hybi's c.Extensions() must show them, in any
	// order, when hybi dials and when it accepts.
	asClient, asServer []string
}

// Every node configuration has threshold 0: ws's default of 1024 bytes
// would leave the small messages uncompressed. The hybi side compresses
// every message (Threshold -1) when it is configured to match, and only
// those of 128 bytes or more with the defaults.
var deflateConfigs = []deflateConfig{
	{
		// ws's default (perMessageDeflate: true) and deflate.New(nil):
		// context takeover and 15-bit windows both ways.
		name:     "default",
		peer:     "node-ws",
		peerArg:  `{"threshold":0}`,
		asClient: nil,
		asServer: nil,
	},
	{
		name:     "no_context_takeover",
		peer:     "node-ws",
		peerArg:  `{"threshold":0,"serverNoContextTakeover":true,"clientNoContextTakeover":true}`,
		hybi:     &deflate.Options{Threshold: -1, ServerNoContextTakeover: true, ClientNoContextTakeover: true},
		asClient: []string{"server_no_context_takeover", "client_no_context_takeover"},
		asServer: []string{"server_no_context_takeover", "client_no_context_takeover"},
	},
	{
		// Context takeover with 512-byte windows.
		name:     "max_window_bits=9",
		peer:     "node-ws",
		peerArg:  `{"threshold":0,"serverMaxWindowBits":9,"clientMaxWindowBits":9}`,
		hybi:     &deflate.Options{Threshold: -1, ServerMaxWindowBits: 9, ClientMaxWindowBits: 9},
		asClient: []string{"server_max_window_bits=9", "client_max_window_bits=9"},
		asServer: []string{"server_max_window_bits=9", "client_max_window_bits=9"},
	},
	{
		name:     "max_window_bits=8",
		peer:     "node-ws",
		peerArg:  `{"threshold":0,"serverMaxWindowBits":8,"clientMaxWindowBits":8}`,
		hybi:     &deflate.Options{Threshold: -1, ServerMaxWindowBits: 8, ClientMaxWindowBits: 8},
		asClient: []string{"server_max_window_bits=8", "client_max_window_bits=8"},
		asServer: []string{"server_max_window_bits=8", "client_max_window_bits=8"},
	},
	{
		// 15 is no limit: hybi offers client_max_window_bits with no value
		// and no server_max_window_bits, which ws's server sets anyway;
		// as a server hybi answers server_max_window_bits=15 since ws
		// offered it, and omits client_max_window_bits=15.
		name:     "max_window_bits=15",
		peer:     "node-ws",
		peerArg:  `{"threshold":0,"serverMaxWindowBits":15,"clientMaxWindowBits":15}`,
		hybi:     &deflate.Options{Threshold: -1, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15},
		asClient: []string{"server_max_window_bits=15", "client_max_window_bits=15"},
		asServer: []string{"server_max_window_bits=15"},
	},
	{
		// hybi with the defaults: ws's server imposes these parameters on
		// hybi's client, and hybi's server grants them to ws's client.
		// Server context takeover off, client's on with a 1 KiB window.
		name:     "peer_sets_params",
		peer:     "node-ws",
		peerArg:  `{"threshold":0,"serverNoContextTakeover":true,"serverMaxWindowBits":11,"clientMaxWindowBits":10}`,
		asClient: []string{"server_no_context_takeover", "server_max_window_bits=11", "client_max_window_bits=10"},
		asServer: []string{"server_no_context_takeover", "server_max_window_bits=11", "client_max_window_bits=10"},
	},
	{
		// websockets' default compression: its server sets 12-bit windows
		// both ways; its client offers client_max_window_bits, which
		// hybi's server does not need to limit.
		name:     "default",
		peer:     "python-websockets",
		peerArg:  `{}`,
		asClient: []string{"server_max_window_bits=12", "client_max_window_bits=12"},
		asServer: nil,
	},
}

// deflateSizes are the echo sizes with permessage-deflate: 16 MiB
// compressed and inflated on both sides in every configuration would be
// slow under -race.
var deflateSizes = []int{0, 125, 126, 65535, 65536, 1 << 20}

// deflatePipelined is how many messages the pipelined check writes before
// the first read with permessage-deflate: each is compressed on its own,
// which is slow under -race.
const deflatePipelined = 100

// peerClientDeflateChecks is how many PASS lines client.js and client.py
// print with a DEFLATE argument: one more, the compressible echo.
const peerClientDeflateChecks = peerClientChecks + 1

func (dc deflateConfig) extensions() []extension.Extension {
	return []extension.Extension{deflate.New(dc.hybi)}
}

// TestHybiClientDeflate runs conn.Dial with permessage-deflate against each
// peer server in each configuration.
func TestHybiClientDeflate(t *testing.T) {
	for _, dc := range deflateConfigs {
		t.Run(dc.peer+"/"+dc.name, func(t *testing.T) {
			// Configurations overlap (up to -parallel, GOMAXPROCS by default):
			// much of a run is waiting for the peer.
			t.Parallel()
			p := peerNamed(t, dc.peer)
			p.require(t)
			// One Extension for all the conns, as an application would.
			exts := dc.extensions()
			runHybiClient(t, p, clientSuite{
				serverArgs:  []string{dc.peerArg},
				sizes:       deflateSizes,
				pipelined:   deflatePipelined,
				dialOptions: func() *conn.DialOptions { return &conn.DialOptions{Extensions: exts} },
				ext:         wantExtensions{deflate: true, params: dc.asClient},
			})
		})
	}
}

// TestHybiServerDeflate runs each peer client with permessage-deflate
// against a conn.Accept echo server with it, in each configuration.
func TestHybiServerDeflate(t *testing.T) {
	for _, dc := range deflateConfigs {
		t.Run(dc.peer+"/"+dc.name, func(t *testing.T) {
			// Configurations overlap (up to -parallel, GOMAXPROCS by default):
			// much of a run is waiting for the peer.
			t.Parallel()
			p := peerNamed(t, dc.peer)
			p.require(t)
			runHybiServer(t, p, serverSuite{
				clientArgs: []string{dc.peerArg},
				opts:       &conn.AcceptOptions{Extensions: dc.extensions()},
				checks:     peerClientDeflateChecks,
				ext:        wantExtensions{deflate: true, params: dc.asServer},
			})
		})
	}
}

// wantExtensions is what c.Extensions() must show: nothing, or exactly
// permessage-deflate with exactly params ("name" or "name=value"), in any
// order.
type wantExtensions struct {
	deflate bool
	params  []string
}

func (w wantExtensions) check(got string) error {
	if !w.deflate {
		if got != "" {
			return fmt.Errorf("want no extension")
		}
		return nil
	}
	elems, err := extension.Parse(got)
	if err != nil {
		return err
	}
	if len(elems) != 1 || elems[0].Name != deflate.Name {
		return fmt.Errorf("want %s alone", deflate.Name)
	}
	var params []string
	for _, p := range elems[0].Params {
		if p.Value == "" {
			params = append(params, p.Name)
		} else {
			params = append(params, p.Name+"="+p.Value)
		}
	}
	want := slices.Clone(w.params)
	slices.Sort(params)
	slices.Sort(want)
	if !slices.Equal(params, want) {
		return fmt.Errorf("parameters %q, want %q", params, want)
	}
	return nil
}

// The compressible message: compressibleRecord repeated and cut to
// compressibleSize bytes, JSON-like text as common.js and common.py build
// it.
const (
	compressibleRecord = `{"id":42,"name":"hybi","tags":["websocket","deflate"],"ok":true},`
	compressibleSize   = 1 << 20
)

func compressibleText() []byte {
	n := (compressibleSize + len(compressibleRecord) - 1) / len(compressibleRecord)
	return []byte(strings.Repeat(compressibleRecord, n)[:compressibleSize])
}

// maxWire is the most the compressible echo may take on the wire, handshake
// and closing handshake included: a tenth of the 2 MiB it echoes.
const maxWire = 200 << 10

// checkWire fails the test unless a connection that echoed payload bytes
// (read and written) took less than maxWire bytes on the wire.
func checkWire(t *testing.T, payload, wire int64) {
	t.Helper()
	t.Logf("%d bytes of messages took %d bytes on the wire (%.1f%%)", payload, wire, 100*float64(wire)/float64(payload))
	if wire >= maxWire {
		t.Errorf("%d bytes of messages took %d bytes on the wire, want < %d: not compressed", payload, wire, maxWire)
	}
}

// countingConn counts the bytes read from and written to a net.Conn.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// total returns the bytes read and written so far.
func (c *countingConn) total() int64 { return c.read.Load() + c.written.Load() }

// countingListener accepts countingConns.
type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c}, nil
}

// connKey is the context key of the connection under a request.
type connKey struct{}

// withConn is an http.Server ConnContext that makes a request's connection
// available as r.Context().Value(connKey{}).
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}
