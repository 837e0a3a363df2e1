package conn_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// tlsPair returns both ends of a TLS connection over loopback TCP, its
// handshake done, with httptest's certificate.
func tlsPair(t *testing.T) (server, client *tls.Conn) {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := srv.TLS.Clone()
	srv.Close()
	s, c := testnet.Loopback(t)
	server = tls.Server(s, cfg)
	client = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- server.HandshakeContext(ctx) }()
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return server, client
}

// TestTLSWriteCutIsBroken: crypto/tls cannot go on after a write its
// deadline interrupted, even one that sent nothing, so a write its
// context cuts over TLS must report the connection broken rather than
// leave it open to fail every later write with "i/o timeout" (#13.8).
func TestTLSWriteCutIsBroken(t *testing.T) {
	server, client := tlsPair(t)
	defer server.Close() // the server never reads: writes to it block
	c := conn.New(raw.New(client, nil, raw.Client, nil), "", nil)
	defer c.CloseNow()
	msg := make([]byte, 1024) // one TLS record a frame: the stuck write sends nothing
	var err error
	for i := 0; i < 1<<16 && err == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err = c.Write(ctx, conn.MessageBinary, msg)
		cancel()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write to a peer that does not read = %v, want DeadlineExceeded", err)
	}
	if !errors.Is(err, raw.ErrBroken) {
		t.Errorf("cut TLS write = %v, want it to wrap raw.ErrBroken", err)
	}
	err = c.Write(context.Background(), conn.MessageBinary, msg)
	if !errors.Is(err, conn.ErrClosed) {
		t.Errorf("Write after the cut = %v, want ErrClosed", err)
	}
}
