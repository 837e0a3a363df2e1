package hub

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/hybi-go/hybi/conn"
)

// FuzzEnvelope feeds parseEnvelope what a broker may deliver, whoever
// published it: it never panics, accepts only data message types and a
// node name that fits, and what envelope writes it reads back whole.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte{1, 1, 1, 'a', 1, 'h', 'i'}, "node", uint64(1), []byte("payload"), true)
	f.Add([]byte{1, 2, 0}, "n", uint64(1<<40), []byte{}, false)
	f.Add([]byte{1, 8, 1, 'a', 0x80}, "x", uint64(127), []byte{0xff}, true)
	f.Add([]byte{}, "", uint64(0), []byte(nil), false)
	f.Fuzz(func(t *testing.T, msg []byte, node string, seq uint64, data []byte, text bool) {
		if typ, n, s, d, ok := parseEnvelope(msg); ok {
			if typ != conn.MessageText && typ != conn.MessageBinary {
				t.Fatalf("accepted type %v", typ)
			}
			if len(n) == 0 || s == 0 || 3+len(n)+len(binary.AppendUvarint(nil, s))+len(d) > len(msg) {
				t.Fatalf("node %q, sequence %d and data %q do not make up %q", n, s, d, msg)
			}
		}
		if seq == 0 {
			seq = 1
		}
		if node == "" || len(node) > 255 {
			return
		}
		typ := conn.MessageBinary
		if text {
			typ = conn.MessageText
		}
		cl := &Cluster{node: node}
		gotTyp, gotNode, gotSeq, gotData, ok := parseEnvelope(cl.envelope(typ, seq, data))
		if !ok || gotTyp != typ || string(gotNode) != node || gotSeq != seq || !bytes.Equal(gotData, data) {
			t.Fatalf("envelope(%v, %d, %q) from %q read back as %v %v %q %d %q", typ, seq, data, node, ok, gotTyp, gotNode, gotSeq, gotData)
		}
	})
}
