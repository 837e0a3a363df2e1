package deflate

import (
	"bufio"
	"errors"
	"io"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/klauspost/compress/flate"
)

// syncTail is the empty stored block a sync flush ends with. The sender
// removes it from every message and the receiver appends it back (RFC
// 7692, Sections 7.2.1 and 7.2.2).
var syncTail = [4]byte{0x00, 0x00, 0xff, 0xff}

var errNoSyncTail = errors.New("deflate: compressor output does not end with a sync flush")

// window keeps the last size bytes of a stream in a ring: the LZ77 window
// that context takeover carries from one message to the next. Its buffer
// is allocated on first use.
type window struct {
	buf  []byte
	size int
	pos  int  // next write position
	full bool // buf has wrapped: all of it is history
}

func (w *window) write(p []byte) {
	if w.size == 0 || len(p) == 0 {
		return
	}
	if w.buf == nil {
		w.buf = make([]byte, w.size)
	}
	if len(p) >= w.size {
		copy(w.buf, p[len(p)-w.size:])
		w.pos, w.full = 0, true
		return
	}
	n := copy(w.buf[w.pos:], p)
	if n < len(p) {
		w.pos = copy(w.buf, p[n:])
		w.full = true
		return
	}
	w.pos += n
	if w.pos == w.size {
		w.pos, w.full = 0, true
	}
}

// appendTo appends the window, oldest byte first, to dst.
func (w *window) appendTo(dst []byte) []byte {
	if !w.full {
		return append(dst, w.buf[:w.pos]...)
	}
	dst = append(dst, w.buf[w.pos:]...)
	return append(dst, w.buf[:w.pos]...)
}

// deflater is a pooled compressor with its output stage.
type deflater struct {
	fw   *flate.Writer
	out  tailWriter
	dict []byte // scratch for the dictionary
}

func (x *Extension) getDeflater(bits int) *deflater {
	if v := x.wpools[bits].Get(); v != nil {
		return v.(*deflater)
	}
	d := &deflater{}
	if bits == 15 {
		d.fw, _ = flate.NewWriter(nil, x.o.Level) // level checked by New
	} else {
		d.fw, _ = flate.NewWriterWindow(nil, 1<<bits)
	}
	return d
}

func (x *Extension) putDeflater(bits int, d *deflater) {
	d.out = tailWriter{}
	x.wpools[bits].Put(d)
}

// tailWriter passes on all but the last four bytes written to it, so that
// the sync tail can be dropped at the end of a message.
type tailWriter struct {
	w    io.Writer
	tail [4]byte
	n    int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	total := len(p)
	if t.n+len(p) <= len(t.tail) {
		t.n += copy(t.tail[t.n:], p)
		return total, nil
	}
	emit := t.n + len(p) - len(t.tail)
	if k := min(emit, t.n); k > 0 {
		if _, err := t.w.Write(t.tail[:k]); err != nil {
			return 0, err
		}
		t.n = copy(t.tail[:], t.tail[k:t.n])
		emit -= k
	}
	if emit > 0 {
		if _, err := t.w.Write(p[:emit]); err != nil {
			return 0, err
		}
		p = p[emit:]
	}
	t.n += copy(t.tail[t.n:], p)
	return total, nil
}

// encoder compresses the messages of one connection.
type encoder struct {
	x     *Extension
	bits  int
	noCtx bool
	hist  window // what was sent, with context takeover
	d     *deflater
}

// Encode starts compressing m unless it is to stay plain: the writer asked
// for no compression, or its known size is below Options.Threshold.
func (e *encoder) Encode(w io.Writer, m *extension.Message) (io.WriteCloser, error) {
	if m.NoCompression || (m.Size >= 0 && m.Size < int64(e.x.o.Threshold)) {
		return nil, nil
	}
	d := e.x.getDeflater(e.bits)
	d.out.w = w
	var dict []byte
	if e.hist.size > 0 {
		d.dict = e.hist.appendTo(d.dict[:0])
		dict = d.dict
	}
	d.fw.ResetDict(&d.out, dict)
	e.d = d
	m.RSV |= frame.RSV1
	return e, nil
}

func (e *encoder) Write(p []byte) (int, error) {
	n, err := e.d.fw.Write(p)
	e.hist.write(p[:n])
	return n, err
}

// Close flushes the compressor (a sync flush, RFC 7692, Section 7.2.1),
// drops the trailing 00 00 ff ff and gives the compressor back.
func (e *encoder) Close() error {
	d := e.d
	if d == nil {
		return nil
	}
	e.d = nil
	err := d.fw.Flush()
	if err == nil && (d.out.n != 4 || d.out.tail != syncTail) {
		err = errNoSyncTail
	}
	e.x.putDeflater(e.bits, d)
	return err
}

// inflater is a pooled decompressor with its input stage.
type inflater struct {
	fr   io.Reader
	rs   flate.Resetter
	br   *bufio.Reader // a *bufio.Reader takes flate's fast path
	src  tailReader
	dict []byte // scratch for the dictionary
}

func (x *Extension) getInflater() *inflater {
	if v := x.rpool.Get(); v != nil {
		return v.(*inflater)
	}
	f := &inflater{}
	f.br = bufio.NewReaderSize(&f.src, 4096)
	f.fr = flate.NewReader(f.br)
	f.rs = f.fr.(flate.Resetter)
	return f
}

func (x *Extension) putInflater(f *inflater) {
	f.src = tailReader{}
	f.br.Reset(&f.src)
	x.rpool.Put(f)
}

// inflateTail is what the receiver appends to a message's payload: the
// LEN and NLEN of the empty stored block the sender's sync flush ended
// with (RFC 7692, Section 7.2.2), then an empty final stored block. A
// well-formed message therefore decodes to io.EOF; one cut off inside a
// block runs into the tail and fails, instead of the tail's bytes coming
// out as data.
var inflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// tailReader reads r and then inflateTail.
type tailReader struct {
	r     io.Reader
	rDone bool
	n     int64 // payload bytes read from r
	tail  int   // bytes of the tail returned
}

func (t *tailReader) Read(p []byte) (int, error) {
	if !t.rDone {
		n, err := t.r.Read(p)
		t.n += int64(n)
		if err == io.EOF {
			t.rDone = true
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	if t.tail == len(inflateTail) {
		return 0, io.EOF
	}
	n := copy(p, inflateTail[t.tail:])
	t.tail += n
	return n, nil
}

// decoder decompresses the messages of one connection.
type decoder struct {
	x     *Extension
	noCtx bool
	hist  window // what was received, with context takeover
	f     *inflater
	clean bool // the current message decoded to its end without error
}

// Decode starts decompressing m if its RSV1 bit is set (RFC 7692, Section
// 6.2).
func (d *decoder) Decode(r io.Reader, m *extension.Message) (io.ReadCloser, error) {
	if m.RSV&frame.RSV1 == 0 {
		return nil, nil
	}
	f := d.x.getInflater()
	f.src = tailReader{r: r}
	f.br.Reset(&f.src)
	var dict []byte
	if d.hist.size > 0 {
		f.dict = d.hist.appendTo(f.dict[:0])
		dict = f.dict
	}
	if err := f.rs.Reset(f.br, dict); err != nil {
		d.x.putInflater(f)
		return nil, err
	}
	d.f = f
	d.clean = false
	return d, nil
}

// Read decompresses. A message ends when the decompressor reaches the end
// of a final block: the empty one of inflateTail, or the sender's own.
func (d *decoder) Read(p []byte) (int, error) {
	f := d.f
	if f == nil {
		return 0, io.EOF
	}
	n, err := f.fr.Read(p)
	d.hist.write(p[:n])
	switch err.(type) {
	case nil:
	case flate.CorruptInputError:
		err = &frame.ProtocolError{Code: frame.StatusInvalidFramePayloadData, Reason: "permessage-deflate: " + err.Error()}
	default:
		switch {
		case err == io.EOF:
			d.clean = true
		case err == io.ErrUnexpectedEOF && f.src.rDone && f.src.n == 0:
			// An empty payload with RSV1 set: an empty message, though
			// a compressor would have sent one byte.
			d.clean = true
			err = io.EOF
		case err == io.ErrUnexpectedEOF && f.src.tail == len(inflateTail):
			err = &frame.ProtocolError{Code: frame.StatusInvalidFramePayloadData, Reason: "permessage-deflate: message ends inside a DEFLATE block"}
		}
	}
	return n, err
}

// CanSkip implements extension.MessageSkipper: without context takeover
// on the messages this end receives, no message depends on the one before,
// so one whose read was cut short can be left unfinished.
func (d *decoder) CanSkip() bool { return d.noCtx }

var _ extension.MessageSkipper = (*decoder)(nil)

// Close gives the decompressor back, unless the message failed: a
// decompressor that stopped on bad input may keep decoding tables that
// a Reset does not clear (seen with klauspost/compress v1.20.4), and the
// pool is shared by every connection.
func (d *decoder) Close() error {
	if d.f != nil {
		if d.clean {
			d.x.putInflater(d.f)
		}
		d.f = nil
	}
	return nil
}
