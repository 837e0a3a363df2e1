// Command testee-server is hybi's echo server for the Autobahn testsuite
// (fuzzingclient mode) or any WebSocket test client: every message is
// echoed with its type, on any path, from any Origin.
//
//	go run ./autobahn/cmd/testee-server -addr 127.0.0.1:9001 [-raw]
//	go run ./autobahn/cmd/testee-server -addr 127.0.0.1:9443 -h2   # wss://, HTTP/2 and HTTP/1.1
//
// With -h2 it serves TLS with a new self-signed certificate for
// 127.0.0.1, ::1 and localhost, and takes WebSockets over HTTP/2 (RFC
// 8441) as well as HTTP/1.1; it runs itself again with
// GODEBUG=http2xconnect=1, which net/http's HTTP/2 server needs at start.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/hybi-go/hybi/autobahn"
	"github.com/hybi-go/hybi/autobahn/testee"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	useRaw := flag.Bool("raw", false, "use the Raw session (the testee answers pings and closes itself)")
	useH2 := flag.Bool("h2", false, "serve wss:// with a self-signed certificate, over HTTP/2 (RFC 8441) and HTTP/1.1")
	flag.Parse()
	if *useH2 && !autobahn.ExtendedConnectEnabled() {
		os.Exit(autobahn.ReexecWithExtendedConnect())
	}
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
	if !*useH2 {
		log.Printf("hybi echo testee (%s session) on ws://%s", session, *addr)
		log.Fatal(srv.ListenAndServe())
	}
	cfg, _, err := autobahn.SelfSigned()
	if err != nil {
		log.Fatal(err)
	}
	srv.TLSConfig = cfg
	log.Printf("hybi echo testee (%s session) on wss://%s, HTTP/2 and HTTP/1.1, self-signed certificate", session, *addr)
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
