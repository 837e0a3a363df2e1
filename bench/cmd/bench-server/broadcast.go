package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/hybi-go/hybi/bench/servers"
)

// serveBroadcast runs lib's broadcast server (bench-server -broadcast):
// the control address serves /stats and /debug/pprof/ as for the echo
// server, and POST /broadcast, which sends the request body as one text
// message to every connection and answers once the library's broadcast
// call has returned.
func serveBroadcast(lib, addr, ctlAddr string, deflate bool) {
	l, err := servers.GetBroadcast(lib)
	if err != nil {
		log.Fatal(err)
	}
	if deflate && !l.Deflate {
		log.Fatalf("%s: permessage-deflate not supported by this adapter", l.Name)
	}
	raiseNoFile()
	for _, a := range []string{addr, ctlAddr} {
		if h, _, err := net.SplitHostPort(a); err != nil || !net.ParseIP(h).IsLoopback() {
			log.Fatalf("%s: only loopback addresses are allowed", a)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	ctl, err := net.Listen("tcp", ctlAddr)
	if err != nil {
		log.Fatal(err)
	}
	broadcast, serve := l.Serve(ln, servers.Options{Deflate: deflate})
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", stats)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		p, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		broadcast(p)
		w.WriteHeader(http.StatusNoContent)
	})
	go http.Serve(ctl, mux)
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	fmt.Printf("ws=%s ctl=%s\n", ln.Addr(), ctl.Addr())
	log.Fatal(<-errc)
}
