// Command testee-server is hybi's echo server for the Autobahn testsuite
// (fuzzingclient mode) or any WebSocket test client: every message is
// echoed with its type, on any path, from any Origin.
//
//	go run ./autobahn/cmd/testee-server -addr 127.0.0.1:9001 [-raw]
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/hybi-go/hybi/autobahn/testee"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	useRaw := flag.Bool("raw", false, "use the Raw session (the testee answers pings and closes itself)")
	flag.Parse()
	srv := &http.Server{
		Addr:              *addr,
		Handler:           testee.Handler(testee.Options{Raw: *useRaw}),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    1 << 16,
	}
	session := "Default"
	if *useRaw {
		session = "Raw"
	}
	log.Printf("hybi echo testee (%s session) on ws://%s", session, *addr)
	log.Fatal(srv.ListenAndServe())
}
