package conn_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

func TestWritePrepared(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	data := []byte("héllo everyone")
	pm := conn.NewPreparedMessage(conn.MessageText, data)
	data[0] = 'H' // the message keeps its own copy
	if pm.Type() != conn.MessageText || string(pm.Data()) != "héllo everyone" {
		t.Fatalf("pm = %v %q", pm.Type(), pm.Data())
	}
	// Both roles: the server sends the prepared bytes, the client masks.
	go func() {
		server.WritePrepared(ctx, pm)
		client.WritePrepared(ctx, pm)
	}()
	for _, c := range []*conn.Conn{client, server} {
		typ, p, err := c.Read(ctx)
		if err != nil || typ != conn.MessageText || string(p) != "héllo everyone" {
			t.Fatalf("read %v %q %v", typ, p, err)
		}
	}
}

// A prepared message waits for a streamed message in progress: messages
// never interleave.
func TestWritePreparedAfterStream(t *testing.T) {
	client, server := pipePair()
	defer client.CloseNow()
	defer server.CloseNow()
	ctx := testCtx(t)
	pm := conn.NewPreparedMessage(conn.MessageBinary, []byte{9, 9})
	w, err := server.Writer(ctx, conn.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.WritePrepared(ctx, pm) }()
	go func() {
		w.Write(bytes.Repeat([]byte{1}, 40000)) // more than a frame
		w.Close()
	}()
	_, p, err := client.Read(ctx)
	if err != nil || len(p) != 40000 {
		t.Fatalf("first message: %d bytes, %v", len(p), err)
	}
	_, p, err = client.Read(ctx)
	if err != nil || !bytes.Equal(p, []byte{9, 9}) {
		t.Fatalf("second message: %v %v", p, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Writing a prepared message on a server connection allocates nothing.
func TestWritePreparedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	a, b := net.Pipe()
	go io.Copy(io.Discard, b)
	s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
	defer s.CloseNow()
	defer b.Close()
	pm := conn.NewPreparedMessage(conn.MessageBinary, make([]byte, 1024))
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.WritePrepared(ctx, pm); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per WritePrepared, want 0", allocs)
	}
}

// BenchmarkServerWrite compares a server writing a 1 KiB message with
// Write (framed on every call) and with WritePrepared (framed once).
func BenchmarkServerWrite(b *testing.B) {
	for _, prepared := range []bool{false, true} {
		name := "Write"
		if prepared {
			name = "WritePrepared"
		}
		b.Run(name, func(b *testing.B) {
			a, d := net.Pipe()
			go io.Copy(io.Discard, d)
			s := conn.New(raw.New(a, nil, raw.Server, nil), "", nil)
			msg := make([]byte, 1024)
			pm := conn.NewPreparedMessage(conn.MessageBinary, msg)
			benchWrites(b, s, pm, prepared)
			s.CloseNow()
			d.Close()
		})
	}
}

// countingExt wraps an extension whose encoders are
// extension.PreparedEncoders and counts their EncodePrepared calls by key.
type countingExt struct {
	extension.Extension
	n *encodeCounts
}

type encodeCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounts() *encodeCounts { return &encodeCounts{n: map[string]int{}} }

func (c *encodeCounts) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

func (x countingExt) Accept(offers []extension.Element) (extension.Element, extension.Agreed, error) {
	resp, a, err := x.Extension.Accept(offers)
	if a != nil {
		a = countingAgreed{a, x.n}
	}
	return resp, a, err
}

func (x countingExt) Confirm(resp extension.Element) (extension.Agreed, error) {
	a, err := x.Extension.Confirm(resp)
	if a != nil {
		a = countingAgreed{a, x.n}
	}
	return a, err
}

type countingAgreed struct {
	extension.Agreed
	n *encodeCounts
}

func (a countingAgreed) NewEncoder() extension.Encoder {
	return countingEncoder{a.Agreed.NewEncoder().(extension.PreparedEncoder), a.n}
}

type countingEncoder struct {
	extension.PreparedEncoder
	n *encodeCounts
}

func (e countingEncoder) EncodePrepared(dst, p []byte, m extension.Message) ([]byte, frame.RSV, error) {
	key, _ := e.PreparedKey(m)
	e.n.mu.Lock()
	e.n.n[key]++
	e.n.mu.Unlock()
	return e.PreparedEncoder.EncodePrepared(dst, p, m)
}

func countingDeflate(n *encodeCounts, o *deflate.Options) []extension.Extension {
	return []extension.Extension{countingExt{deflate.New(o), n}}
}

// acceptConns starts a server that accepts each connection with the
// options pick returns for its request and hands it to the test.
func acceptConns(t testing.TB, pick func(r *http.Request) *conn.AcceptOptions) (url string, conns <-chan *conn.Conn) {
	t.Helper()
	ch := make(chan *conn.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, pick(r))
		if err != nil {
			return
		}
		ch <- c
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), ch
}

// connPair dials url and returns both ends; dials must not overlap.
func connPair(t *testing.T, url string, conns <-chan *conn.Conn, o *conn.DialOptions) (client, server *conn.Conn) {
	t.Helper()
	client = dial(t, url, o)
	select {
	case server = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection")
	}
	t.Cleanup(func() { server.CloseNow() })
	return client, server
}

const (
	keyBits15Level1 = "permessage-deflate;bits=15;level=1"
	keyBits15Level9 = "permessage-deflate;bits=15;level=9"
	keyBits10       = "permessage-deflate;bits=10"
	keyBits9        = "permessage-deflate;bits=9"
)

func checkCounts(t *testing.T, n *encodeCounts, want map[string]int) {
	t.Helper()
	got := n.get()
	if len(got) != len(want) {
		t.Fatalf("encodings %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("encodings %v, want %v", got, want)
		}
	}
}

// Server connections with no context takeover: a prepared message is
// compressed once per distinct key (window bits, and level at 15 bits),
// however many connections share it and however they race for it; a
// connection without the extension, a message below the threshold and a
// connection with compression off get the plain frame.
func TestWritePreparedDeflateShared(t *testing.T) {
	n := newCounts()
	srvExt := map[string][]extension.Extension{
		"1": countingDeflate(n, &deflate.Options{ServerNoContextTakeover: true}),
		"9": countingDeflate(n, &deflate.Options{ServerNoContextTakeover: true, Level: 9}),
	}
	url, conns := acceptConns(t, func(r *http.Request) *conn.AcceptOptions {
		return &conn.AcceptOptions{Extensions: srvExt[r.URL.Query().Get("level")]}
	})
	type peer struct {
		level      string
		offer      *deflate.Options // nil: no extension
		compressOn bool
		agreed     string
	}
	peers := []peer{
		{"1", &deflate.Options{}, true, "permessage-deflate; server_no_context_takeover"},
		{"1", &deflate.Options{}, true, "permessage-deflate; server_no_context_takeover"},
		{"1", &deflate.Options{}, true, "permessage-deflate; server_no_context_takeover"},
		{"1", &deflate.Options{ServerMaxWindowBits: 10}, true, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"1", &deflate.Options{ServerMaxWindowBits: 10}, true, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"9", &deflate.Options{}, true, "permessage-deflate; server_no_context_takeover"},
		{"9", &deflate.Options{}, true, "permessage-deflate; server_no_context_takeover"},
		{"9", &deflate.Options{ServerMaxWindowBits: 10}, true, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"1", nil, true, ""},
		{"1", &deflate.Options{}, false, "permessage-deflate; server_no_context_takeover"},
	}
	var clients, servers []*conn.Conn
	for _, p := range peers {
		var o *conn.DialOptions
		if p.offer != nil {
			o = &conn.DialOptions{Extensions: exts(p.offer)}
		}
		c, s := connPair(t, url+"/?level="+p.level, conns, o)
		if c.Extensions() != p.agreed {
			t.Fatalf("agreed %q, want %q", c.Extensions(), p.agreed)
		}
		s.SetCompression(p.compressOn)
		clients = append(clients, c)
		servers = append(servers, s)
	}
	ctx := testCtx(t)
	msgs := []*conn.PreparedMessage{
		conn.NewPreparedMessage(conn.MessageText, jsonish(1500, 1)),
		conn.NewPreparedMessage(conn.MessageBinary, []byte("below the threshold")),
		conn.NewPreparedMessage(conn.MessageText, jsonish(70000, 2)),
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			for _, pm := range msgs {
				if err := s.WritePrepared(ctx, pm); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for i, c := range clients {
		for j, pm := range msgs {
			typ, p, err := c.Read(ctx)
			if err != nil || typ != pm.Type() || !bytes.Equal(p, pm.Data()) {
				t.Fatalf("peer %d, message %d: %v %v, %d bytes", i, j, typ, err, len(p))
			}
		}
	}
	for range servers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Two compressed messages, three keys each: bits 10 is one key
	// whatever the level, since a smaller window has no level.
	checkCounts(t, n, map[string]int{keyBits15Level1: 2, keyBits15Level9: 2, keyBits10: 2})
}

// The frames on the wire: connections with the same parameters receive
// the same bytes, which are the bytes Write sends with no context
// takeover; plain frames where nothing is compressed.
func TestWritePreparedDeflateWire(t *testing.T) {
	url, conns := acceptConns(t, func(r *http.Request) *conn.AcceptOptions {
		return &conn.AcceptOptions{Extensions: exts(nil)}
	})
	accept := func(offer string) (*raw.Conn, *conn.Conn) {
		rc := deflatePeer(t, url, offer)
		s := <-conns
		t.Cleanup(func() { s.CloseNow() })
		return rc, s
	}
	r1, s1 := accept("permessage-deflate; server_no_context_takeover")
	r2, s2 := accept("permessage-deflate; server_no_context_takeover")
	r3, s3 := accept("permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
	r4, s4 := accept("permessage-deflate; server_no_context_takeover")
	s4.SetCompression(false)
	ctx := testCtx(t)
	data := jsonish(2000, 3)
	pm := conn.NewPreparedMessage(conn.MessageText, data)
	small := conn.NewPreparedMessage(conn.MessageText, []byte("small"))
	go func() {
		for _, s := range []*conn.Conn{s1, s2, s3, s4} {
			s.WritePrepared(ctx, pm)
			s.WritePrepared(ctx, small)
		}
		s1.Write(ctx, conn.MessageText, data)
	}()
	var wire [][]byte
	for i, rc := range []*raw.Conn{r1, r2, r3, r4} {
		h, p := readFrame(t, rc)
		want := frame.RSV1
		got := p
		if i == 3 {
			want = 0
		} else {
			got = inflate(t, nil, p)
		}
		if h.RSV != want || !h.Fin || h.Opcode != frame.OpText || !bytes.Equal(got, data) {
			t.Fatalf("peer %d: %+v, %d bytes", i, h, len(p))
		}
		wire = append(wire, p)
		if h, p := readFrame(t, rc); h.RSV != 0 || string(p) != "small" {
			t.Fatalf("peer %d, small message: %+v %q", i, h, p)
		}
	}
	if !bytes.Equal(wire[0], wire[1]) {
		t.Fatal("connections with the same parameters got different bytes")
	}
	if _, p := readFrame(t, r1); !bytes.Equal(p, wire[0]) {
		t.Fatal("WritePrepared and Write sent different bytes")
	}
}

// Connections with context takeover share the compressed frame too: it
// refers to no earlier message, and each connection adds the message to
// its send window as its peer adds it to its receive window. Normal
// writes around the prepared ones compress against that window, so a
// window out of step with the peer's would corrupt them. Both roles: the
// server writes to clients, and clients (masking every frame) write to an
// echo server.
func TestWritePreparedDeflateTakeover(t *testing.T) {
	n := newCounts()
	cn := newCounts()
	url, conns := acceptConns(t, func(r *http.Request) *conn.AcceptOptions {
		return &conn.AcceptOptions{Extensions: countingDeflate(n, nil)}
	})
	offers := []*deflate.Options{{}, {}, {ServerMaxWindowBits: 9}, {ServerMaxWindowBits: 9, ContextSize: 100}, {ServerMaxWindowBits: 10}}
	var clients, servers []*conn.Conn
	for _, o := range offers {
		c, s := connPair(t, url, conns, &conn.DialOptions{Extensions: countingDeflate(cn, o)})
		clients = append(clients, c)
		servers = append(servers, s)
	}
	ctx := testCtx(t)
	// Each message repeats most of the one before, so that compression
	// with context takeover refers back to it.
	var seq [][]byte
	prev := jsonish(3000, 4)
	for i := range 8 {
		next := append([]byte(nil), prev...)
		next[i*10] = 'X'
		next = append(next, jsonish(200, 100+i)...)
		seq = append(seq, next)
		prev = next
	}
	seq = append(seq, []byte("tiny"), seq[0])
	var prepared []*conn.PreparedMessage
	prepare := func() {
		prepared = make([]*conn.PreparedMessage, len(seq))
		for i, p := range seq {
			if i%2 == 1 || i == len(seq)-2 {
				prepared[i] = conn.NewPreparedMessage(conn.MessageText, p)
			}
		}
	}
	prepare()
	send := func(c *conn.Conn) error {
		for i, p := range seq {
			var err error
			if pm := prepared[i]; pm != nil {
				err = c.WritePrepared(ctx, pm)
			} else {
				err = c.Write(ctx, conn.MessageText, p)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	check := func(who string, c *conn.Conn) {
		t.Helper()
		for i, want := range seq {
			_, p, err := c.Read(ctx)
			if err != nil || !bytes.Equal(p, want) {
				t.Fatalf("%s, message %d: %v, %d bytes", who, i, err, len(p))
			}
		}
	}

	// Server to clients.
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- send(s) }()
	}
	for i, c := range clients {
		check("client "+string(rune('0'+i)), c)
	}
	for range servers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Five compressed prepared messages, three keys (bits 15, 10 and 9).
	checkCounts(t, n, map[string]int{keyBits15Level1: 5, keyBits10: 5, keyBits9: 5})

	// Clients to servers, which echo what they decoded. The messages are
	// prepared again: a client compressing with 15 bits at level 1 would
	// otherwise reuse the servers' compression of them.
	prepare()
	for i, s := range servers {
		go func() {
			err := send(clients[i])
			for range seq {
				typ, p, rerr := s.Read(ctx)
				if rerr != nil {
					err = rerr
					break
				}
				if werr := s.Write(ctx, typ, p); werr != nil {
					err = werr
					break
				}
			}
			errc <- err
		}()
	}
	for i, c := range clients {
		check("echo "+string(rune('0'+i)), c)
	}
	for range servers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// The clients all compress with 15 bits: one key.
	checkCounts(t, cn, map[string]int{keyBits15Level1: 5})
}

// Writing a prepared message compressed by another connection allocates
// nothing, with or without context takeover.
func TestWritePreparedDeflateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	url, conns := acceptConns(t, func(r *http.Request) *conn.AcceptOptions {
		return &conn.AcceptOptions{Extensions: exts(nil)}
	})
	pm := conn.NewPreparedMessage(conn.MessageText, jsonish(1024, 5))
	ctx := context.Background()
	for _, offer := range []string{"permessage-deflate; server_no_context_takeover", "permessage-deflate"} {
		rc := deflatePeer(t, url, offer)
		s := <-conns
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, rc.NetConn())
			close(drained)
		}()
		allocs := testing.AllocsPerRun(100, func() {
			if err := s.WritePrepared(ctx, pm); err != nil {
				t.Fatal(err)
			}
		})
		s.CloseNow()
		<-drained
		if allocs != 0 {
			t.Fatalf("%s: %v allocations per WritePrepared, want 0", offer, allocs)
		}
	}
}

// BenchmarkServerWriteDeflate is BenchmarkServerWrite with
// permessage-deflate and no context takeover, over loopback TCP: Write
// compresses every time, WritePrepared reuses the compression of the
// first write.
func BenchmarkServerWriteDeflate(b *testing.B) {
	for _, prepared := range []bool{false, true} {
		name := "Write"
		if prepared {
			name = "WritePrepared"
		}
		b.Run(name, func(b *testing.B) {
			url, conns := acceptConns(b, func(r *http.Request) *conn.AcceptOptions {
				return &conn.AcceptOptions{Extensions: exts(nil)}
			})
			d := handshake.Dialer{
				Extensions:      []string{"permessage-deflate; server_no_context_takeover"},
				CheckExtensions: func(string) error { return nil },
			}
			res, _, err := d.Dial(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			drained := make(chan struct{})
			go func() {
				io.Copy(io.Discard, res.Conn)
				close(drained)
			}()
			s := <-conns
			msg := jsonish(1024, 6)
			pm := conn.NewPreparedMessage(conn.MessageText, msg)
			benchWrites(b, s, pm, prepared)
			s.CloseNow()
			res.Conn.Close()
			<-drained
		})
	}
}

// benchWrites is the timed loop of the prepared-message benchmarks: pm
// written with WritePrepared, or its payload with Write.
func benchWrites(b *testing.B, s *conn.Conn, pm *conn.PreparedMessage, prepared bool) {
	ctx := context.Background()
	b.SetBytes(int64(len(pm.Data())))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if prepared {
			err = s.WritePrepared(ctx, pm)
		} else {
			err = s.Write(ctx, pm.Type(), pm.Data())
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
