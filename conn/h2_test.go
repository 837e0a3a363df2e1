package conn_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
)

// h2Server is an HTTPS server whose handler accepts WebSockets over HTTP/1.1
// and HTTP/2 and hands each to serve in the handler's goroutine, as HTTP/2
// requires; ended receives what serve returned.
type h2Server struct {
	*testnet.TLSServer
	ended chan error
}

func newH2Server(t *testing.T, o *conn.AcceptOptions, serve func(ctx context.Context, r *http.Request, c *conn.Conn) error) *h2Server {
	s := &h2Server{ended: make(chan error, 100)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, o)
		if err != nil {
			s.ended <- err
			return
		}
		defer c.CloseNow()
		s.ended <- serve(r.Context(), r, c)
	})
	s.TLSServer = testnet.NewTLSServer(t, h, func(hs *http.Server) {
		hs.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 2000}
	})
	return s
}

// wait returns what the next serve returned.
func (s *h2Server) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.ended:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
		return nil
	}
}

// echo serves by echoing messages until the connection ends.
func echo(ctx context.Context, r *http.Request, c *conn.Conn) error {
	if r.ProtoMajor != 2 {
		return errors.New("not HTTP/2: " + r.Proto)
	}
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return err
		}
	}
}

func (s *h2Server) dialOptions(mode handshake.HTTP2Mode) *conn.DialOptions {
	return &conn.DialOptions{Dialer: handshake.Dialer{
		TLSConfig: s.ClientTLS(),
		HTTP2:     mode,
		Proxy:     func(*http.Request) (*url.URL, error) { return nil, nil },
	}}
}

// TestHTTP2 runs WebSockets over HTTP/2 (RFC 8441) between hybi's server
// and client, on net/http's HTTP/2 over loopback TLS.
func TestHTTP2(t *testing.T) {
	if !testnet.ExtendedConnect(t) {
		return
	}
	t.Run("Echo", testH2Echo)
}

func testH2Echo(t *testing.T) {
	s := newH2Server(t, nil, echo)
	ctx := context.Background()
	c, resp, err := conn.Dial(ctx, s.WSURL("/"), s.dialOptions(handshake.HTTP2Always))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Errorf("response %s %s, want HTTP/2.0 200", resp.Proto, resp.Status)
	}
	for _, n := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
		for _, typ := range []conn.MessageType{conn.MessageText, conn.MessageBinary} {
			p := bytes.Repeat([]byte("a"), n)
			if err := c.Write(ctx, typ, p); err != nil {
				t.Fatalf("write %v %d: %v", typ, n, err)
			}
			gtyp, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read %v %d: %v", typ, n, err)
			}
			if gtyp != typ || !bytes.Equal(got, p) {
				t.Fatalf("echo of %v %d bytes: got %v %d bytes", typ, n, gtyp, len(got))
			}
		}
	}
	if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
		t.Errorf("Close: %v", err)
	}
	if code := conn.CloseStatus(s.wait(t)); code != conn.StatusNormalClosure {
		t.Errorf("server ended with %v, want 1000", code)
	}
}

var _ = strings.Contains
var _ = extension.Offers
var _ = deflate.New
