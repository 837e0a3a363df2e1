// Package wsjson reads and writes JSON values as WebSocket text messages,
// one value per message, streaming through the message reader and writer
// of a conn.Conn.
package wsjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hybi-go/hybi/conn"
)

// ErrBadMessage is wrapped by the errors Read returns for a message that
// is not one JSON value of the expected shape: the connection is still
// usable and the next Read starts at the next message.
var ErrBadMessage = errors.New("wsjson: bad message")

// Read reads the next data message from c and decodes it into v, as
// encoding/json's Decoder would, reading the payload as it arrives rather
// than buffering it first.
//
// The message must be a text message holding exactly one JSON value,
// optionally surrounded by JSON white space. A binary message, malformed
// JSON, a value that does not fit v, or data after the value is reported
// as an error wrapping ErrBadMessage (and the encoding/json error, if
// any) that leaves the connection usable: the rest of the message is read
// and discarded, so that the next Read starts at the next message. A
// message larger than the connection's read limit fails the connection
// with StatusMessageTooBig (1009), as it would for conn.Conn.Read; other
// connection errors are returned as Read returns them (check them with
// conn.CloseStatus).
func Read(ctx context.Context, c *conn.Conn, v any) error {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	er := &errReader{r: r}
	if typ != conn.MessageText {
		if err := drain(er); err != nil {
			return err
		}
		return fmt.Errorf("%w: got a %v message, want text", ErrBadMessage, typ)
	}
	dec := json.NewDecoder(er)
	derr := dec.Decode(v)
	if er.err != nil {
		// The connection failed (or ctx is done) in the middle of the
		// message; the decoder's error only echoes that.
		return er.err
	}
	if derr != nil {
		if err := drain(er); err != nil {
			return err
		}
		return fmt.Errorf("%w: %w", ErrBadMessage, derr)
	}
	// Only white space may follow the value: what the decoder buffered,
	// then the rest of the message.
	var trailing bool
	checkRest(dec.Buffered(), &trailing) // a bytes.Reader: no error
	if err := checkRest(er, &trailing); err != nil {
		return err
	}
	if trailing {
		return fmt.Errorf("%w: data after the JSON value", ErrBadMessage)
	}
	return nil
}

// errReader remembers the first error other than io.EOF that the message
// reader returned, which is a connection error, not a JSON one.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// drain reads the rest of the message.
func drain(er *errReader) error {
	var trailing bool
	return checkRest(er, &trailing)
}

// checkRest reads r to its end, setting *trailing when anything
// but white space was in it.
func checkRest(r io.Reader, trailing *bool) error {
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		if !*trailing && !onlySpace(buf[:n]) {
			*trailing = true
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func onlySpace(p []byte) bool {
	for _, b := range p {
		switch b {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// Write encodes v as JSON, as encoding/json's Encoder does (with a
// trailing newline), and sends it to c as one text message. When v cannot
// be encoded nothing is sent and the error is returned.
func Write(ctx context.Context, c *conn.Conn, v any) error {
	w := &lazyWriter{ctx: ctx, c: c}
	err := json.NewEncoder(w).Encode(v)
	if w.w == nil {
		// The encoder failed before writing anything: no message was begun.
		if err == nil {
			err = w.err
		}
		return err
	}
	cerr := w.w.Close()
	if err != nil {
		return err
	}
	return cerr
}

// lazyWriter opens the message writer on the first Write, so that a value
// that fails to encode sends no message at all. The Encoder writes each
// value in one Write, which the message writer frames without copying when
// it is larger than the write buffer.
type lazyWriter struct {
	ctx context.Context
	c   *conn.Conn
	w   io.WriteCloser
	err error
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		if l.err != nil {
			return 0, l.err
		}
		w, err := l.c.Writer(l.ctx, conn.MessageText)
		if err != nil {
			l.err = err
			return 0, err
		}
		l.w = w
	}
	return l.w.Write(p)
}
