package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"testing"
)

// TestNew: a client that trusts the certificate's pool completes a TLS
// handshake with a server that serves it, at 127.0.0.1, ::1's name
// localhost and 127.0.0.1; the PEM forms parse back to the same key pair.
func TestNew(t *testing.T) {
	c, err := New("test")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(nc, "ok")
			nc.Close()
		}
	}()
	for _, name := range []string{"127.0.0.1", "localhost"} {
		nc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: c.Pool(), ServerName: name})
		if err != nil {
			t.Fatalf("as %s: %v", name, err)
		}
		b, _ := io.ReadAll(nc)
		nc.Close()
		if string(b) != "ok" {
			t.Errorf("as %s: read %q", name, b)
		}
	}
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("a client that does not trust the certificate completed the handshake")
	}
	certPEM, keyPEM, err := c.PEM()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode(certPEM); b == nil || string(b.Bytes) != string(pair.Certificate[0]) {
		t.Error("the certificate PEM does not round-trip")
	}
	if _, err := x509.ParseCertificate(pair.Certificate[0]); err != nil {
		t.Fatal(err)
	}
	if !c.Leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("addresses %v", c.Leaf.IPAddresses)
	}
}
