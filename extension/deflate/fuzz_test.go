package deflate

// FuzzDecode fuzzes the permessage-deflate decoder. Run it with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 1m -parallel 1 ./extension/deflate
//
// or with fuzz/run.sh. The seeds are the examples of RFC 7692, Section
// 7.2.3, a decompression bomb, truncated streams, garbage and a stored
// block with a wrong NLEN; a few longer ones live in
// testdata/fuzz/FuzzDecode.

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/klauspost/compress/flate"
)

const (
	// fuzzMaxLimit is the largest read limit FuzzDecode uses, and the one
	// a limit argument of 0 stands for.
	fuzzMaxLimit = 256 << 10
	// fuzzMaxTotal bounds what one input may decode over all its
	// messages, to keep executions fast.
	fuzzMaxTotal = 1 << 20
	// fuzzMaxMessages bounds the messages of one input.
	fuzzMaxMessages = 256
)

// fuzzStrictEnv, set to 1, makes FuzzDecode fail on the known bugs that it
// logs and tolerates by default (see FuzzDecode).
const fuzzStrictEnv = "HYBI_DEFLATE_STRICT"

var errWireTooBig = errors.New("fuzz: received payload over the read limit")

// outcome is how conn ends the reading of one message.
type outcome int

const (
	msgOK      outcome = iota // read to its end
	msgTooBig                 // 1009: the read limit, on received or decoded bytes
	msgInvalid                // the decoder's error: 1007 or its own code
)

func (o outcome) String() string {
	return [...]string{"ok", "too big", "invalid"}[o]
}

// fuzzWire is the received payload of one message as conn's wireReader
// gives it to the decoder: frame after frame, never (0, nil) for a
// non-empty p, io.EOF after the last frame, and the read limit applied to
// the received size before each frame is read (conn's checkLimit).
type fuzzWire struct {
	frames [][]byte
	i, off int   // current frame, offset in it
	wn     int64 // bytes received
	limit  int64
	err    error // sticky: conn has failed the connection
}

func (w *fuzzWire) Read(p []byte) (int, error) {
	for {
		if w.err != nil {
			return 0, w.err
		}
		if w.off == len(w.frames[w.i]) {
			if w.i == len(w.frames)-1 {
				return 0, io.EOF
			}
			w.i, w.off = w.i+1, 0
			if w.wn+int64(len(w.frames[w.i])) > w.limit {
				w.err = errWireTooBig
			}
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		n := copy(p, w.frames[w.i][w.off:])
		w.off += n
		w.wn += int64(n)
		return n, nil
	}
}

// readMessage reads one compressed message of the given frames through d
// the way conn's messageReader does with a read limit (readDecoded): each
// Read asks for at most limit-n+1 bytes, more than limit bytes in all is
// 1009, and after io.EOF the rest of the message is drained from the wire.
// Reads ask for rs bytes. It fails t if the decoder misbehaves as a
// reader: n out of range, a write past p, a run of (0, nil), an error of
// the wrong kind.
func readMessage(t *testing.T, d *decoder, frames [][]byte, limit int64, rs int) ([]byte, outcome, error) {
	t.Helper()
	if int64(len(frames[0])) > limit {
		return nil, msgTooBig, errWireTooBig // before Decode, as conn does
	}
	w := &fuzzWire{frames: frames, limit: limit}
	rc, err := d.Decode(w, &extension.Message{Opcode: frame.OpBinary, RSV: frame.RSV1, Size: -1})
	if err != nil || rc == nil {
		t.Fatalf("Decode = %v, %v", rc, err)
	}
	defer rc.Close()
	const canary = 8
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := (*bp)[:rs+canary]
	var out []byte
	var n int64
	for zero := 0; ; {
		k := rs
		if int64(k) > limit-n+1 {
			k = int(limit - n + 1)
		}
		p := buf[:k]
		for i := k; i < k+canary; i++ {
			buf[i] = 0xa5
		}
		m, err := rc.Read(p)
		if m < 0 || m > k {
			t.Fatalf("Read of %d bytes returned %d", k, m)
		}
		for i := k; i < k+canary; i++ {
			if buf[i] != 0xa5 {
				t.Fatalf("Read of %d bytes wrote past them at %d", k, i)
			}
		}
		out = append(out, p[:m]...)
		n += int64(m)
		if n > limit {
			if n != limit+1 {
				t.Fatalf("%d bytes read with a limit of %d", n, limit)
			}
			return out, msgTooBig, frame.ErrMessageTooBig
		}
		switch {
		case err == nil:
			if m > 0 {
				zero = 0
			} else if zero++; zero > 1000 {
				t.Fatalf("%d reads in a row returned (0, nil)", zero)
			}
			continue
		case err == io.EOF:
			var scratch [125]byte
			for w.err == nil {
				if _, err := w.Read(scratch[:]); err != nil {
					break
				}
			}
			if w.err != nil {
				return out, msgTooBig, w.err
			}
			return out, msgOK, nil
		}
		if w.err != nil {
			return out, msgTooBig, w.err // conn reports the wire's error
		}
		// conn closes with the code of a *frame.ProtocolError and 1007 for
		// anything else; the decoder's own errors should be 1007.
		var pe *frame.ProtocolError
		if errors.As(err, &pe) && pe.Code != frame.StatusInvalidFramePayloadData {
			t.Fatalf("decoder error %v: code %d, want 1007", err, pe.Code)
		}
		return out, msgInvalid, err
	}
}

// readBufs are readMessage's buffers, large enough for any read size.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 1<<16+16); return &b }}

// finalBlock is an empty stored block with BFINAL set.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// refDecode is the reference decoder: RFC 7692, Section 7.2.2, with the
// standard library's inflater (a different implementation from the one
// under test) reading the payload and then suffix. With the sync tail and
// an empty final block as suffix, the stream is valid only if the payload
// and the tail end on a block boundary (or the payload has a final block
// of its own). It reads at most limit+1 bytes; a nil error means it
// stopped there.
func refDecode(payload, dict []byte, limit int64, suffix ...[]byte) ([]byte, error) {
	src := joined(payload, suffix)
	fr, ok := refReaders.Get().(io.ReadCloser)
	if ok {
		fr.(stdflate.Resetter).Reset(src, dict)
	} else {
		fr = stdflate.NewReaderDict(src, dict)
	}
	defer refReaders.Put(fr)
	return readUpTo(fr, limit)
}

// klauspostDecode is refDecode with klauspost/compress's inflater, new
// for each call, in place of the standard library's: what the library
// under the decoder gives by itself.
func klauspostDecode(payload, dict []byte, limit int64, suffix ...[]byte) ([]byte, error) {
	return readUpTo(flate.NewReaderDict(joined(payload, suffix), dict), limit)
}

// joined is payload followed by each suffix.
func joined(payload []byte, suffix [][]byte) io.Reader {
	rs := []io.Reader{bytes.NewReader(payload)}
	for _, s := range suffix {
		rs = append(rs, bytes.NewReader(s))
	}
	return io.MultiReader(rs...)
}

// readUpTo reads r to its error or to limit+1 bytes; a nil error means it
// stopped at the limit.
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	var out []byte
	var buf [4096]byte
	for int64(len(out)) <= limit {
		k := min(int64(len(buf)), limit+1-int64(len(out)))
		n, err := r.Read(buf[:k])
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// keepLast trims b to its last n bytes.
func keepLast(b []byte, n int) []byte {
	if len(b) > n {
		b = append(b[:0:0], b[len(b)-n:]...)
	}
	return b
}

// splitMessages cuts data into messages of frames at the points plan
// chooses. Each plan byte is a frame: its size is its low 6 bits, times
// 64 when bit 6 is set; bit 7 ends the message with it. What plan leaves
// of data is the last frame of the last message.
func splitMessages(data, plan []byte) [][][]byte {
	var msgs [][][]byte
	var cur [][]byte
	for _, b := range plan {
		if len(msgs) == fuzzMaxMessages-1 {
			break
		}
		n := int(b & 0x3f)
		if b&0x40 != 0 {
			n <<= 6
		}
		n = min(n, len(data))
		cur = append(cur, data[:n])
		data = data[n:]
		if b&0x80 != 0 {
			msgs = append(msgs, cur)
			cur = nil
		}
	}
	return append(msgs, append(cur, data))
}

// cutFrames cuts a payload into frames with the sizes of plan's bytes
// (1 to 64, times 64 with bit 6), cycling.
func cutFrames(p, plan []byte) [][]byte {
	if len(plan) == 0 {
		return [][]byte{p}
	}
	var fs [][]byte
	for i := 0; ; i++ {
		b := plan[i%len(plan)]
		n := 1 + int(b&0x3f)
		if b&0x40 != 0 {
			n <<= 6
		}
		if n >= len(p) {
			return append(fs, p)
		}
		fs = append(fs, p[:n])
		p = p[n:]
	}
}

// fuzzExt are the Extensions of FuzzDecode's round trip, shared by every
// execution so that their pools of flate engines are reused: by
// fuzzConfig.sel, levels 1, 5 and 9, and level 1 with a 32 KiB context
// and the default threshold. (The arbitrary payloads get an Extension of
// their own per input, so that what a pooled decompressor keeps from one
// message to the next depends on the input alone.)
var fuzzExt = [4]*Extension{
	New(&Options{Level: 1, Threshold: -1}),
	New(&Options{Level: 5, Threshold: -1}),
	New(&Options{Level: 9, Threshold: -1}),
	New(&Options{Level: 1, ContextSize: 32 << 10}),
}

// Compressors for the round trip of FuzzDecode, by level.
var klauspostWriters, stdWriters [10]sync.Pool

func getKlauspostWriter(level int) *flate.Writer {
	if w, ok := klauspostWriters[level].Get().(*flate.Writer); ok {
		return w
	}
	w, _ := flate.NewWriter(nil, level)
	return w
}

func getStdWriter(level int) *stdflate.Writer {
	if w, ok := stdWriters[level].Get().(*stdflate.Writer); ok {
		return w
	}
	w, _ := stdflate.NewWriter(nil, level)
	return w
}

// refReaders are the reference's decompressors.
var refReaders sync.Pool

// fuzzConfig is what the mode byte of FuzzDecode selects.
type fuzzConfig struct {
	bits  int  // window bits, 8 to 15 (bits 0-2 of mode)
	noCtx bool // no context takeover (bit 3)
	// kind is the round trip's compressor (bits 4-5): 0 this package's
	// Encoder; at 15 bits only (0 otherwise), 1 klauspost/compress with
	// a sync flush, 2 klauspost/compress ending with a final block, 3
	// compress/flate with a sync flush.
	kind int
	// sel is the round trip's options (bits 6-7): level 1, 5 or 9, or
	// level 1 with a 32 KiB context and the default threshold, so that
	// short messages go uncompressed (fuzzExt).
	sel int
}

func parseMode(mode uint8) fuzzConfig {
	return fuzzConfig{
		bits:  8 + int(mode&7),
		noCtx: mode&8 != 0,
		kind:  int(mode>>4) & 3,
		sel:   int(mode >> 6),
	}
}

func (c fuzzConfig) String() string {
	return fmt.Sprintf("bits=%d noctx=%v kind=%d sel=%d", c.bits, c.noCtx, c.kind, c.sel)
}

// FuzzDecode feeds the decoder arbitrary compressed messages and checks
// it against a reference, then round-trips data through compressors.
//
// Arguments: data is the compressed payloads of the messages, cut into
// messages and frames by plan (splitMessages); mode selects the window
// bits, context takeover and the round trip's compressor (parseMode);
// limit is the read limit (limit mod 256 KiB, 0 meaning 256 KiB);
// readSize+1 bytes is what each Read asks for.
//
// Arbitrary payloads are read as conn reads them under a read limit
// (readMessage) with the window bits and context takeover of the mode,
// message after message on one connection until one fails (conn closes
// the connection then), the next on a new connection of the same
// Extension. Never a panic, a hang or a run of empty reads; never more than
// limit+1 bytes of a message, nor a write past the slice given to Read.
// What the decoder returns is compared with the standard library's
// inflater (refDecode), given the same window as a dictionary: the two
// outputs agree as far as both go; a message the reference decodes within
// the limit is decoded exactly; one it decodes past the limit is 1009; one
// it rejects is rejected (or stopped by the limit), with no more output
// than the reference gave before its error; a message received larger
// than the limit never succeeds. Known bugs are logged, and fatal with
// HYBI_DEFLATE_STRICT=1: an accepted message holding data that only the
// sync tail supplies, a rejected one that returned the tail's or
// klauspost/compress's own extra data first (checkMessage), and a message
// on which the decoder fails those checks where a new decoder, with the
// same window but no pooled decompressor, passes them (klauspost/compress
// keeps the table of a distance code across Reset and uses it for a block
// whose distance code is empty). After each message the decoder's window is the
// last 2^max(bits, 9) bytes decoded (none without context takeover).
//
// Round trip: data, cut into messages by plan, is compressed message
// after message by the mode's compressor, with context takeover unless
// the mode says otherwise, cut into frames by plan, and must decode to
// the original with a read limit of exactly its size (or that of the
// payload, if larger). The reference must decode every payload too.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.data, s.plan, s.mode, s.limit, s.readSize)
	}
	strict := os.Getenv(fuzzStrictEnv) == "1"
	f.Fuzz(func(t *testing.T, data, plan []byte, mode uint8, limit uint32, readSize uint16) {
		cfg := parseMode(mode)
		l := int64(limit % fuzzMaxLimit)
		if l == 0 {
			l = fuzzMaxLimit
		}
		rs := 1 + int(readSize)
		msgs := splitMessages(data, plan)
		fuzzArbitrary(t, cfg, msgs, l, rs, strict)
		fuzzRoundTrip(t, cfg, msgs, plan, rs)
	})
}

// fuzzArbitrary decodes msgs as compressed payloads, on connections that
// share one Extension (and its pool of decompressors) made for this
// input: after a message that fails its connection, the next message
// starts a new one.
func fuzzArbitrary(t *testing.T, cfg fuzzConfig, msgs [][][]byte, limit int64, rs int, strict bool) {
	x := New(nil)
	newConn := func() *decoder {
		_, d := pair(x, cfg.bits, cfg.noCtx)
		return d
	}
	d := newConn()
	winSize := 0
	if !cfg.noCtx {
		winSize = 1 << max(cfg.bits, 9)
	}
	var hist []byte // the last winSize bytes decoded on this connection
	var total int64
	for i, frames := range msgs {
		var payload []byte
		for _, fr := range frames {
			payload = append(payload, fr...)
		}
		out, res, err := readMessage(t, d, frames, limit, rs)
		ctx := func() string {
			return fmt.Sprintf("%v, message %d of %d, %d frames, limit %d, read size %d, payload % x", cfg, i, len(msgs), len(frames), limit, rs, payload)
		}
		bad, odd := checkMessage(payload, hist, limit, out, res, err)
		if odd != "" {
			msg := fmt.Sprintf("%s: %s", ctx(), odd)
			if strict {
				t.Fatal(msg)
			}
			t.Log(msg)
		}
		if bad != "" {
			// Again with a decoder that has no history: a new Extension,
			// the window written in by hand.
			_, fd := pair(New(nil), cfg.bits, cfg.noCtx)
			fd.hist.write(hist)
			fout, fres, ferr := readMessage(t, fd, frames, limit, rs)
			if fbad, _ := checkMessage(payload, hist, limit, fout, fres, ferr); fbad != "" {
				t.Fatalf("%s: %s", ctx(), bad)
			}
			msg := fmt.Sprintf("%s: %s; a new decoder gives %q (%v, %v): the pooled decompressor kept state from an earlier message", ctx(), bad, fout, fres, ferr)
			if strict {
				t.Fatal(msg)
			}
			t.Log(msg)
		}
		if res != msgOK {
			d, hist = newConn(), nil // conn closes the connection
			continue
		}
		if alone, _ := refDecode(payload, hist, limit); !bytes.Equal(alone, out) {
			msg := fmt.Sprintf("%s: the sync tail decoded as data: accepted %q, of which %q is not in the payload", ctx(), out, out[min(len(alone), len(out)):])
			if strict {
				t.Fatal(msg)
			}
			t.Log(msg)
		}
		if winSize > 0 {
			hist = keepLast(append(hist, out...), winSize)
		}
		if got := d.hist.appendTo(nil); !bytes.Equal(got, hist) {
			t.Fatalf("%s: the decoder's window holds %d bytes, want the last %d decoded", ctx(), len(got), len(hist))
		}
		if total += int64(len(out)); total > fuzzMaxTotal {
			return
		}
	}
}

// checkMessage checks the decoder's outcome for one message against the
// reference, and returns what is wrong with it or "".
//
// The sync tail that the receiver appends (RFC 7692, Section 7.2.2) is the
// LEN and NLEN of an empty stored block, whose header bits end the
// payload: it carries no data. The decoder does not check that. When the
// payload stops inside a DEFLATE block, flate reads the tail as more of
// the block, runs out of input, and the decoder takes the
// io.ErrUnexpectedEOF it returns once the tail is read for the end of the
// message, so the tail's bits can come out as data at the end of the
// message: "f2 48 cd" decodes to "Heh", "00 05 00 fa ff 48" (a stored
// block of 5 bytes holding 1) to "H\x00\x00\xff\xff". The reference,
// which appends an empty final block after the tail, rejects the first and
// accepts the second. Such a message passes here when the reference
// decodes the payload and the tail to the decoder's output and then wants
// more; fuzzArbitrary then checks, for every message accepted, that the
// output is what the payload alone decodes to (tail data): if not, it
// logs it, or fails with HYBI_DEFLATE_STRICT=1. A payload that only lacks
// the end of its last block or the header of the empty block ("", or
// "f2 48 cd c9 c9 07" for "Hello") passes.
//
// The same tail bits can come out before a message is rejected: a payload
// that stops inside a dynamic block's header ("cd 30 91 00 00") has the
// decoder read the tail as the rest of the code lengths and decode 16
// bytes before it runs out and rejects the message (1007, or 1009 when
// they pass the read limit first), where the
// reference, reading the final block too, rejects the header. The verdict
// is the same; the extra output is returned as odd, which fuzzArbitrary
// logs (or fails on with HYBI_DEFLATE_STRICT=1), not as bad. So is the
// extra output of a rejected message that klauspost/compress by itself
// decodes to the same bytes (klauspostAgrees): the difference is in the
// library under the decoder, not in the decoder.
func checkMessage(payload, dict []byte, limit int64, out []byte, res outcome, err error) (bad, odd string) {
	ref, refErr := refDecode(payload, dict, limit, syncTail[:], finalBlock)
	if !bytes.HasPrefix(ref, out) && !bytes.HasPrefix(out, ref) {
		return fmt.Sprintf("decoded %q (%v, %v), reference %q (%v)", out, res, err, ref, refErr), ""
	}
	refValid := refErr == io.EOF && int64(len(ref)) <= limit
	switch {
	case int64(len(payload)) > limit:
		if res == msgOK {
			return fmt.Sprintf("received %d bytes over the limit, accepted", len(payload)), ""
		}
	case refValid:
		if res != msgOK || !bytes.Equal(out, ref) && !truncated(payload, dict, limit, out) {
			return fmt.Sprintf("decoded %q (%v, %v), reference %q", out, res, err, ref), ""
		}
	case refErr == nil: // the reference decoded past the limit
		if res != msgTooBig {
			return fmt.Sprintf("reference decodes more than the limit, decoder %d bytes (%v, %v)", len(out), res, err), ""
		}
	default: // the reference rejects it
		if res == msgOK && !truncated(payload, dict, limit, out) {
			return fmt.Sprintf("reference fails (%v) after %q, decoder accepts %q", refErr, ref, out), ""
		}
		if len(out) > len(ref) {
			m := fmt.Sprintf("reference fails (%v) after %d bytes, decoder returned %d (%v, %v)", refErr, len(ref), len(out), res, err)
			if res != msgOK && truncated(payload, dict, limit, nil) {
				// Rejected too, having read the sync tail as data (as
				// 1009 when that data passed the limit first).
				return "", m + ": sync tail decoded as data before the message was rejected"
			}
			if res != msgOK && klauspostAgrees(payload, dict, limit, out) {
				// Rejected too, after the data klauspost/compress decodes
				// where the standard library finds the block corrupt.
				return "", m + ": klauspost/compress by itself decodes that data before it rejects the message"
			}
			return m, ""
		}
	}
	return "", ""
}

// klauspostAgrees reports whether klauspost/compress's inflater by itself,
// reading the payload, the sync tail and an empty final block, decodes out
// or more. It does where the standard library rejects a dynamic block
// whose literal/length code is empty: klauspost/compress keeps the table
// of the block's code length code for it (huffmanDecoder.init returns
// early without clearing the table it reuses), decodes the input bit by
// bit as the symbols 0 to 18, and fails only when the input ends, no
// end-of-block symbol being in that table ("14 30 91 00 00").
func klauspostAgrees(payload, dict []byte, limit int64, out []byte) bool {
	kp, _ := klauspostDecode(payload, dict, limit, syncTail[:], finalBlock)
	return bytes.HasPrefix(kp, out)
}

// truncated reports whether the reference, reading the payload and the
// sync tail, reads them to their end and wants more, having decoded out
// or more: the payload stops inside a DEFLATE block (see checkMessage).
// The reference may have decoded one symbol more than the decoder from
// the last bits of the tail: klauspost/compress stops short when fewer
// bits are left than its longest code, the standard library decodes a
// shorter code that fits.
func truncated(payload, dict []byte, limit int64, out []byte) bool {
	ref, err := refDecode(payload, dict, limit, syncTail[:])
	return err == io.ErrUnexpectedEOF && bytes.HasPrefix(ref, out)
}

// fuzzRoundTrip compresses the plain text of msgs and decodes it.
func fuzzRoundTrip(t *testing.T, cfg fuzzConfig, msgs [][][]byte, plan []byte, rs int) {
	x := fuzzExt[cfg.sel]
	level := x.o.Level
	e, d := pair(x, cfg.bits, cfg.noCtx)
	kind := cfg.kind
	if cfg.bits < 15 {
		kind = 0 // only the package's compressor keeps to a smaller window
	}
	recvWin := 0
	if !cfg.noCtx {
		recvWin = 1 << max(cfg.bits, 9)
	}
	var recv []byte // the receiver's window
	// Context takeover is one stream, flushed after each message (kinds
	// 1 and 3), or a final block and a compressor primed with what was
	// sent (kind 2).
	var out bytes.Buffer
	var kw *flate.Writer
	var sw *stdflate.Writer
	switch kind {
	case 1, 2:
		kw = getKlauspostWriter(level)
		defer klauspostWriters[level].Put(kw)
		// Not Reset: klauspost's Writer keeps the dictionary of its last
		// ResetDict and primes every Reset with it, so a writer pooled
		// after a kind 2 run would compress against stale text (a crash
		// FuzzDecode found, testdata/fuzz/FuzzDecode/28fd0c6e51e1b399;
		// TestPooledWriterAfterDict). The codec only ever uses ResetDict.
		kw.ResetDict(&out, nil)
	case 3:
		sw = getStdWriter(level)
		defer stdWriters[level].Put(sw)
		sw.Reset(&out)
	}
	var sent []byte // the last 32 KiB sent, for kind 2
	for i, frames := range msgs {
		var msg []byte
		for _, fr := range frames {
			msg = append(msg, fr...)
		}
		out.Reset()
		var payload []byte
		rsv := frame.RSV1
		switch kind {
		case 0:
			chunk := 0
			if len(plan) > 0 {
				chunk = int(plan[i%len(plan)]) // 0: one write
			}
			payload, rsv = encode(t, e, msg, int64(len(msg)), chunk)
		case 1:
			if cfg.noCtx {
				kw.ResetDict(&out, nil)
			}
			kw.Write(msg)
			kw.Flush()
		case 2:
			kw.ResetDict(&out, sent)
			kw.Write(msg)
			kw.Close()
			if !cfg.noCtx {
				sent = keepLast(append(sent, msg...), 32<<10)
			}
		case 3:
			if cfg.noCtx {
				sw.Reset(&out)
			}
			sw.Write(msg)
			sw.Flush()
		}
		if kind != 0 {
			payload = out.Bytes()
		}
		if kind == 1 || kind == 3 {
			if !bytes.HasSuffix(payload, syncTail[:]) {
				t.Fatalf("%v: message %d: a sync flush ends in % x", cfg, i, payload[max(0, len(payload)-4):])
			}
			payload = payload[:len(payload)-4]
		}
		if rsv == 0 {
			// Below the threshold: sent as it is, outside the window.
			rc, err := d.Decode(bytes.NewReader(payload), &extension.Message{Opcode: frame.OpBinary, Size: -1})
			if rc != nil || err != nil {
				t.Fatalf("%v: message %d without RSV1: Decode = %v, %v", cfg, i, rc, err)
			}
			continue
		}
		limit := int64(max(len(msg), len(payload)))
		got, res, err := readMessage(t, d, cutFrames(payload, plan), limit, rs)
		if res != msgOK || !bytes.Equal(got, msg) {
			t.Fatalf("%v: message %d of %d bytes, compressed % x: decoded %d bytes (%v, %v)", cfg, i, len(msg), payload, len(got), res, err)
		}
		ref, err := refDecode(payload, recv, limit, syncTail[:], finalBlock)
		if err != io.EOF || !bytes.Equal(ref, msg) {
			t.Fatalf("%v: message %d of %d bytes, compressed % x: reference decodes %d bytes, %v", cfg, i, len(msg), payload, len(ref), err)
		}
		if recvWin > 0 {
			recv = keepLast(append(recv, msg...), recvWin)
		}
	}
}

// fuzzSeed is one f.Add.
type fuzzSeed struct {
	data, plan []byte
	mode       uint8
	limit      uint32
	readSize   uint16
}

// Modes for the seeds.
const (
	seedNoCtx uint8 = 8
	seedBits8 uint8 = 0
	seedBits9 uint8 = 1
	seedBits  uint8 = 7 // 15
)

// flateSyncFlush compresses p with klauspost/compress at level and strips
// the sync tail (RFC 7692, Section 7.2.1).
func flateSyncFlush(p []byte, level int) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, level)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), syncTail[:])
}

func fuzzSeeds() []fuzzSeed {
	hello := unhex("f2 48 cd c9 c9 07 00")
	bomb := flateSyncFlush(make([]byte, 4<<20), 9)
	garbage := make([]byte, 256)
	r := rand.New(rand.NewPCG(7692, 1))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	return []fuzzSeed{
		// RFC 7692, Section 7.2.3.1: "Hello" in one block, whole and in
		// two frames ("f2 48 cd", "c9 c9 07 00").
		{hello, nil, seedBits, 0, 4095},
		{hello, []byte{3}, seedBits, 0, 0},
		// Section 7.2.3.2: two messages sharing the window, with and
		// without context takeover (then the second one is invalid), and
		// with the smallest windows.
		{unhex("f2 48 cd c9 c9 07 00 f2 00 11 00 00"), []byte{0x87}, seedBits, 0, 4095},
		{unhex("f2 48 cd c9 c9 07 00 f2 00 11 00 00"), []byte{0x87}, seedBits | seedNoCtx, 0, 4095},
		{unhex("f2 48 cd c9 c9 07 00 f2 00 11 00 00"), []byte{0x87, 2}, seedBits8, 0, 2},
		// Section 7.2.3.3: a stored block ("no compression").
		{unhex("00 05 00 fa ff 48 65 6c 6c 6f 00"), nil, seedBits, 0, 4095},
		// Section 7.2.3.4: BFINAL set, then the header of a stored block.
		{unhex("f3 48 cd c9 c9 07 00 00"), nil, seedBits, 0, 4095},
		// Section 7.2.3.5: two blocks, then a message using the window.
		{unhex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00 f2 00 11 00 00"), []byte{5, 0x88}, seedBits, 0, 4095},
		// The empty message: the sync tail alone.
		{nil, nil, seedBits, 0, 4095},
		// Bombs: 4 MiB of zeros, the limit stops it at 256 or 64 KiB;
		// 64 KiB of zeros in 3 frames, stopped at 1000 bytes.
		{bomb, nil, seedBits, 0, 65535},
		{flateSyncFlush(make([]byte, 64<<10), 9), []byte{16, 16}, seedBits9, 1000, 99},
		{bomb, nil, seedBits | seedNoCtx, 1 << 16, 0},
		// Truncated streams: a cut bomb, "Hello" without its last bytes,
		// a stored block cut short.
		{bomb[:len(bomb)/2], nil, seedBits, 0, 4095},
		{unhex("f2 48 cd c9 c9 07"), nil, seedBits, 0, 4095},
		{unhex("f2 48 cd"), nil, seedBits, 0, 4095},
		{unhex("00 05 00 fa ff 48"), nil, seedBits, 0, 4095},
		{unhex("00 05 00"), nil, seedBits, 0, 4095},
		// A stored block with a wrong NLEN.
		{unhex("00 05 00 fb ff 48 65 6c 6c 6f 00"), nil, seedBits, 0, 4095},
		// Garbage, and the reserved block type 11.
		{garbage, []byte{0x90, 0x20, 0x85}, seedBits, 0, 4095},
		{unhex("ff ff ff ff"), nil, seedBits, 0, 4095},
		{unhex("07 00"), nil, seedBits, 0, 4095},
		// A distance past the start of the window: "f2 00 11 00 00"
		// alone refers to 5 bytes before the message.
		{unhex("f2 00 11 00 00"), nil, seedBits, 0, 4095},
	}
}

// A compressor pooled after a run that ended with a dictionary (kind 2)
// must not compress the next run (kind 1) against it.
func TestPooledWriterAfterDict(t *testing.T) {
	msgs := [][][]byte{{[]byte("\x8c\xd4Ij\\00000000")}, {[]byte("0000000000 and more 0000000000")}}
	for _, sel := range []int{0, 1, 2} {
		fuzzRoundTrip(t, fuzzConfig{bits: 15, kind: 2, sel: sel}, msgs, nil, 512)
		fuzzRoundTrip(t, fuzzConfig{bits: 15, kind: 1, sel: sel}, msgs, nil, 512)
		fuzzRoundTrip(t, fuzzConfig{bits: 15, noCtx: true, kind: 1, sel: sel}, msgs, nil, 512)
	}
}
