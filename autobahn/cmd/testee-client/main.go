// Command testee-client is hybi's client for the Autobahn testsuite's
// fuzzingserver mode (or hybi's own runner): it asks the server at -url how
// many cases there are, runs each one echoing every message, then asks it
// to update its reports.
//
//	go run ./autobahn/cmd/testee-client -url ws://127.0.0.1:9001 -agent hybi [-raw]
//	go run ./autobahn/cmd/testee-client -url wss://127.0.0.1:9443 -h2 -insecure
//
// With -h2 every WebSocket is opened over HTTP/2 (RFC 8441), on one
// HTTP/2 connection; the URL is then wss://.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/hybi-go/hybi/autobahn/testee"
)

func main() {
	u := flag.String("url", "ws://127.0.0.1:9001", "fuzzing server URL")
	agent := flag.String("agent", "hybi", "agent name in the reports")
	useRaw := flag.Bool("raw", false, "use the Raw session (the testee answers pings and closes itself)")
	useH2 := flag.Bool("h2", false, "open every WebSocket over HTTP/2 (RFC 8441); -url must be wss://")
	insecure := flag.Bool("insecure", false, "do not verify the server's certificate (a self-signed fuzzing server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := testee.Options{Raw: *useRaw, HTTP2: *useH2}
	if *insecure {
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if err := testee.RunClient(ctx, *u, *agent, o); err != nil {
		log.Fatal(err)
	}
}
