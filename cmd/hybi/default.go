package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
)

// dialDefault runs a session with the Default session: messages in and
// out, pings answered by conn.
func dialDefault(ctx context.Context, o *options, ls *lineSource, out *printer, stderr io.Writer) error {
	do := &conn.DialOptions{Dialer: o.dialer}
	if o.deflate {
		do.Extensions = []extension.Extension{deflate.New(nil)}
	}
	c, _, err := conn.Dial(ctx, o.url, do)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	connected(stderr, o.url, c.Subprotocol(), c.Extensions())

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
		// Close waits for the peer's answer, which the reader sees.
		go c.Close(code, reason)
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
				if cmd.text != "" {
					fmt.Fprintln(stderr, "hybi: the Default session chooses the ping payload itself; use -raw to set it")
				}
				out.printf("> ping")
				go func() {
					start := time.Now()
					pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					if err := c.Ping(pctx); err != nil {
						fmt.Fprintln(stderr, "hybi: ping:", err)
						return
					}
					out.printf("< pong %v", time.Since(start).Round(time.Microsecond))
				}()
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
