// Command compliance runs the Autobahn testsuite's case catalogue against
// hybi's echo server and hybi's client testee, without Docker, prints a
// tally per section for each role and writes the reports (index.json, one
// JSON file per case, index.html) under -out.
//
//	go run ./autobahn/cmd/compliance
//	go run ./autobahn/cmd/compliance -server-url ws://127.0.0.1:9001 -role server
//	go run ./autobahn/cmd/compliance -client-cmd 'node autobahn/node/client.js {url} {agent}' -role client
//	go run ./autobahn/cmd/compliance -h2     # the same catalogue over HTTP/2 (RFC 8441)
//
// It exits with status 1 when a case is not OK; INFORMATIONAL is allowed
// for 7.1.6, 7.13.1 and 7.13.2 only, and UNIMPLEMENTED counts as a failure.
// With -check it only checks a report, and also exits 1 when a case of the
// catalogue (or of -cases and -exclude) has no verdict in it.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hybi-go/hybi/autobahn"
	"github.com/hybi-go/hybi/autobahn/suite"
	"github.com/hybi-go/hybi/autobahn/testee"
	"github.com/hybi-go/hybi/conn/poll"
)

func main() {
	var (
		out       = flag.String("out", "./autobahn/reports", "report directory (servers/ and clients/ below it)")
		serverURL = flag.String("server-url", "", "test this WebSocket server (ws://) instead of hybi's")
		clientCmd = flag.String("client-cmd", "", "test this client command instead of hybi's; {url} and {agent} are replaced (else the URL is appended)")
		role      = flag.String("role", "both", "which role to test: server, client or both")
		cases     = flag.String("cases", "*", "comma-separated case patterns (\"1.*,6.4.*\")")
		exclude   = flag.String("exclude", "", "comma-separated case patterns to leave out")
		useRaw    = flag.Bool("raw", false, "test hybi's Raw-session testees instead of the Default ones")
		usePoll   = flag.Bool("poll", false, "serve the Default session's server testee from conn/poll (Linux) instead of a goroutine per connection")
		useH2     = flag.Bool("h2", false, "run every case over HTTP/2 (RFC 8441): on a stream opened with an extended CONNECT, over TLS; hybi's testees and the fuzzing server use a self-signed certificate (a -client-cmd must accept it), a -server-url must be wss://")
		insecure  = flag.Bool("insecure", false, "with -h2 and -server-url: do not verify the server's certificate")
		agent     = flag.String("agent", "", "agent name (default hybi-server / hybi-client, or server / client)")
		deflateN  = flag.Int("deflate-messages", 100, "messages per 12.*/13.* case (the suite sends 1000)")
		maxWait   = flag.Duration("max-wait", 0, "cap on a case's wait for a stuck peer (default 60s)")
		verbose   = flag.Bool("v", false, "print a line per case")
		check     = flag.String("check", "", "only check a report's index.json (from this runner or the real suite) against hybi's bar: every case of -cases/-exclude must have a verdict")
	)
	flag.Parse()
	sel := suite.Select(suite.Catalogue(), split(*cases), split(*exclude))
	if len(sel) == 0 {
		fmt.Fprintln(os.Stderr, "no case matches")
		os.Exit(2)
	}
	if *check != "" {
		os.Exit(checkIndex(os.Stdout, *check, sel))
	}
	if *useH2 && *usePoll {
		fmt.Fprintln(os.Stderr, "-h2 does not go with -poll")
		os.Exit(2)
	}
	if *useH2 && !autobahn.ExtendedConnectEnabled() {
		// net/http's HTTP/2 server reads GODEBUG once, at start.
		os.Exit(autobahn.ReexecWithExtendedConnect())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var h2 *autobahn.HTTP2
	if *useH2 {
		var err error
		if h2, err = autobahn.NewHTTP2(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	opts := func(a string) *suite.Options {
		o := &suite.Options{Agent: a, DeflateMessages: *deflateN, MaxWait: *maxWait, HTTP2: *useH2}
		if *insecure {
			o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		}
		if *verbose {
			o.Logf = func(f string, args ...any) { fmt.Printf(f+"\n", args...) }
		}
		return o
	}
	session := "Default"
	if *useRaw {
		session = "Raw"
	}
	if *usePoll {
		if *useRaw || *serverURL != "" {
			fmt.Fprintln(os.Stderr, "-poll serves hybi's Default-session server testee; it does not go with -raw or -server-url")
			os.Exit(2)
		}
		session = "Default, conn/poll"
	}
	over := ""
	if *useH2 {
		over = ", over HTTP/2"
	}
	var failed []*suite.Result
	report := func(dir, title string, res []*suite.Result, took time.Duration) {
		fmt.Println()
		suite.WriteTally(os.Stdout, fmt.Sprintf("%s — %d cases in %s", title, len(res), took.Round(time.Millisecond)), res)
		for _, r := range autobahn.Failures(res) {
			fmt.Printf("  not OK: %-9s %s / %s: %s %s\n", r.ID, r.Behavior, r.BehaviorClose, r.Result, closeNote(r))
			failed = append(failed, r)
		}
		if len(res) < len(sel) {
			fmt.Printf("  missing: %d cases did not run\n", len(sel)-len(res))
			failed = append(failed, nil)
		}
		if err := suite.WriteReport(dir, map[string][]*suite.Result{res0agent(res): res}); err != nil {
			fmt.Fprintln(os.Stderr, "writing the report:", err)
		} else {
			fmt.Printf("  report: %s\n", filepath.Join(dir, "index.html"))
		}
	}

	if *role == "server" || *role == "both" {
		def := "hybi-server"
		if *usePoll {
			def = "hybi-poll-server"
		}
		if *useH2 {
			def = "hybi-h2-server"
		}
		a := pick(*agent, def, *serverURL != "", "server")
		start := time.Now()
		var res []*suite.Result
		if *serverURL != "" {
			res = autobahn.RunServer(ctx, *serverURL, sel, opts(a))
		} else {
			to := testee.Options{Raw: *useRaw}
			if *usePoll {
				p, err := poll.New(nil)
				if err != nil {
					fmt.Fprintln(os.Stderr, "-poll:", err)
					os.Exit(2)
				}
				defer p.Close()
				to.Poller = p
			}
			var err error
			if h2 != nil {
				res, err = h2.RunHybiServer(ctx, to, sel, opts(a))
			} else {
				res, err = autobahn.RunHybiServer(ctx, to, sel, opts(a))
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		title := "server " + a + strings.TrimPrefix(over, ",")
		if *serverURL == "" {
			title = "server " + a + " (" + session + " session" + over + ")"
		}
		report(filepath.Join(*out, "servers"), title, res, time.Since(start))
	}
	if *role == "client" || *role == "both" {
		def := "hybi-client"
		if *useH2 {
			def = "hybi-h2-client"
		}
		a := pick(*agent, def, *clientCmd != "", "client")
		client := autobahn.HybiClient(testee.Options{Raw: *useRaw})
		run := autobahn.RunClient
		if h2 != nil {
			client = h2.HybiClient(testee.Options{Raw: *useRaw})
			run = h2.RunClient
		}
		title := "client " + a + " (" + session + " session" + over + ")"
		if *clientCmd != "" {
			client = commandClient(*clientCmd)
			title = "client " + a + strings.TrimPrefix(over, ",")
		}
		start := time.Now()
		res, err := run(ctx, client, sel, opts(a))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		report(filepath.Join(*out, "clients"), title, res, time.Since(start))
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
}

// checkIndex tallies the index.json of a report, the runner's or the real
// suite's, writes the tally to w and returns the exit status: 0 when every
// agent in it has a verdict within hybi's bar for every case of want, 1
// otherwise (a report with no agent, or one that lacks a case, fails: the
// real suite writes {} when it could not reach the testee), 2 when the
// report cannot be read.
func checkIndex(w io.Writer, path string, want []*suite.Case) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var index map[string]map[string]struct {
		Behavior      string `json:"behavior"`
		BehaviorClose string `json:"behaviorClose"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		fmt.Fprintln(os.Stderr, path+":", err)
		return 2
	}
	if len(index) == 0 {
		fmt.Fprintf(w, "%s: no agent and no case in the report; did the suite reach the testee?\n", path)
		return 1
	}
	agents := make([]string, 0, len(index))
	for agent := range index {
		agents = append(agents, agent)
	}
	sort.Strings(agents)
	status := 0
	for _, agent := range agents {
		cases := index[agent]
		var res []*suite.Result
		for id, c := range cases {
			res = append(res, &suite.Result{Agent: agent, ID: id, Behavior: c.Behavior, BehaviorClose: c.BehaviorClose})
		}
		sort.Slice(res, func(i, j int) bool { return suite.IDLess(res[i].ID, res[j].ID) })
		suite.WriteTally(w, fmt.Sprintf("%s — %d cases (%s)", agent, len(res), path), res)
		for _, r := range autobahn.Failures(res) {
			fmt.Fprintf(w, "  not OK: %-9s %s / %s\n", r.ID, r.Behavior, r.BehaviorClose)
			status = 1
		}
		var missing []string
		for _, c := range want {
			if _, ok := cases[c.ID]; !ok {
				missing = append(missing, c.ID)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "  missing: %d of %d cases have no verdict: %s\n", len(missing), len(want), abbreviate(missing, 20))
			status = 1
		}
	}
	return status
}

// abbreviate joins the first n of ids and says how many more there are.
func abbreviate(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, " ")
	}
	return fmt.Sprintf("%s ... and %d more", strings.Join(ids[:n], " "), len(ids)-n)
}

func res0agent(res []*suite.Result) string {
	if len(res) == 0 {
		return "none"
	}
	return res[0].Agent
}

func closeNote(r *suite.Result) string {
	if r.BehaviorClose == suite.OK {
		return ""
	}
	return "[close: " + r.ResultClose + "]"
}

func pick(flagValue, hybi string, foreign bool, generic string) string {
	switch {
	case flagValue != "":
		return flagValue
	case foreign:
		return generic
	}
	return hybi
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// commandClient runs a client command against the runner: {url} and
// {agent} in the command are replaced, else the URL is appended.
func commandClient(cmdline string) autobahn.ClientFunc {
	return func(ctx context.Context, base, agent string) error {
		line := cmdline
		if strings.Contains(line, "{url}") || strings.Contains(line, "{agent}") {
			line = strings.ReplaceAll(strings.ReplaceAll(line, "{url}", base), "{agent}", agent)
		} else {
			line += " " + base
		}
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Env = append(os.Environ(), "AUTOBAHN_URL="+base, "AUTOBAHN_AGENT="+agent)
		return cmd.Run()
	}
}
