// Command testee-client is hybi's client for the Autobahn testsuite's
// fuzzingserver mode (or hybi's own runner): it asks the server at -url how
// many cases there are, runs each one echoing every message, then asks it
// to update its reports.
//
//	go run ./autobahn/cmd/testee-client -url ws://127.0.0.1:9001 -agent hybi [-raw]
package main

import (
	"context"
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := testee.RunClient(ctx, *u, *agent, testee.Options{Raw: *useRaw}); err != nil {
		log.Fatal(err)
	}
}
