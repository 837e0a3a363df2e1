package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// closeTimeout bounds the wait for the peer's part of the closing
// handshake in -raw mode.
const closeTimeout = 5 * time.Second

// dialRaw runs a session on the Raw session: every frame is shown, pings
// are answered and the closing handshake is done here (RFC 6455, Sections
// 5.5 and 7).
func dialRaw(ctx context.Context, o *options, ls *lineSource, out *printer, stderr io.Writer) error {
	res, _, err := o.dialer.Dial(ctx, o.target)
	if err != nil {
		return err
	}
	rc := raw.New(res.Conn, res.Buffered, raw.Client, nil)
	defer rc.Close()
	connected(stderr, o.target, res.Subprotocol, res.Extensions)
	return sessionRaw(ctx, rc, raw.Client, o.noPong, ls, out, stderr)
}

// sessionRaw runs rc, in role, until its closing handshake ends: every
// frame that arrives is shown, and every frame sent (with its header as it
// goes out). Pings are answered unless noPong.
func sessionRaw(ctx context.Context, rc *raw.Conn, role raw.Role, noPong bool, ls *lineSource, out *printer, stderr io.Writer) error {
	var closeSent atomic.Bool
	// sendClose sends a close frame unless one was sent; it reports
	// whether this call sent it.
	sendClose := func(code frame.StatusCode, reason string) bool {
		if closeSent.Swap(true) {
			return false
		}
		wctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		p := frame.AppendClose(nil, code, reason)
		// Shown before it is sent, so that it comes before the answer.
		out.printf("> close fin=1 rsv=000 len=%d: %s", len(p), closeText(code, reason))
		if err := rc.WriteFrame(wctx, frame.Header{Fin: true, Opcode: frame.OpClose}, p); err != nil {
			fmt.Fprintln(stderr, "hybi: write close:", err)
		}
		return true
	}

	type result struct {
		code   frame.StatusCode
		reason string
		err    error
	}
	readDone := make(chan result, 1)
	go func() {
		rctx := context.Background()
		for {
			h, err := rc.NextFrame(rctx)
			if err != nil {
				readDone <- result{err: err}
				return
			}
			p, err := io.ReadAll(rc)
			if err != nil {
				readDone <- result{err: err}
				return
			}
			line := fmt.Sprintf("< %s fin=%d rsv=%03b len=%d", h.Opcode, b2i(h.Fin), h.RSV>>4, h.Length)
			switch h.Opcode {
			case frame.OpText, frame.OpPing, frame.OpPong:
				if len(p) == 0 {
					break
				}
				if printable(p) {
					line += ": " + describe(true, p)
				} else {
					line += ": " + describe(false, p)
				}
			case frame.OpClose:
			default:
				if len(p) > 0 {
					line += ": " + describe(h.Opcode == frame.OpContinuation && printable(p), p)
				}
			}
			if h.Opcode == frame.OpClose {
				code, reason, perr := frame.ParseClose(p)
				if perr != nil {
					out.printf("%s: invalid (%v)", line, perr)
					var pe *frame.ProtocolError
					errors.As(perr, &pe)
					sendClose(pe.Code, "")
					readDone <- result{err: perr}
					return
				}
				out.printf("%s: %s", line, closeText(code, reason))
				// Echo the code unless we closed first (RFC 6455, Section
				// 5.5.1). A client then waits for the server to end TCP
				// (Section 7.1.1); a server ends it on return.
				sendClose(code, "")
				if role == raw.Client {
					rctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
					for {
						if _, err := rc.NextFrame(rctx); err != nil {
							break
						}
					}
					cancel()
				}
				readDone <- result{code: code, reason: reason}
				return
			}
			out.printf("%s", line)
			if h.Opcode == frame.OpPing && !noPong && !closeSent.Load() {
				out.printf("> pong fin=1 rsv=000 len=%d", len(p))
				if err := rc.WriteFrame(rctx, frame.Header{Fin: true, Opcode: frame.OpPong}, p); err != nil {
					readDone <- result{err: err}
					return
				}
			}
		}
	}()

	var closeTimer <-chan time.Time
	lines := ls.lines
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				if ls.err != nil {
					fmt.Fprintln(stderr, "hybi: reading input:", ls.err)
				}
				if sendClose(frame.StatusNormalClosure, "") {
					closeTimer = time.After(closeTimeout)
				}
				continue
			}
			cmd := parseLine(line)
			switch cmd.kind {
			case "text", "ping", "pong":
				op := map[string]frame.Opcode{"text": frame.OpText, "ping": frame.OpPing, "pong": frame.OpPong}[cmd.kind]
				if op.IsControl() && len(cmd.text) > frame.MaxControlPayload {
					fmt.Fprintf(stderr, "hybi: a %s payload is at most 125 bytes\n", op)
					continue
				}
				out.printf("> %s fin=1 rsv=000 len=%d", op, len(cmd.text))
				if err := rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: op}, []byte(cmd.text)); err != nil {
					fmt.Fprintln(stderr, "hybi: write:", err)
				}
			case "close":
				if sendClose(cmd.code, cmd.text) {
					closeTimer = time.After(closeTimeout)
				}
			default:
				fmt.Fprintln(stderr, "hybi:", cmd.invalid)
			}
		case r := <-readDone:
			if r.err != nil {
				if closeSent.Load() && errors.Is(r.err, io.EOF) {
					return errors.New("the peer closed TCP without answering our close frame")
				}
				return r.err
			}
			return nil // the close frame was shown as it came
		case <-closeTimer:
			rc.Close()
			return errors.New("no close frame from the peer in time")
		case <-ctx.Done():
			if sendClose(frame.StatusGoingAway, "") {
				closeTimer = time.After(closeTimeout)
			}
			ctx = context.Background()
		}
	}
}

func closeText(code frame.StatusCode, reason string) string {
	if code == frame.StatusNoStatusRcvd {
		return "no status"
	}
	return strings.TrimSuffix(fmt.Sprintf("%d %s", code, reason), " ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
