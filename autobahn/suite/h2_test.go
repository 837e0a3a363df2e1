package suite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/internal/testnet"
)

// h2Server starts an HTTPS server with h on 127.0.0.1 that selects h2
// (or only HTTP/1.1), and returns its wss:// URL and a client TLS
// configuration that trusts it.
func h2Server(t *testing.T, h http.Handler, h2 bool) (string, *tls.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return "wss" + strings.TrimPrefix(srv.URL, "https"), &tls.Config{RootCAs: roots}
}

// TestDialStreamRefuses checks the runner's client side of the extended
// CONNECT (RFC 8441, Section 5), as TestDial does for HTTP/1.1: it opens
// a WebSocket on a 200 without the HTTP/1.1 handshake's fields, and
// refuses any other answer.
func TestDialStreamRefuses(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	answer := func(status int, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
			http.NewResponseController(w).Flush()
			io.Copy(io.Discard, r.Body) // until the client ends the stream
		}
	}
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		h2   bool
		want string // "" for success
	}{
		{"200", answer(200), true, ""},
		{"200 with Sec-WebSocket-Accept", answer(200, "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), true, "Sec-Websocket-Accept"},
		{"400", answer(400), true, "status 400"},
		{"404", answer(404), true, "status 404"},
		{"HTTP/1.1 only", answer(200), false, "did not select h2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, cfg := h2Server(t, tc.h, tc.h2)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := dialStream(ctx, u+"/runCase?case=1", "", cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				d.nc.Close()
				return
			}
			if err == nil {
				d.nc.Close()
				t.Fatalf("dialled; want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want one with %q", err, tc.want)
			}
		})
	}
	t.Run("ws://", func(t *testing.T) {
		_, err := dialStream(context.Background(), "ws://127.0.0.1:1/", "", nil)
		if err == nil || !strings.Contains(err.Error(), "wss://") {
			t.Errorf("error %v; want one that asks for wss://", err)
		}
	})
}

// TestAcceptStreamRefuses checks the runner's server side of the extended
// CONNECT: a request over HTTP/2 that is not one (a GET, another
// :protocol, another version) is refused with the status RFC 6455 and
// RFC 8441 call for, and the case it asked for fails.
func TestAcceptStreamRefuses(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	srv := &Server{Cases: Select(Catalogue(), []string{"1.1.1"}, nil)}
	u, cfg := h2Server(t, srv, true)
	base := "https" + strings.TrimPrefix(u, "wss")
	cfg.NextProtos = []string{"h2"}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	tr.CloseIdleConnections() // fills in TLSNextProto, for the CONNECTs
	for _, tc := range []struct {
		name     string
		method   string
		protocol string
		version  string
		want     int
	}{
		{"GET", http.MethodGet, "", "13", http.StatusBadRequest},
		// A plain CONNECT has no :path, so no endpoint.
		{"CONNECT without :protocol", http.MethodConnect, "", "13", http.StatusNotFound},
		{":protocol foo", http.MethodConnect, "foo", "13", http.StatusBadRequest},
		{"version 8", http.MethodConnect, "websocket", "8", http.StatusUpgradeRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, base+"/runCase?case=1&agent=a", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Sec-WebSocket-Version", tc.version)
			var rt http.RoundTripper = tr
			if tc.method == http.MethodConnect {
				// net/http's Transport refuses a CONNECT without a
				// host-only URL and any :protocol; its HTTP/2 client
				// takes both.
				nc, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", req.URL.Host)
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				rt = tr.TLSNextProto["h2"](req.URL.Host, nc.(*tls.Conn))
				if tc.protocol != "" {
					req.Header[":protocol"] = []string{tc.protocol}
				}
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d; want %d", resp.StatusCode, tc.want)
			}
		})
	}
	// A refused /runCase is the case's result, as over HTTP/1.1: FAILED.
	srv.Wait()
	for _, r := range srv.Results("a") {
		if r.Behavior != Failed || !strings.Contains(r.Result, "opening handshake failed") {
			t.Errorf("case %s on a refused request: %s: %s", r.ID, r.Behavior, r.Result)
		}
	}
}
