// Package autobahn checks hybi against the Autobahn WebSocket testsuite's
// case catalogue, in both roles, without Docker.
//
// The pieces:
//
//   - package suite: a runner that implements the catalogue (517 cases,
//     sections 1-7, 9, 10, 12 and 13) with the suite's verdict rules, as a
//     fuzzing client (it tests a server) and a fuzzing server (it tests a
//     client), and writes reports in the suite's layout;
//   - package testee: hybi's echo server and client testees, on the Default
//     session or the Raw one;
//   - cmd/compliance: one command that runs the whole catalogue against
//     hybi's server and client and prints a tally per section, over
//     HTTP/1.1 or, with -h2, over HTTP/2 (RFC 8441; see HTTP2);
//   - cmd/testee-server and cmd/testee-client: the testees on their own,
//     for the real suite (see docker/);
//   - docker/: configuration and a script for the real suite's image.
//
// This package holds what the command and the tests share.
package autobahn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hybi-go/hybi/autobahn/suite"
	"github.com/hybi-go/hybi/autobahn/testee"
)

// Informational lists the cases whose verdict is INFORMATIONAL by design;
// any other verdict than OK is a failure for hybi.
var Informational = map[string]bool{"7.1.6": true, "7.13.1": true, "7.13.2": true}

// Failures returns the results that do not meet hybi's bar: every case OK,
// except the informational ones. UNIMPLEMENTED is a failure.
func Failures(results []*suite.Result) []*suite.Result {
	var out []*suite.Result
	for _, r := range results {
		v := r.Verdict()
		if v == suite.OK || (v == suite.Informational && Informational[r.ID]) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// StartServer serves h on a free port of 127.0.0.1 and returns its ws://
// URL and a function that stops it.
func StartServer(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 1 << 16}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	}
	return "ws://" + ln.Addr().String(), stop, nil
}

// RunServer runs cases against the WebSocket server at serverURL (the
// runner is the fuzzing client).
func RunServer(ctx context.Context, serverURL string, cases []*suite.Case, o *suite.Options) []*suite.Result {
	return suite.RunClient(ctx, serverURL, cases, o)
}

// RunHybiServer starts hybi's echo server testee in-process and runs
// cases against it.
func RunHybiServer(ctx context.Context, t testee.Options, cases []*suite.Case, o *suite.Options) ([]*suite.Result, error) {
	u, stop, err := StartServer(testee.Handler(t))
	if err != nil {
		return nil, err
	}
	defer stop()
	return RunServer(ctx, u, cases, o), nil
}

// ClientFunc runs a client testee against the fuzzing server at base
// (ws://host:port) under the name agent, and returns when it is done.
type ClientFunc func(ctx context.Context, base, agent string) error

// RunClient starts the fuzzing server with cases, runs client against it
// and returns the results the client earned. A client that ends without
// running every case leaves the rest out of the results.
func RunClient(ctx context.Context, client ClientFunc, cases []*suite.Case, o *suite.Options) ([]*suite.Result, error) {
	return runClient(ctx, client, cases, o, StartServer)
}

// runClient is RunClient with the fuzzing server served by start.
func runClient(ctx context.Context, client ClientFunc, cases []*suite.Case, o *suite.Options, start func(http.Handler) (string, func(), error)) ([]*suite.Result, error) {
	if o == nil {
		o = &suite.Options{}
	}
	agent := o.Agent
	if agent == "" {
		agent = "client"
	}
	srv := &suite.Server{Cases: cases, Opts: o}
	base, stop, err := start(srv)
	if err != nil {
		return nil, err
	}
	defer stop()
	cerr := client(ctx, base, agent)
	srv.Wait()
	res := srv.Results(agent)
	if cerr != nil && len(res) < len(cases) {
		return res, errors.Join(errors.New("client testee failed"), cerr)
	}
	return res, nil
}

// HybiClient is the ClientFunc of hybi's client testee.
func HybiClient(t testee.Options) ClientFunc {
	return func(ctx context.Context, base, agent string) error {
		return testee.RunClient(ctx, base, agent, t)
	}
}
