package hub

import (
	"bytes"
	"testing"

	"github.com/hybi-go/hybi/conn"
)

// FuzzEnvelope feeds parseEnvelope what a broker may deliver, whoever
// published it: it never panics, accepts only data message types and a
// node name that fits, and what envelope writes it reads back whole.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte{1, 1, 1, 'a', 'h', 'i'}, "node", []byte("payload"), true)
	f.Add([]byte{1, 2, 0}, "n", []byte{}, false)
	f.Add([]byte{1, 8, 1, 'a'}, "x", []byte{0xff}, true)
	f.Add([]byte{}, "", []byte(nil), false)
	f.Fuzz(func(t *testing.T, msg []byte, node string, data []byte, text bool) {
		if typ, n, d, ok := parseEnvelope(msg); ok {
			if typ != conn.MessageText && typ != conn.MessageBinary {
				t.Fatalf("accepted type %v", typ)
			}
			if len(n) == 0 || 3+len(n)+len(d) != len(msg) {
				t.Fatalf("node %q and data %q do not make up %q", n, d, msg)
			}
		}
		if node == "" || len(node) > 255 {
			return
		}
		typ := conn.MessageBinary
		if text {
			typ = conn.MessageText
		}
		cl := &Cluster{node: node}
		gotTyp, gotNode, gotData, ok := parseEnvelope(cl.envelope(typ, data))
		if !ok || gotTyp != typ || string(gotNode) != node || !bytes.Equal(gotData, data) {
			t.Fatalf("envelope(%v, %q) from %q read back as %v %v %q %q", typ, data, node, ok, gotTyp, gotNode, gotData)
		}
	})
}
