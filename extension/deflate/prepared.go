package deflate

import (
	"strconv"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
)

// A message broadcast to many connections (conn.PreparedMessage) is
// compressed once for each distinct key: the window bits of this end's
// compressor and, for a full 15-bit window, the level (a smaller window
// uses a windowed compressor that has no level). The shared compression
// starts from an empty window, as with no context takeover, and is used
// whether or not context takeover was agreed: context takeover allows a
// sender to refer to earlier messages but does not oblige it to (RFC
// 7692, Section 7.1.1), and the peer's decoder reads such a message the
// same either way. With context takeover, SentPrepared then adds the
// message to this end's send window, as the peer's decoder adds it to its
// receive window, so that later messages compressed with the window
// decode correctly.
var _ extension.PreparedEncoder = (*encoder)(nil)

// preparedKeys holds the keys by window bits and level (0 for a window
// smaller than 15 bits), so that PreparedKey does not allocate.
var preparedKeys = func() (k [16][10]string) {
	for bits := 8; bits < 15; bits++ {
		k[bits][0] = Name + ";bits=" + strconv.Itoa(bits)
	}
	for level := 1; level <= 9; level++ {
		k[15][level] = Name + ";bits=15;level=" + strconv.Itoa(level)
	}
	return k
}()

// PreparedKey returns "" for a message that stays plain (below
// Options.Threshold, or m.NoCompression), as Encode does, and otherwise
// the key of its compressor: window bits and level.
func (e *encoder) PreparedKey(m extension.Message) (string, bool) {
	if m.NoCompression || (m.Size >= 0 && m.Size < int64(e.x.o.Threshold)) {
		return "", true
	}
	if e.bits < 15 {
		return preparedKeys[e.bits][0], true
	}
	return preparedKeys[15][e.x.o.Level], true
}

// appendWriter appends what is written to it to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// EncodePrepared compresses p from an empty window, exactly as Encode
// does with no context takeover, and appends it to dst without the sync
// tail (RFC 7692, Section 7.2.1).
func (e *encoder) EncodePrepared(dst, p []byte, m extension.Message) ([]byte, frame.RSV, error) {
	d := e.x.getDeflater(e.bits)
	out := &appendWriter{b: dst}
	d.out.w = out
	d.fw.ResetDict(&d.out, nil)
	_, err := d.fw.Write(p)
	if err == nil {
		err = d.fw.Flush()
	}
	if err == nil && (d.out.n != 4 || d.out.tail != syncTail) {
		err = errNoSyncTail
	}
	e.x.putDeflater(e.bits, d)
	if err != nil {
		return dst, 0, err
	}
	return out.b, frame.RSV1, nil
}

// SentPrepared adds p to the send window when context takeover keeps one:
// the peer's decoder adds it to its receive window.
func (e *encoder) SentPrepared(p []byte, m extension.Message) {
	e.hist.write(p)
}
