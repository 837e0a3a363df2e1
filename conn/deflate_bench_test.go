package conn_test

import (
	"fmt"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension/deflate"
)

var deflateModes = []struct {
	name     string
	srv, cli *deflate.Options // nil srv: no extension
}{
	{"none", nil, nil},
	{"takeover", &deflate.Options{}, &deflate.Options{}},
	{"server-no-takeover", &deflate.Options{ServerNoContextTakeover: true}, &deflate.Options{}},
	{"client-no-takeover", &deflate.Options{ClientNoContextTakeover: true}, &deflate.Options{}},
	{"no-takeover", &deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, &deflate.Options{}},
	{"bits9", &deflate.Options{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9}, &deflate.Options{}},
	{"takeover-ctx32k", &deflate.Options{ContextSize: 32 << 10}, &deflate.Options{}},
}

// BenchmarkIdleConnDeflate reports the heap an idle server connection
// holds in each permessage-deflate mode, after its handshake and a first
// compressed message each way, measured as BenchmarkIdleConn does: the
// heap released when the server side of 500 connections is dropped. The
// flate engines are pooled, so what remains is the Conn and the windows
// context takeover keeps (32 KiB received, 4 KiB sent by default).
func BenchmarkIdleConnDeflate(b *testing.B) {
	msg := jsonish(600, 1)
	for _, mode := range deflateModes {
		b.Run(mode.name, func(b *testing.B) {
			ao := &conn.AcceptOptions{}
			do := &conn.DialOptions{}
			if mode.srv != nil {
				ao.Extensions = exts(mode.srv)
				do.Extensions = exts(mode.cli)
			}
			benchIdle(b, 500, ao, do, msg)
		})
	}
}

// BenchmarkEchoDeflate measures a round trip of a JSON-like message through
// an echo server over loopback, both ends compressing, and the
// allocations per round trip (both ends together).
func BenchmarkEchoDeflate(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, mode := range deflateModes[:5] {
			b.Run(fmt.Sprintf("%dK/%s", size>>10, mode.name), func(b *testing.B) {
				ao := &conn.AcceptOptions{}
				do := &conn.DialOptions{}
				if mode.srv != nil {
					ao.Extensions = exts(mode.srv)
					do.Extensions = exts(mode.cli)
				}
				c, s := tcpPair(b, ao, do)
				go echoLoop(s, make([]byte, size))
				var msgs [16][]byte
				for i := range msgs {
					msgs[i] = jsonish(size, i*1000)
				}
				roundTrips(b, c, s, conn.MessageText, msgs[:])
			})
		}
	}
}
