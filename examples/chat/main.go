// Command chat is a chat room in the browser: every message a member sends
// is broadcast to the whole room, with notices when members join and
// leave.
//
//	go run ./examples/chat              # serve http://127.0.0.1:8080/
//	go run ./examples/chat -addr :9000  # elsewhere
//
// Open the page in several browser tabs (add ?name=alice to choose a
// name). The server is built on package hub: each broadcast is encoded and
// framed once, then queued for every member, whose own writer goroutine
// sends it; a member too slow to keep up is disconnected with 1008 rather
// than slowing the room. On SIGINT or SIGTERM every member is closed with
// 1001 (going away) through a conn.Tracker.
//
// The protocol is JSON in text messages. A page sends {"text": "..."}; the
// server sends events {"kind": "welcome"|"join"|"leave"|"msg", "name":
// "...", "text": "...", "count": members}.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/conn/wsjson"
)

//go:embed index.html
var indexHTML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args and serves until ctx is
// done, then shuts down, and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "serve on this `host:port`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(stderr, "chat: ", log.LstdFlags)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("serving http://%s/", ln.Addr())
	if err := serve(ctx, ln, newRoom(logger)); err != nil {
		logger.Print(err)
		return 1
	}
	return 0
}

// serve serves rm on ln until ctx is done, then shuts down: HTTP first,
// then every WebSocket with 1001, waiting for the room's handlers.
func serve(ctx context.Context, ln net.Listener, rm *room) error {
	srv := &http.Server{
		Handler:           rm,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The members first: http.Server.Shutdown does not close WebSockets.
	err := rm.shutdown(sctx)
	err = errors.Join(err, srv.Shutdown(sctx))
	<-errc
	return err
}

// room is the chat server: the page on /, members on /ws.
type room struct {
	mux     *http.ServeMux
	hub     *hub.Hub
	tracker conn.Tracker
	logger  *log.Logger
	guests  atomic.Int64
	members sync.WaitGroup // running WebSocket handlers
	names   sync.Map       // *conn.Conn to its member's name
}

func newRoom(logger *log.Logger) *room {
	rm := &room{mux: http.NewServeMux(), logger: logger}
	// The hub tells of joins and leaves, one at a time and with the
	// count right after, however many members come and go at once.
	rm.hub = hub.New(&hub.Options{OnJoin: rm.joined, OnLeave: rm.left})
	rm.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	rm.mux.HandleFunc("GET /ws", rm.join)
	return rm
}

func (rm *room) ServeHTTP(w http.ResponseWriter, r *http.Request) { rm.mux.ServeHTTP(w, r) }

// shutdown closes every member with 1001 and waits for their handlers.
func (rm *room) shutdown(ctx context.Context) error {
	err := rm.tracker.Shutdown(ctx)
	rm.members.Wait()
	return err
}

// event is what the server sends.
type event struct {
	Kind  string `json:"kind"` // welcome, join, leave, msg
	Name  string `json:"name"`
	Text  string `json:"text,omitempty"`
	Count int    `json:"count,omitempty"` // members, on welcome, join and leave
}

// post is what a page sends.
type post struct {
	Text string `json:"text"`
}

const maxText = 1000 // runes in one chat message

// broadcast encodes ev once and queues it for every member.
func (rm *room) broadcast(ev event) {
	if err := wsjson.Broadcast(rm.hub, ev); err != nil {
		rm.logger.Print(err)
	}
}

// joined welcomes a new member and tells the room.
func (rm *room) joined(m *hub.Member, count int) {
	name, _ := rm.names.Load(m.Conn())
	if welcome, err := wsjson.Prepare(event{Kind: "welcome", Name: name.(string), Count: count}); err == nil {
		m.Send(welcome)
	}
	rm.broadcast(event{Kind: "join", Name: name.(string), Count: count})
}

// left tells the room a member left: its handler removed it, or the hub
// did, for a failed write or being too slow.
func (rm *room) left(m *hub.Member, count int) {
	name, _ := rm.names.LoadAndDelete(m.Conn())
	rm.broadcast(event{Kind: "leave", Name: name.(string), Count: count})
}

// join runs one member: it accepts the WebSocket, adds it to the room and
// broadcasts what it sends until it leaves.
func (rm *room) join(w http.ResponseWriter, r *http.Request) {
	rm.members.Add(1)
	defer rm.members.Done()
	c, err := rm.tracker.Accept(w, r, &conn.AcceptOptions{Options: conn.Options{ReadLimit: 16 << 10}})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	defer c.CloseNow()
	name := cleanName(r.URL.Query().Get("name"))
	if name == "" {
		name = fmt.Sprintf("guest-%d", rm.guests.Add(1))
	}
	rm.names.Store(c, name)
	m := rm.hub.Add(c) // welcomed and announced by rm.joined
	defer rm.hub.Remove(m)

	ctx := context.Background() // the Tracker ends the connection at shutdown
	for {
		var p post
		err := wsjson.Read(ctx, c, &p)
		if errors.Is(err, wsjson.ErrBadMessage) {
			continue // ignore what is not a post; the connection is fine
		}
		if err != nil {
			if s := conn.CloseStatus(err); s != conn.StatusNormalClosure && s != conn.StatusGoingAway {
				rm.logger.Printf("%s (%s): %v", name, r.RemoteAddr, err)
			}
			return
		}
		text := strings.TrimSpace(p.Text)
		if text == "" {
			continue
		}
		if rs := []rune(text); len(rs) > maxText {
			text = string(rs[:maxText])
		}
		rm.broadcast(event{Kind: "msg", Name: name, Text: text})
	}
}

// cleanName keeps a name short and printable.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if rs := []rune(s); len(rs) > 24 {
		s = string(rs[:24])
	}
	return s
}
