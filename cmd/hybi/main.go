// Command hybi is a command-line WebSocket client, in the manner of wscat.
//
//	hybi dial [flags] URL
//
// It connects to URL (ws:// or wss://), sends each line of standard input as
// a text message and prints what arrives on standard output, one line each:
//
//	< text hello
//	< binary 3 bytes: 0102ff
//	< pong 1.2ms          (the answer to a /ping)
//	< close 1000 bye      (the peer's close frame; hybi then exits 0)
//
// A line that starts with / is a command: "/ping [payload]" sends a ping,
// "/close [code [reason]]" starts the closing handshake, "//text" sends
// "/text". At the end of standard input hybi closes with 1000 and waits for
// the peer's answer.
//
// Flags (before URL):
//
//	-H 'Name: value'   an extra request header; repeatable
//	-s name            a subprotocol to offer; repeatable
//	-deflate           offer permessage-deflate (not with -raw, which shows frames as sent)
//	-raw               show every frame (opcode, FIN, RSV, length), using
//	                   the Raw session: hybi answers pings and closes itself
//	-insecure          do not verify the server's TLS certificate
//	-timeout d         bound the opening handshake (default 10s)
//
// In the default mode the Default session answers the peer's pings, which
// are not shown; -raw shows them, with the pongs sent back. The exit code
// is 0 when the connection ended with a close frame, 1 when it failed, 2 for
// bad usage.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/handshake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: hybi dial [flags] URL

Connects to a WebSocket server, sends each line of standard input as a text
message and prints what arrives. Commands: /ping [payload], /close [code
[reason]], //text sends /text.

Flags:
`

// options are the parsed flags of hybi dial.
type options struct {
	url     string
	header  http.Header
	protos  []string
	deflate bool
	raw     bool
	dialer  handshake.Dialer
}

// run is main without the process: it runs hybi with args, reading stdin
// and writing stdout and stderr, until the connection ends or ctx is done,
// and returns the exit code. The goroutine reading stdin may outlive it
// until stdin reaches its end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "dial" {
		fmt.Fprint(stderr, usage)
		newFlags(stderr, &options{}).PrintDefaults()
		return 2
	}
	o := &options{header: http.Header{}}
	fs := newFlags(stderr, o)
	var insecure bool
	var timeout time.Duration
	fs.BoolVar(&insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "bound the opening handshake")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "hybi dial: want exactly one URL after the flags")
		return 2
	}
	o.url = fs.Arg(0)
	o.dialer = handshake.Dialer{Header: o.header, Subprotocols: o.protos, HandshakeTimeout: timeout}
	if insecure {
		o.dialer.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if o.deflate && o.raw {
		// The Raw session does not decode messages: it would show
		// compressed payloads, so nothing is offered.
		fmt.Fprintln(stderr, "hybi: -deflate is ignored with -raw")
	}
	out := &printer{w: stdout}
	lines := readLines(stdin)
	var err error
	if o.raw {
		err = dialRaw(ctx, o, lines, out, stderr)
	} else {
		err = dialDefault(ctx, o, lines, out, stderr)
	}
	close(lines.stop)
	if err != nil {
		fmt.Fprintln(stderr, "hybi:", err)
		return 1
	}
	return 0
}

func newFlags(stderr io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("hybi dial", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Func("H", "add a request header `'Name: value'` (repeatable)", func(s string) error {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return errors.New("want 'Name: value'")
		}
		o.header.Add(name, strings.TrimSpace(value))
		return nil
	})
	fs.Func("s", "offer `subprotocol` (repeatable)", func(s string) error {
		o.protos = append(o.protos, s)
		return nil
	})
	fs.BoolVar(&o.deflate, "deflate", false, "offer permessage-deflate")
	fs.BoolVar(&o.raw, "raw", false, "show every frame, using the Raw session")
	return fs
}

// printer writes whole lines from several goroutines.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// lineSource delivers the lines of stdin; lines is closed at its end.
type lineSource struct {
	lines chan string
	err   error // read after lines is closed
	stop  chan struct{}
}

func readLines(r io.Reader) *lineSource {
	ls := &lineSource{lines: make(chan string), stop: make(chan struct{})}
	go func() {
		defer close(ls.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case ls.lines <- sc.Text():
			case <-ls.stop:
				return
			}
		}
		ls.err = sc.Err()
	}()
	return ls
}

// command is a parsed input line.
type command struct {
	kind    string // "text", "ping" or "close"
	text    string
	code    conn.StatusCode
	invalid string
}

func parseLine(line string) command {
	if !strings.HasPrefix(line, "/") {
		return command{kind: "text", text: line}
	}
	if strings.HasPrefix(line, "//") {
		return command{kind: "text", text: line[1:]}
	}
	name, rest, _ := strings.Cut(line[1:], " ")
	switch name {
	case "ping":
		return command{kind: "ping", text: rest}
	case "close":
		cmd := command{kind: "close", code: conn.StatusNormalClosure}
		if rest != "" {
			codeStr, reason, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(codeStr)
			if err != nil || !conn.StatusCode(n).ValidOnWire() {
				return command{invalid: "bad close code " + strconv.Quote(codeStr)}
			}
			cmd.code, cmd.text = conn.StatusCode(n), reason
		}
		return cmd
	}
	return command{invalid: "unknown command /" + name + " (try /ping, /close, or //text to send /text)"}
}

// describe formats a payload for display: text as it is, binary in hex.
func describe(text bool, p []byte) string {
	if text {
		return strings.ToValidUTF8(string(p), "\uFFFD")
	}
	const max = 64
	s := hex.EncodeToString(p[:min(len(p), max)])
	if len(p) > max {
		s += "..."
	}
	return s
}

func printable(p []byte) bool { return utf8.Valid(p) }
