package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
	"github.com/hybi-go/hybi/raw"
)

// recorder is a net.Conn that keeps a copy of every byte read and written.
type recorder struct {
	net.Conn
	mu          sync.Mutex
	read, wrote bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.read.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	r.mu.Lock()
	r.wrote.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// dataPayload parses the frames that follow the HTTP head in stream and
// returns the payload bytes of its data frames: the oracle for the wire
// counts, independent of the code that counts them.
func dataPayload(t *testing.T, stream []byte) int64 {
	t.Helper()
	i := bytes.Index(stream, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("no HTTP head in the recorded stream")
	}
	br := bufio.NewReader(bytes.NewReader(stream[i+4:]))
	var buf [frame.MaxHeaderSize]byte
	var total int64
	for {
		h, err := frame.ReadHeader(br, &buf)
		if err == io.EOF {
			return total
		}
		if err != nil {
			t.Fatalf("parsing the recorded frames: %v", err)
		}
		if h.Opcode.IsData() {
			total += h.Length
		}
		if _, err := br.Discard(int(h.Length)); err != nil {
			t.Fatalf("recorded frame cut short: %v", err)
		}
	}
}

// observedPair dials a server that accepts with ao; both ends get obs
// (a *conn.Counters, or any Observer) and the client's bytes are
// recorded.
func observedPair(t *testing.T, obs conn.Observer, exts func() []extension.Extension) (client, server *conn.Conn, rec *recorder) {
	t.Helper()
	ch := make(chan *conn.Conn, 1)
	ao := &conn.AcceptOptions{Options: conn.Options{Observer: obs}}
	do := &conn.DialOptions{Options: conn.Options{Observer: obs}}
	if exts != nil {
		ao.Extensions, do.Extensions = exts(), exts()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}))
	t.Cleanup(srv.Close)
	do.Dialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rec = &recorder{Conn: nc}
		return rec, nil
	}
	c, _, err := conn.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), do)
	if err != nil {
		t.Fatal(err)
	}
	s := <-ch
	t.Cleanup(func() { c.CloseNow(); s.CloseNow() })
	return c, s, rec
}

// TestObserverCountsBytesExactly sends messages of every kind of write,
// compressible and not, through permessage-deflate each way, and checks
// the counts against the frames recorded on the wire and the sizes
// written.
func TestObserverCountsBytesExactly(t *testing.T) {
	var counters conn.Counters
	c, s, rec := observedPair(t, &counters, func() []extension.Extension { return []extension.Extension{deflate.New(nil)} })
	if c.Extensions() == "" {
		t.Fatal("permessage-deflate was not agreed")
	}
	ctx := context.Background()
	random := make([]byte, 4000)
	rand.Read(random)
	text := []byte(strings.Repeat("compressible text ", 600))
	pm := conn.NewPreparedMessage(conn.MessageText, text)
	small := []byte("short") // below the threshold: not compressed

	// write sends the five messages with w's every kind of write and
	// returns their total size.
	write := func(w *conn.Conn) (int64, error) {
		total := int64(0)
		for _, m := range [][]byte{text, random, small} {
			typ := conn.MessageText
			if &m[0] == &random[0] {
				typ = conn.MessageBinary
			}
			if err := w.Write(ctx, typ, m); err != nil {
				return 0, err
			}
			total += int64(len(m))
		}
		wr, err := w.Writer(ctx, conn.MessageText)
		if err != nil {
			return 0, err
		}
		for range 3 {
			if _, err := wr.Write(text); err != nil {
				return 0, err
			}
			total += int64(len(text))
		}
		if err := wr.Close(); err != nil {
			return 0, err
		}
		if err := w.WritePrepared(ctx, pm); err != nil {
			return 0, err
		}
		return total + int64(len(text)), nil
	}
	readN := func(r *conn.Conn, n int) (int64, error) {
		total := int64(0)
		for range n {
			_, p, err := r.Read(ctx)
			if err != nil {
				return 0, err
			}
			total += int64(len(p))
		}
		return total, nil
	}
	var sent int64 // each way
	for _, dir := range []struct {
		name     string
		from, to *conn.Conn
	}{{"client to server", c, s}, {"server to client", s, c}} {
		errc := make(chan error, 1)
		var got int64
		go func() {
			var err error
			got, err = readN(dir.to, 5)
			errc <- err
		}()
		var err error
		sent, err = write(dir.from)
		if err != nil {
			t.Fatal(dir.name, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(dir.name, err)
		}
		if got != sent {
			t.Fatalf("%s: read %d bytes, wrote %d", dir.name, got, sent)
		}
	}
	rec.mu.Lock()
	clientWire, serverWire := dataPayload(t, rec.wrote.Bytes()), dataPayload(t, rec.read.Bytes())
	rec.mu.Unlock()

	cs, ss := c.Stats(), s.Stats()
	if want := int64(5*len(text) + len(random) + len(small)); sent != want {
		t.Fatalf("wrote %d bytes, want %d", sent, want)
	}
	want := conn.Stats{
		MessagesIn: 5, MessagesOut: 5,
		BytesIn: sent, BytesOut: sent,
		WireBytesIn: serverWire, WireBytesOut: clientWire,
	}
	if cs != want {
		t.Errorf("client stats %+v\nwant %+v", cs, want)
	}
	want.WireBytesIn, want.WireBytesOut = clientWire, serverWire
	if ss != want {
		t.Errorf("server stats %+v\nwant %+v", ss, want)
	}
	if clientWire >= sent || serverWire >= sent {
		t.Errorf("wire bytes %d and %d not below the %d written: nothing was compressed?", clientWire, serverWire, sent)
	}
	tot := counters.Totals()
	if tot.Opened != 2 || tot.MessagesIn != 10 || tot.MessagesOut != 10 ||
		tot.BytesIn != 2*sent || tot.BytesOut != 2*sent ||
		tot.WireBytesIn != clientWire+serverWire || tot.WireBytesOut != clientWire+serverWire {
		t.Errorf("totals %+v", tot)
	}
}

// closeLog records the Closed events of the connections it observes.
type closeLog struct {
	conn.NopObserver
	mu     sync.Mutex
	events map[*conn.Conn][]conn.CloseEvent
}

func (l *closeLog) Closed(c *conn.Conn, e conn.CloseEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.events == nil {
		l.events = make(map[*conn.Conn][]conn.CloseEvent)
	}
	l.events[c] = append(l.events[c], e)
}

func (l *closeLog) of(t *testing.T, c *conn.Conn) conn.CloseEvent {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.events[c]); n != 1 {
		t.Fatalf("%d Closed events for one connection, want 1", n)
	}
	return l.events[c][0]
}

// TestObserverCloseCodes checks the codes recorded for closes started by
// either side, for a protocol error and for CloseNow.
func TestObserverCloseCodes(t *testing.T) {
	ctx := context.Background()
	readUntilErr := func(c *conn.Conn) chan error {
		errc := make(chan error, 1)
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
		return errc
	}
	type codes struct{ recv, sent conn.StatusCode }
	for _, tc := range []struct {
		name           string
		close          func(c, s *conn.Conn)
		client, server codes
	}{
		{"client closes", func(c, s *conn.Conn) { c.Close(4001, "bye") }, codes{4001, 4001}, codes{4001, 4001}},
		{"server closes", func(c, s *conn.Conn) { s.Close(conn.StatusGoingAway, "") }, codes{1001, 1001}, codes{1001, 1001}},
		{"no status", func(c, s *conn.Conn) { c.Close(conn.StatusNoStatusRcvd, "") }, codes{1005, 1005}, codes{1005, 1005}},
		{"client CloseNow", func(c, s *conn.Conn) { c.CloseNow() }, codes{1006, 0}, codes{1006, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log closeLog
			c, s, _ := observedPair(t, &log, nil)
			cerr, serr := readUntilErr(c), readUntilErr(s)
			tc.close(c, s)
			<-cerr
			<-serr
			for _, side := range []struct {
				name string
				c    *conn.Conn
				want codes
			}{{"client", c, tc.client}, {"server", s, tc.server}} {
				e := log.of(t, side.c)
				if e.Received != side.want.recv || e.Sent != side.want.sent || e.Err == nil {
					t.Errorf("%s: Received %d, Sent %d, Err %v; want %d, %d and an error", side.name, e.Received, e.Sent, e.Err, side.want.recv, side.want.sent)
				}
			}
		})
	}
	t.Run("protocol error", func(t *testing.T) {
		var log closeLog
		a, b := net.Pipe()
		s := conn.New(raw.New(b, nil, raw.Server, nil), "", &conn.Options{Observer: &log, CloseTimeout: 50 * time.Millisecond})
		errc := readUntilErr(s)
		// A client frame without a mask breaks RFC 6455, Section 5.1.
		go a.Write([]byte{0x81, 0x01, 'x'})
		go io.Copy(io.Discard, a)
		err := <-errc
		a.Close()
		e := log.of(t, s)
		if e.Sent != conn.StatusProtocolError || e.Received != conn.StatusAbnormalClosure || conn.CloseStatus(e.Err) != conn.CloseStatus(err) {
			t.Errorf("Received %d, Sent %d, Err %v; want 1006, 1002 and the reader's %v", e.Received, e.Sent, e.Err, err)
		}
	})
}

// strictObserver fails the test when a connection's events break the
// promised order: Opened first, Closed once and last, never two at once.
type strictObserver struct {
	t     *testing.T
	mu    sync.Mutex
	state map[*conn.Conn]*connState
}

type connState struct {
	busy           bool
	opened, closed bool
	events         int
}

func (o *strictObserver) enter(c *conn.Conn, what string) *connState {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.state == nil {
		o.state = make(map[*conn.Conn]*connState)
	}
	st := o.state[c]
	if st == nil {
		st = new(connState)
		o.state[c] = st
	}
	switch {
	case st.busy:
		o.t.Errorf("%s while another event of the same connection is delivered", what)
	case st.closed:
		o.t.Errorf("%s after Closed", what)
	case !st.opened && what != "Opened":
		o.t.Errorf("%s before Opened", what)
	}
	st.busy = true
	st.events++
	return st
}

func (o *strictObserver) leave(st *connState) {
	o.mu.Lock()
	st.busy = false
	o.mu.Unlock()
}

func (o *strictObserver) Opened(c *conn.Conn) {
	st := o.enter(c, "Opened")
	st.opened = true
	o.leave(st)
}

func (o *strictObserver) Message(c *conn.Conn, e conn.MessageEvent) {
	st := o.enter(c, "Message")
	time.Sleep(10 * time.Microsecond) // widen the window for overlap
	o.leave(st)
}

func (o *strictObserver) PingRTT(c *conn.Conn, rtt time.Duration) {
	if rtt <= 0 {
		o.t.Errorf("PingRTT %v", rtt)
	}
	o.leave(o.enter(c, "PingRTT"))
}

func (o *strictObserver) SendQueue(c *conn.Conn, depth int) { o.leave(o.enter(c, "SendQueue")) }

func (o *strictObserver) Closed(c *conn.Conn, e conn.CloseEvent) {
	st := o.enter(c, "Closed")
	st.closed = true
	o.leave(st)
}

// TestObserverNothingAfterClosed runs writers, a reader, pings and the
// keepalive on each end while CloseNow ends the connection in the middle,
// and checks that one connection's events never overlap and none follows
// Closed.
func TestObserverNothingAfterClosed(t *testing.T) {
	obs := &strictObserver{t: t}
	for range 10 {
		ch := make(chan *conn.Conn, 1)
		o := conn.Options{Observer: obs, PingInterval: time.Millisecond, PongTimeout: time.Second}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := conn.Accept(w, r, &conn.AcceptOptions{Options: o})
			if err == nil {
				ch <- c
			}
		}))
		c, _, err := conn.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), &conn.DialOptions{Options: o})
		if err != nil {
			t.Fatal(err)
		}
		s := <-ch
		ctx := context.Background()
		var wg sync.WaitGroup
		for _, x := range []*conn.Conn{c, s} {
			wg.Add(4)
			go func() {
				defer wg.Done()
				for {
					if _, _, err := x.Read(ctx); err != nil {
						return
					}
				}
			}()
			for range 2 {
				go func() {
					defer wg.Done()
					for x.Write(ctx, conn.MessageText, []byte("hello")) == nil {
					}
				}()
			}
			go func() {
				defer wg.Done()
				for x.Ping(ctx) == nil {
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		c.CloseNow()
		s.CloseNow()
		wg.Wait()
		srv.Close()
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.state) != 20 {
		t.Fatalf("%d connections observed, want 20", len(obs.state))
	}
	for _, st := range obs.state {
		if !st.opened || !st.closed || st.events < 3 {
			t.Errorf("a connection saw %d events (opened %v, closed %v)", st.events, st.opened, st.closed)
		}
	}
}

// TestObserverConcurrentTotals runs connections at once, all counted by
// one Counters, and checks the totals are exact.
func TestObserverConcurrentTotals(t *testing.T) {
	const conns, msgs = 16, 50
	var counters conn.Counters
	o := conn.Options{Observer: &counters}
	srv := httptest.NewServer(conn.Handler(&conn.AcceptOptions{Options: o}, echoServe))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			c, _, err := conn.Dial(ctx, url, &conn.DialOptions{Options: o})
			if err != nil {
				t.Error(err)
				return
			}
			msg := []byte(fmt.Sprintf("message from %02d", i))
			for range msgs {
				if err := c.Write(ctx, conn.MessageText, msg); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					t.Error(err)
					return
				}
			}
			if err := c.Close(conn.StatusNormalClosure, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The server side's Closed is reported by its reader, which may
	// still be returning.
	deadline := time.Now().Add(5 * time.Second)
	for counters.Totals().Closed < 2*conns && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	tot := counters.Totals()
	n := int64(conns * msgs)
	size := int64(len("message from 00"))
	if tot.Opened != 2*conns || tot.Closed != 2*conns || tot.Active != 0 ||
		tot.MessagesIn != 2*n || tot.MessagesOut != 2*n ||
		tot.BytesIn != 2*n*size || tot.BytesOut != 2*n*size ||
		tot.WireBytesIn != tot.BytesIn || tot.WireBytesOut != tot.BytesOut ||
		tot.Closes[conn.StatusNormalClosure] != 2*conns || len(tot.Closes) != 1 {
		t.Errorf("totals %+v", tot)
	}
}

// panicky panics in Message while armed.
type panicky struct {
	conn.NopObserver
	armed bool
	delay time.Duration
}

func (p *panicky) Message(*conn.Conn, conn.MessageEvent) {
	if p.armed {
		panic("observer")
	}
	time.Sleep(p.delay)
}

// TestObserverPanicAndSlowHook pins what the Observer documentation says
// of a hook that panics (the call that reported the event panics, and the
// connection's locks are released) and of a slow one (it delays that
// call).
func TestObserverPanicAndSlowHook(t *testing.T) {
	obs := &panicky{armed: true}
	a, b := net.Pipe()
	c := conn.New(raw.New(a, nil, raw.Client, nil), "", &conn.Options{Observer: obs})
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer c.CloseNow()
	defer s.CloseNow()
	go echoLoop(s, make([]byte, 64))
	ctx := context.Background()
	func() {
		defer func() {
			if r := recover(); r != "observer" {
				t.Errorf("Write recovered %v, want the observer's panic", r)
			}
		}()
		c.Write(ctx, conn.MessageText, []byte("one"))
		t.Error("Write returned although its observer panicked")
	}()
	obs.armed = false
	obs.delay = 50 * time.Millisecond
	// net.Pipe holds each write until it is read: read the echoes
	// meanwhile.
	echoes := make(chan string, 2)
	go func() {
		for range 2 {
			_, p, err := c.Read(ctx)
			if err != nil {
				echoes <- err.Error()
				return
			}
			echoes <- string(p)
		}
	}()
	start := time.Now()
	// The message lock and the event lock were released by the panic:
	// this Write and the Read of the first echo go through.
	if err := c.Write(ctx, conn.MessageText, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < obs.delay {
		t.Errorf("Write returned after %v, before its slow hook (%v) did", d, obs.delay)
	}
	for _, want := range []string{"one", "two"} {
		if got := <-echoes; got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	if st := c.Stats(); st.MessagesOut != 2 || st.MessagesIn != 2 {
		t.Errorf("stats %+v, want 2 messages each way", st)
	}
}

// rttLog records round trips.
type rttLog struct {
	conn.NopObserver
	mu   sync.Mutex
	rtts []time.Duration
}

func (l *rttLog) PingRTT(_ *conn.Conn, rtt time.Duration) {
	l.mu.Lock()
	l.rtts = append(l.rtts, rtt)
	l.mu.Unlock()
}

// TestPingPayloadPongHookRTT checks the keepalive's custom payload, the
// pong hook and the round-trip time, and PingWith.
func TestPingPayloadPongHookRTT(t *testing.T) {
	var mu sync.Mutex
	var pongs []string
	var obs rttLog
	a, b := net.Pipe()
	c := conn.New(raw.New(a, nil, raw.Client, nil), "", &conn.Options{
		PingInterval: 5 * time.Millisecond,
		PongTimeout:  time.Second,
		PingPayload:  []byte("are you there?"),
		OnPong: func(p []byte) {
			mu.Lock()
			pongs = append(pongs, string(p))
			mu.Unlock()
		},
		Observer: &obs,
	})
	s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
	defer c.CloseNow()
	defer s.CloseNow()
	ctx := context.Background()
	go s.Read(ctx) // answers pings until the end
	go c.Read(ctx) // sees the pongs
	if c.RTT() != 0 {
		t.Fatal("RTT before any ping")
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.RTT() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c.RTT() <= 0 {
		t.Fatal("no round trip measured by the keepalive")
	}
	if err := c.PingWith(ctx, []byte("custom")); err != nil {
		t.Fatal(err)
	}
	// Two pings with the same payload both get their pong.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.PingWith(ctx, []byte("twice")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := c.PingWith(ctx, make([]byte, 126)); !errors.Is(err, conn.ErrPingPayload) {
		t.Errorf("PingWith of 126 bytes: %v, want ErrPingPayload", err)
	}
	mu.Lock()
	got := strings.Join(pongs, ",")
	mu.Unlock()
	if !strings.HasPrefix(got, "are you there?") || !strings.Contains(got, "custom") || strings.Count(got, "twice") != 2 {
		t.Errorf("pong hook saw %q", got)
	}
	obs.mu.Lock()
	n := len(obs.rtts)
	obs.mu.Unlock()
	if n < 4 {
		t.Errorf("%d round trips observed, want the keepalive's and 3 PingWith's", n)
	}
}

// BenchmarkEchoObserver is BenchmarkEchoPipe without an observer and
// with Counters on both ends: what observing costs per round trip (two
// messages written, two read, each reported).
func BenchmarkEchoObserver(b *testing.B) {
	for _, n := range []int{16, 1 << 10} {
		for _, mode := range []string{"none", "counters"} {
			b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
				var o conn.Options
				if mode == "counters" {
					o.Observer = new(conn.Counters)
				}
				c, s := pipePairWith(&o)
				go echoLoop(s, make([]byte, n))
				roundTrips(b, c, s, conn.MessageBinary, [][]byte{make([]byte, n)})
			})
		}
	}
}

// TestObservedSteadyStateAllocs is TestSteadyStateAllocs with an
// observer on both ends: reporting events allocates nothing either.
func TestObservedSteadyStateAllocs(t *testing.T) {
	allocs, c := echoAllocs(t, &conn.Options{Observer: new(conn.Counters)})
	if allocs != 0 {
		t.Fatalf("%v allocations per observed echo, want 0", allocs)
	}
	// AllocsPerRun runs the function once more than asked, to warm up.
	if st := c.Stats(); st.MessagesOut != 201 || st.MessagesIn != 201 || st.BytesIn != 201*1024 {
		t.Errorf("client stats %+v after 201 echoes", st)
	}
}
