package frame

import (
	"io"
	"strconv"
)

// DefaultMaxPayload is the payload limit of a Reader whose MaxPayload is 0.
const DefaultMaxPayload = 32 << 20

// Reader reads frames from a byte stream, such as a captured connection or
// a fuzzer's input: Next decodes a header, then Read returns that frame's
// payload, unmasked, in pieces as small as the caller's buffer, and io.EOF
// at its end. A payload is never held whole, so MaxPayload bounds what a
// header may announce, not what the Reader allocates (nothing per frame).
//
// A Reader does no buffering of its own: wrap a network stream in a
// bufio.Reader. It is not safe for concurrent use. After an error other
// than the io.EOF that ends a payload, every call returns that error, as a
// session closes the connection on any of them.
type Reader struct {
	// MaxPayload is the largest payload length Next accepts; a header
	// announcing more is ErrFrameTooBig. 0 means DefaultMaxPayload,
	// a negative value no limit (the wire allows up to 1<<63-1).
	MaxPayload int64

	// Validate makes Next apply the rules of RFC 6455, Sections 5.1-5.5,
	// to each header, as a session does: Check with Role and AllowedRSV,
	// then CheckSequence for data frames. Without it Next only decodes,
	// which is what a tool that must see broken frames wants. Validate
	// leaves the reserved bits of control and continuation frames to
	// AllowedRSV alone: whether an extension may set them on such frames
	// is the caller's rule (the extensions of RFC 7692 may not).
	Validate   bool
	Role       Role // the end that receives the frames; used by Validate
	AllowedRSV RSV  // the reserved bits extensions own; used by Validate

	r      io.Reader
	h      Header
	remain int64 // payload bytes of h not yet read
	pos    int   // offset into the payload, for unmasking
	inMsg  bool  // a fragmented data message is open (Validate)
	err    error // sticky
	buf    [MaxHeaderSize]byte
	skip   io.LimitedReader
}

// NewReader returns a Reader that reads frames from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Reset makes fr read from r, as a new Reader with the same settings.
func (fr *Reader) Reset(r io.Reader) {
	*fr = Reader{MaxPayload: fr.MaxPayload, Validate: fr.Validate, Role: fr.Role, AllowedRSV: fr.AllowedRSV, r: r}
}

// Next skips whatever is left of the current frame's payload and reads the
// next header. It returns io.EOF when the stream ends cleanly between two
// frames, a *TruncatedError (which wraps io.ErrUnexpectedEOF) when it ends
// inside a header or inside the payload being skipped, ErrLengthOverflow
// for a 64-bit length with its top bit set, ErrFrameTooBig for a length
// over MaxPayload (before any of that payload is read), and with Validate
// the *ProtocolError of the first rule the header breaks. The header is
// returned along with ErrFrameTooBig and a rule error, so that a tool can
// report what it refused.
func (fr *Reader) Next() (Header, error) {
	if fr.err != nil {
		return Header{}, fr.err
	}
	if fr.remain > 0 {
		fr.skip = io.LimitedReader{R: fr.r, N: fr.remain}
		n, err := io.Copy(io.Discard, &fr.skip)
		fr.remain -= n
		if fr.remain > 0 {
			if err == nil {
				err = fr.truncated(false)
			}
			return Header{}, fr.fail(err)
		}
	}
	h, err := ReadHeader(fr.r, &fr.buf)
	if err == io.ErrUnexpectedEOF {
		err = fr.truncated(true)
	}
	if err != nil {
		return Header{}, fr.fail(err)
	}
	max := fr.MaxPayload
	if max == 0 {
		max = DefaultMaxPayload
	}
	if max > 0 && h.Length > max {
		return h, fr.fail(ErrFrameTooBig)
	}
	if fr.Validate {
		if err := Check(h, fr.Role, fr.AllowedRSV); err != nil {
			return h, fr.fail(err)
		}
		if h.Opcode.IsData() {
			if err := CheckSequence(h.Opcode, fr.inMsg); err != nil {
				return h, fr.fail(err)
			}
			fr.inMsg = !h.Fin
		}
	}
	fr.h, fr.remain, fr.pos = h, h.Length, 0
	return h, nil
}

// Header returns the header Next returned last.
func (fr *Reader) Header() Header { return fr.h }

// Remaining returns how many payload bytes of the current frame are left to
// read.
func (fr *Reader) Remaining() int64 { return fr.remain }

// Read reads the current frame's payload into p, unmasked, and returns
// io.EOF once it is all read (a frame with an empty payload gives io.EOF
// at once). A stream that ends inside the payload gives a
// *TruncatedError. Before the first Next it returns io.EOF.
func (fr *Reader) Read(p []byte) (int, error) {
	if fr.remain == 0 {
		if fr.err != nil {
			return 0, fr.err
		}
		return 0, io.EOF
	}
	if fr.err != nil {
		return 0, fr.err
	}
	if int64(len(p)) > fr.remain {
		p = p[:fr.remain]
	}
	n, err := fr.r.Read(p)
	if n > 0 {
		if fr.h.Masked {
			fr.pos = Mask(fr.h.Mask, fr.pos, p[:n])
		}
		fr.remain -= int64(n)
	}
	switch {
	case fr.remain == 0:
		// The payload is complete whatever r said with it; r's error,
		// if any, comes back from the next Next.
		return n, nil
	case err == io.EOF:
		return n, fr.fail(fr.truncated(false))
	case err != nil:
		return n, fr.fail(err)
	}
	return n, nil
}

func (fr *Reader) fail(err error) error {
	fr.err = err
	return err
}

func (fr *Reader) truncated(inHeader bool) error {
	if inHeader {
		return &TruncatedError{InHeader: true}
	}
	return &TruncatedError{Header: fr.h, Read: fr.h.Length - fr.remain}
}

// TruncatedError reports a stream that ended inside a frame: inside its
// header, or after Read bytes of the payload of the frame Header. It
// wraps io.ErrUnexpectedEOF.
type TruncatedError struct {
	InHeader bool
	Header   Header
	Read     int64
}

func (e *TruncatedError) Error() string {
	if e.InHeader {
		return "frame: stream ended inside a frame header"
	}
	return "frame: stream ended " + strconv.FormatInt(e.Read, 10) + " bytes into the " +
		strconv.FormatInt(e.Header.Length, 10) + "-byte payload of a " + e.Header.Opcode.String() + " frame"
}

// Unwrap returns io.ErrUnexpectedEOF.
func (e *TruncatedError) Unwrap() error { return io.ErrUnexpectedEOF }
