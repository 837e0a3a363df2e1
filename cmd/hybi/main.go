// Command hybi is a command-line WebSocket client and server, in the manner
// of wscat.
//
//	hybi [dial] [flags] URL
//	hybi listen [flags] [HOST]:PORT
//
// dial connects to URL (ws://, wss://, or host:port/path, which means ws://,
// or wss:// on port 443), sends each line of standard input as a text
// message and prints what arrives on standard output, one line each, in the
// order it arrived:
//
//	< text hello
//	< binary 3 bytes: 0102ff
//	< pong 1 1.2ms        (the answer to a /ping: its payload, the round trip)
//	< close 1000 bye      (the peer's close frame; hybi then exits 0)
//
// listen serves WebSockets on HOST:PORT (any path; a bare PORT listens on
// every interface), one client at a time (another is refused with 503),
// with the same input and output; it exits at the end of standard input.
// Browsers are accepted from the same origin only, unless -origin allows
// theirs.
//
// A line that starts with / is a command: "/ping [payload]" sends a ping,
// "/pong [payload]" a pong (-raw only), "/close [code [reason]]" starts the
// closing handshake, "//text" sends "/text". Lines go out in order; in
// the default mode a /ping waits up to 10 s for its pong before the next
// line goes. At the end of standard input hybi closes with 1000 and shows
// what the peer still sends until its close frame.
//
// Flags (before or after the URL):
//
//	-H 'Name: value'   an extra request header; repeatable
//	-s name            a subprotocol to offer (listen: to accept); repeatable
//	-deflate           offer (listen: accept) permessage-deflate (not with -raw,
//	                   which shows frames as sent)
//	-raw               show every frame in and out (opcode, FIN, RSV, length),
//	                   using the Raw session: hybi answers pings and closes
//	                   itself
//	-nopong            with -raw, leave pings unanswered (send /pong by hand)
//	-origin pattern    listen: also accept browsers from this host pattern
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
	"net"
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

const usage = `usage: hybi [dial] [flags] URL
       hybi listen [flags] [HOST]:PORT

dial connects to a WebSocket server (URL is ws://, wss://, or host:port/path,
which means ws://), sends each line of standard input as a text message and
prints what arrives. listen serves WebSockets on HOST:PORT (any path), one
client at a time, with the same input and output. Commands: /ping [payload],
/pong [payload] (-raw only), /close [code [reason]], //text sends /text.
Flags may come before or after the URL or address.

Flags:
`

// options are the parsed flags.
type options struct {
	listen   bool // hybi listen
	target   string
	header   http.Header
	protos   []string
	origins  []string
	deflate  bool
	raw      bool
	noPong   bool
	insecure bool
	timeout  time.Duration
	dialer   handshake.Dialer
}

// run is main without the process: it runs hybi with args, reading stdin
// and writing stdout and stderr, until the connection ends or ctx is done,
// and returns the exit code. The goroutine reading stdin may outlive it
// until stdin reaches its end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "hybi:", err)
		}
		printUsage(stderr)
		return 2
	}
	if o.deflate && o.raw {
		// The Raw session does not decode messages: it would show
		// compressed payloads, so nothing is offered.
		fmt.Fprintln(stderr, "hybi: -deflate is ignored with -raw")
	}
	if o.noPong && !o.raw {
		fmt.Fprintln(stderr, "hybi: -nopong needs -raw: the Default session always answers pings")
		return 2
	}
	out := &printer{w: stdout}
	lines := readLines(stdin)
	defer close(lines.stop)
	switch {
	case o.listen:
		err = listen(ctx, o, lines, out, stderr)
	case o.raw:
		err = dialRaw(ctx, o, lines, out, stderr)
	default:
		err = dialDefault(ctx, o, lines, out, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hybi:", err)
		return 1
	}
	return 0
}

// parseArgs parses hybi's command line: an optional "dial" or "listen",
// then flags and exactly one URL or address, in any order.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	if len(args) == 0 {
		return nil, errors.New("want a URL to dial, or listen and an address")
	}
	o := &options{header: http.Header{}}
	switch args[0] {
	case "dial":
		args = args[1:]
	case "listen":
		o.listen = true
		args = args[1:]
	case "help", "-h", "-help", "--help":
		return nil, flag.ErrHelp
	}
	fs := newFlags(stderr, o)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		if o.listen {
			return nil, fmt.Errorf("listen wants exactly one address ([HOST]:PORT), got %d", len(positional))
		}
		return nil, fmt.Errorf("dial wants exactly one URL, got %d", len(positional))
	}
	o.target = positional[0]
	if o.listen {
		if !strings.Contains(o.target, ":") {
			o.target = ":" + o.target // a bare port, as wscat -l takes it
		}
		if _, _, err := net.SplitHostPort(o.target); err != nil {
			return nil, fmt.Errorf("listen address %q: %v", o.target, err)
		}
		return o, nil
	}
	o.target = withScheme(o.target)
	o.dialer = handshake.Dialer{Header: o.header, Subprotocols: o.protos, HandshakeTimeout: o.timeout}
	if o.insecure {
		o.dialer.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return o, nil
}

// withScheme gives a URL without a scheme one, as wscat does: wss:// for
// port 443, ws:// otherwise.
func withScheme(target string) string {
	if strings.Contains(target, "://") {
		return target
	}
	host, _, _ := strings.Cut(target, "/")
	if strings.HasSuffix(host, ":443") {
		return "wss://" + target
	}
	return "ws://" + target
}

func printUsage(stderr io.Writer) {
	fmt.Fprint(stderr, usage)
	fs := newFlags(stderr, &options{header: http.Header{}})
	fs.SetOutput(stderr)
	fs.PrintDefaults()
}

func newFlags(stderr io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("hybi", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the usage once, after the error
	fs.Func("H", "dial: add a request header `'Name: value'` (repeatable)", func(s string) error {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return errors.New("want 'Name: value'")
		}
		o.header.Add(name, strings.TrimSpace(value))
		return nil
	})
	fs.Func("s", "dial: offer `subprotocol`; listen: accept it (repeatable, in order of preference)", func(s string) error {
		o.protos = append(o.protos, s)
		return nil
	})
	fs.Func("origin", "listen: also accept browsers from `host` pattern (repeatable; default same origin only)", func(s string) error {
		o.origins = append(o.origins, s)
		return nil
	})
	fs.BoolVar(&o.deflate, "deflate", false, "offer (dial) or accept (listen) permessage-deflate")
	fs.BoolVar(&o.raw, "raw", false, "show every frame, using the Raw session")
	fs.BoolVar(&o.noPong, "nopong", false, "with -raw: do not answer pings (send /pong yourself)")
	fs.BoolVar(&o.insecure, "insecure", false, "dial: do not verify the server's TLS certificate")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "dial: bound the opening handshake")
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

// lineSource delivers the lines of stdin; lines is closed at its end, and
// then eof. Lines wait, unread, while no session takes them.
type lineSource struct {
	lines chan string
	err   error // read after lines is closed
	stop  chan struct{}
	eof   chan struct{}
}

func readLines(r io.Reader) *lineSource {
	ls := &lineSource{lines: make(chan string), stop: make(chan struct{}), eof: make(chan struct{})}
	go func() {
		defer close(ls.eof)
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
	kind    string // "text", "ping", "pong" or "close"
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
	case "ping", "pong":
		return command{kind: name, text: rest}
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
	return command{invalid: "unknown command /" + name + " (try /ping, /pong, /close, or //text to send /text)"}
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
