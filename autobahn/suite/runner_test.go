package suite

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestCommandEndpointsWire pins what a client testee sees on the command
// connections, byte for byte: the real suite's fuzzing server
// (autobahntestsuite's FuzzingProtocol.onOpen) sends the case count as a
// text message and then sendClose() with no arguments, a close frame with
// an empty payload; /updateReports sends only that close frame. A runner
// that closed with 1000 instead let a testee pass here that stops at the
// real suite's first request.
func TestCommandEndpointsWire(t *testing.T) {
	srv := &Server{Cases: Select(Catalogue(), []string{"1.1.1", "1.1.2", "2.1"}, nil)}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	base := "ws" + strings.TrimPrefix(hs.URL, "http")

	type frame struct {
		fin     bool
		op      byte
		masked  bool
		payload string
	}
	// run dials path, reads every frame up to and including the close
	// frame, answers it (masked, as a client), and checks that the server
	// then drops TCP.
	run := func(t *testing.T, path string) []frame {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := dial(ctx, base+path, "")
		if err != nil {
			t.Fatal(err)
		}
		defer d.nc.Close()
		d.nc.SetDeadline(time.Now().Add(10 * time.Second))
		var got []frame
		for {
			h, err := readHeader(d.br)
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			p := make([]byte, h.length)
			if _, err := io.ReadFull(d.br, p); err != nil {
				t.Fatal(err)
			}
			got = append(got, frame{h.fin, h.op, h.masked, string(p)})
			if h.op == opClose {
				break
			}
		}
		reply := appendHeader(nil, header{fin: true, op: opClose, masked: true, key: [4]byte{1, 2, 3, 4}})
		if _, err := d.nc.Write(reply); err != nil {
			t.Fatal(err)
		}
		if n, err := d.br.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after the closing handshake: read %d bytes, %v; want the server to drop TCP (EOF)", n, err)
		}
		return got
	}

	t.Run("getCaseCount", func(t *testing.T) {
		got := run(t, "/getCaseCount")
		want := []frame{{true, opText, false, "3"}, {true, opClose, false, ""}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("frames %+v, want %+v", got, want)
		}
	})
	t.Run("updateReports", func(t *testing.T) {
		var asked string
		srv.OnUpdateReports = func(agent string) { asked = agent }
		got := run(t, "/updateReports?agent=me")
		want := []frame{{true, opClose, false, ""}}
		if len(got) != 1 || got[0] != want[0] {
			t.Errorf("frames %+v, want %+v", got, want)
		}
		if asked != "me" {
			t.Errorf("OnUpdateReports got agent %q, want %q", asked, "me")
		}
	})
	t.Run("updateReports without agent", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if d, err := dial(ctx, base+"/updateReports", ""); err == nil {
			d.nc.Close()
			t.Fatal("the handshake succeeded; the real suite refuses /updateReports without an agent")
		}
	})
}
