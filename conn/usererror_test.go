package conn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// loopbackPair returns a client and a server Conn over loopback TCP; the
// server echoes until the connection ends.
func loopbackPair(t *testing.T) (client *conn.Conn, serverDone <-chan struct{}) {
	t.Helper()
	srvNC, cliNC := testnet.Loopback(t)
	srv := conn.New(raw.New(srvNC, nil, raw.Server, nil), "", nil)
	cli := conn.New(raw.New(cliNC, nil, raw.Client, nil), "", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srv.CloseNow()
		for {
			typ, p, err := srv.Read(context.Background())
			if err != nil {
				return
			}
			if srv.Write(context.Background(), typ, p) != nil {
				return
			}
		}
	}()
	return cli, done
}

// Ping racing Close or CloseNow returns nil or an error wrapping
// ErrClosed, never the socket's "use of closed network connection".
func TestPingRacingCloseReturnsErrClosed(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 30
	}
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		cli, srvDone := loopbackPair(t)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		go func() {
			for {
				if _, _, err := cli.Read(ctx); err != nil {
					return
				}
			}
		}()
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 20; k++ {
					if errs[j] = cli.Ping(ctx); errs[j] != nil {
						return
					}
				}
			}()
		}
		if i%2 == 0 {
			cli.Close(conn.StatusNormalClosure, "")
		} else {
			cli.CloseNow()
		}
		wg.Wait()
		cancel()
		<-srvDone
		for _, err := range errs {
			if err == nil {
				continue
			}
			seen[err.Error()]++
			if !errors.Is(err, conn.ErrClosed) || strings.Contains(err.Error(), "use of closed network connection") {
				t.Errorf("iteration %d: Ping racing Close returned %q (%T), want ErrClosed", i, err, err)
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("errors seen: %v", seen)
}

// testAgreed is an extension in use that owns rsv; its encoder sets
// setRSV on every message, and its decoder fails as decodeErr says.
type testAgreed struct {
	rsv, setRSV frame.RSV
	decode      func(r io.Reader) (io.ReadCloser, error)
}

func (a testAgreed) RSV() frame.RSV { return a.rsv }
func (a testAgreed) NewEncoder() extension.Encoder {
	if a.setRSV == 0 {
		return nil
	}
	return rsvSetter{a.setRSV}
}
func (a testAgreed) NewDecoder() extension.Decoder {
	if a.decode == nil {
		return nil
	}
	return testDecoder{a}
}

type rsvSetter struct{ rsv frame.RSV }

func (e rsvSetter) Encode(w io.Writer, m *extension.Message) (io.WriteCloser, error) {
	m.RSV |= e.rsv
	return passThrough{w}, nil
}

// passThrough writes the message unchanged.
type passThrough struct{ io.Writer }

func (passThrough) Close() error { return nil }

type testDecoder struct{ a testAgreed }

func (d testDecoder) Decode(r io.Reader, m *extension.Message) (io.ReadCloser, error) {
	if m.RSV&d.a.rsv == 0 {
		return nil, nil
	}
	return d.a.decode(r)
}

// serverWith returns a server Conn with the given extensions agreed, and
// a raw client peer allowed every RSV bit.
func serverWith(t *testing.T, agreed ...extension.Agreed) (*conn.Conn, *raw.Conn) {
	t.Helper()
	srvNC, cliNC := testnet.Loopback(t)
	srv := conn.NewFromResult(&handshake.Result{Conn: srvNC}, raw.Server, agreed, nil)
	t.Cleanup(func() { srv.CloseNow() })
	peer := raw.New(cliNC, nil, raw.Client, &raw.Options{AllowedRSV: frame.RSV1 | frame.RSV2 | frame.RSV3})
	t.Cleanup(func() { peer.Close() })
	return srv, peer
}

// An extension's encoder that sets a reserved bit it does not own is
// refused with an *raw.IllegalWriteError naming the bit and the encoder,
// also when another agreed extension owns that bit.
func TestExtensionSettingUnownedRSVRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		agreed []extension.Agreed
		bit    string
	}{
		{"bit nobody owns", []extension.Agreed{testAgreed{rsv: frame.RSV1, setRSV: frame.RSV2}}, "RSV2"},
		{"another extension's bit", []extension.Agreed{testAgreed{rsv: frame.RSV1}, testAgreed{rsv: frame.RSV2, setRSV: frame.RSV1}}, "RSV1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := serverWith(t, tc.agreed...)
			err := srv.Write(context.Background(), conn.MessageText, []byte("hi"))
			t.Logf("error: %v", err)
			var we *raw.IllegalWriteError
			if !errors.As(err, &we) || !errors.Is(err, raw.ErrIllegalWrite) {
				t.Fatalf("Write = %v, want an *raw.IllegalWriteError", err)
			}
			for _, want := range []string{tc.bit, "rsvSetter", "does not own"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
}

// readClose reads frames from peer until a close frame, and returns its
// code and reason.
func readClose(t *testing.T, peer *raw.Conn) (conn.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		h, err := peer.NextFrame(ctx)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		p, err := io.ReadAll(peer)
		if err != nil {
			t.Fatal(err)
		}
		if h.Opcode == frame.OpClose {
			code, reason, err := frame.ParseClose(p)
			if err != nil {
				t.Fatal(err)
			}
			return code, reason
		}
	}
}

// A decoder's error text stays local: the peer gets a generic reason with
// the close code, and the local error keeps the detail.
func TestDecoderErrorNotSentToPeer(t *testing.T) {
	const secret = "decoder state 0xdeadbeef at /srv/internal/path"
	for _, tc := range []struct {
		name   string
		decode func(r io.Reader) (io.ReadCloser, error)
		code   conn.StatusCode
	}{
		{"Decode fails", func(io.Reader) (io.ReadCloser, error) { return nil, errors.New(secret) }, conn.StatusInternalError},
		{"reader fails", func(io.Reader) (io.ReadCloser, error) {
			return io.NopCloser(iotest.ErrReader(errors.New(secret))), nil
		}, conn.StatusInvalidFramePayloadData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, peer := serverWith(t, testAgreed{rsv: frame.RSV1, decode: tc.decode})
			ctx := context.Background()
			if err := peer.WriteFrame(ctx, frame.Header{Fin: true, RSV: frame.RSV1, Opcode: frame.OpText}, []byte("x")); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				_, _, err := srv.Read(ctx)
				errc <- err
			}()
			code, reason := readClose(t, peer)
			peer.Close()
			err := <-errc
			t.Logf("peer got %d %q; local error: %v", code, reason, err)
			if code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
			if strings.Contains(reason, "0xdeadbeef") || reason == "" {
				t.Errorf("close reason %q: want a generic reason without the decoder's text", reason)
			}
			if !strings.Contains(fmt.Sprint(err), secret) || conn.CloseStatus(err) != tc.code {
				t.Errorf("local error %v: want the decoder's text and code %d", err, tc.code)
			}
		})
	}
}
