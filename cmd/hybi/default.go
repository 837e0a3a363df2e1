package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// dialDefault runs a session with the Default session: messages in and
// out, pings answered by conn.
func dialDefault(ctx context.Context, o *options, ls *lineSource, out *printer, stderr io.Writer) error {
	pongs := newPongLog(out)
	do := &conn.DialOptions{Dialer: o.dialer, Options: conn.Options{OnPong: pongs.received}}
	if o.deflate {
		do.Extensions = []extension.Extension{deflate.New(nil)}
	}
	c, _, err := conn.Dial(ctx, o.target, do)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	connected(stderr, o.target, c.Subprotocol(), c.Extensions())
	return sessionDefault(ctx, c, pongs, ls, out, stderr)
}

// sessionDefault runs c until its closing handshake ends: lines from ls go
// out as text messages or commands, what arrives is printed. The end of
// ls closes with 1000; what the peer still sends until its close frame is
// shown.
func sessionDefault(ctx context.Context, c *conn.Conn, pongs *pongLog, ls *lineSource, out *printer, stderr io.Writer) error {
	readDone := make(chan error, 1)
	go func() {
		for msg, err := range c.Messages(context.Background()) {
			if err != nil {
				readDone <- err
				return
			}
			if msg.Type == conn.MessageText {
				out.printf("< text %s", describe(true, msg.Data))
			} else {
				out.printf("< binary %d bytes: %s", len(msg.Data), describe(false, msg.Data))
			}
		}
		readDone <- nil
	}()

	closing := false
	startClose := func(code conn.StatusCode, reason string) {
		if closing {
			return
		}
		closing = true
		// The reader shows what the peer sends until its close frame
		// answers ours, or the connection ends after CloseTimeout.
		if err := c.CloseWrite(code, reason); err != nil {
			fmt.Fprintln(stderr, "hybi: close:", err)
		}
	}
	lines := ls.lines
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				if ls.err != nil {
					fmt.Fprintln(stderr, "hybi: reading input:", ls.err)
				}
				startClose(conn.StatusNormalClosure, "")
				continue
			}
			cmd := parseLine(line)
			switch cmd.kind {
			case "text":
				if err := c.Write(ctx, conn.MessageText, []byte(cmd.text)); err != nil {
					fmt.Fprintln(stderr, "hybi: write:", err)
				}
			case "ping":
				// Lines go out in order: the next waits for this pong (up
				// to 10 s), which pongs.received shows on the reading
				// goroutine, in its place among the messages.
				payload := pongs.sending(cmd.text)
				out.printf("> ping %s", describe(true, payload))
				pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				if err := c.PingWith(pctx, payload); err != nil {
					fmt.Fprintln(stderr, "hybi: ping:", err)
				}
				cancel()
			case "pong":
				fmt.Fprintln(stderr, "hybi: the Default session sends pongs itself; use -raw -nopong to send them by hand")
			case "close":
				out.printf("> close %s", closeText(cmd.code, cmd.text))
				startClose(cmd.code, cmd.text)
			default:
				fmt.Fprintln(stderr, "hybi:", cmd.invalid)
			}
		case err := <-readDone:
			if err != nil {
				return err
			}
			r := c.CloseReason()
			out.printf("< close %s", closeText(r.Code, r.Reason))
			return nil
		case <-ctx.Done():
			startClose(conn.StatusGoingAway, "")
			ctx = context.Background() // wait for the reader, bounded by CloseTimeout
		}
	}
}

func connected(stderr io.Writer, url, subprotocol, extensions string) {
	line := "connected to " + url
	if subprotocol != "" {
		line += fmt.Sprintf(" (subprotocol %q)", subprotocol)
	}
	if extensions != "" {
		line += fmt.Sprintf(" (extensions %q)", extensions)
	}
	fmt.Fprintln(stderr, line)
}

// pongLog shows the pongs of the Default session as they are read, with
// the round trip of the ping each answers. Each ping carries a payload of
// its own (the user's, or a number), which its pong echoes.
type pongLog struct {
	out  *printer
	mu   sync.Mutex
	n    int
	sent map[string]time.Time
}

func newPongLog(out *printer) *pongLog {
	return &pongLog{out: out, sent: make(map[string]time.Time)}
}

// sending notes a ping about to go out with payload, or with a number of
// its own when payload is empty, and returns the payload to send.
func (l *pongLog) sending(payload string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if payload == "" {
		l.n++
		payload = strconv.Itoa(l.n)
	}
	l.sent[payload] = time.Now()
	return []byte(payload)
}

// received is conn.Options.OnPong: it runs on the reading goroutine.
func (l *pongLog) received(payload []byte) {
	l.mu.Lock()
	t, ok := l.sent[string(payload)]
	delete(l.sent, string(payload))
	l.mu.Unlock()
	if !ok {
		l.out.printf("< pong %s (unsolicited)", describe(true, payload))
		return
	}
	l.out.printf("< pong %s %v", describe(true, payload), time.Since(t).Round(time.Microsecond))
}
