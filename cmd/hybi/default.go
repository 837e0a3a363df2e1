package main

import (
	"context"
	"fmt"
	"io"
	"sync"
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
	c, _, err := conn.Dial(ctx, o.target, do)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	connected(stderr, o.target, c.Subprotocol(), c.Extensions())
	return sessionDefault(ctx, c, ls, out, stderr)
}

// sessionDefault runs c until its closing handshake ends: lines from ls go
// out as text messages or commands, what arrives is printed. The end of
// ls closes with 1000 once the pings in flight have their answers, so that
// every pong is shown.
func sessionDefault(ctx context.Context, c *conn.Conn, ls *lineSource, out *printer, stderr io.Writer) error {
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
	var pings sync.WaitGroup
	var inputEnded chan struct{} // closed once the pings in flight are answered
	lines := ls.lines
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				if ls.err != nil {
					fmt.Fprintln(stderr, "hybi: reading input:", ls.err)
				}
				inputEnded = make(chan struct{})
				go func() {
					pings.Wait()
					close(inputEnded)
				}()
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
				pings.Add(1)
				go func() {
					defer pings.Done()
					start := time.Now()
					pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					if err := c.Ping(pctx); err != nil {
						fmt.Fprintln(stderr, "hybi: ping:", err)
						return
					}
					out.printf("< pong %v", time.Since(start).Round(time.Microsecond))
				}()
			case "pong":
				fmt.Fprintln(stderr, "hybi: the Default session sends pongs itself; use -raw -nopong to send them by hand")
			case "close":
				out.printf("> close %s", closeText(cmd.code, cmd.text))
				startClose(cmd.code, cmd.text)
			default:
				fmt.Fprintln(stderr, "hybi:", cmd.invalid)
			}
		case <-inputEnded:
			inputEnded = nil
			startClose(conn.StatusNormalClosure, "")
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
