package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/wsjson"
)

// TestChromium runs the chat page in two tabs of headless Chromium, driven
// over the DevTools protocol, whose endpoint is itself a WebSocket that
// hybi dials: alice and bob exchange messages, then alice's tab closes and
// bob sees her leave. It is skipped when chromium is not installed, unless
// CI=true (CI installs it with: apt-get install -y chromium).
func TestChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI: apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, rm := startRoom(t)

	b := launch(ctx, t, bin)
	// One after the other, so that alice is there to see bob join.
	alice := b.open(ctx, t, srv.URL+"/?name=alice")
	alice.waitFor(ctx, t, `document.getElementById('status').textContent === 'connected'`)
	bob := b.open(ctx, t, srv.URL+"/?name=bob")
	bob.waitFor(ctx, t, `document.getElementById('status').textContent === 'connected'`)
	alice.waitFor(ctx, t, `document.getElementById('log').textContent.includes('bob joined')`)

	alice.say(ctx, t, "hello from alice")
	bob.waitFor(ctx, t, logHas("alice: hello from alice"))
	bob.say(ctx, t, "hi alice <b>not bold</b>")
	alice.waitFor(ctx, t, logHas("bob: hi alice <b>not bold</b>"))
	alice.waitFor(ctx, t, `document.querySelectorAll('#log b').length === 0`) // text, not HTML
	alice.waitFor(ctx, t, `document.getElementById('count').textContent === '2 members'`)

	b.close(ctx, t, alice)
	bob.waitFor(ctx, t, logHas("alice left"))
	bob.waitFor(ctx, t, `document.getElementById('count').textContent === '1 member'`)
	if n := rm.hub.Len(); n != 1 {
		t.Errorf("hub has %d members after alice left, want 1", n)
	}
	b.close(ctx, t, bob)
	for rm.hub.Len() != 0 {
		if ctx.Err() != nil {
			t.Fatal("bob's connection outlived his tab")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func logHas(s string) string {
	q, _ := json.Marshal(s)
	return fmt.Sprintf(`Array.from(document.querySelectorAll('#log li')).some(li => li.textContent === %s)`, q)
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium and a DevTools connection to it.
type browser struct {
	c       *conn.Conn
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
	done    chan struct{} // the reader has returned
}

type cdpReply struct {
	Result json.RawMessage
	Error  *struct{ Message string }
}

// tab is a page target the browser session is attached to.
type tab struct {
	b         *browser
	targetID  string
	sessionID string
}

// launch starts Chromium with a fresh profile and connects to its DevTools
// endpoint. Cleanup closes the connection and kills Chromium's process
// group.
func launch(ctx context.Context, t *testing.T, bin string) *browser {
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
		"--user-data-dir="+dir, "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers die with it
	var stderr strings.Builder
	cmd.Stderr = &limitWriter{w: &stderr, n: 16 << 10}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group we started
		<-exited
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})

	// Chromium writes its port and browser target path here once it listens.
	portFile := filepath.Join(dir, "DevToolsActivePort")
	var lines []string
	for {
		if b, err := os.ReadFile(portFile); err == nil {
			if lines = strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) == 2 {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("chromium exited: %s", stderr.String())
		case <-ctx.Done():
			t.Fatal("chromium wrote no DevToolsActivePort")
		case <-time.After(50 * time.Millisecond):
		}
	}
	c, _, err := conn.Dial(ctx, "ws://127.0.0.1:"+lines[0]+lines[1], nil)
	if err != nil {
		t.Fatalf("dialing DevTools: %v", err)
	}
	b := &browser{c: c, pending: map[int]chan cdpReply{}, done: make(chan struct{})}
	go b.read()
	t.Cleanup(func() {
		// Closing the browser closes its pages' WebSockets properly.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.call(cctx, "", "Browser.close", map[string]any{}, nil)
		cancel()
		c.CloseNow()
		<-b.done
	})
	return b
}

// read dispatches replies to their callers; events are ignored.
func (b *browser) read() {
	defer close(b.done)
	for {
		var msg struct {
			ID int
			cdpReply
		}
		err := wsjson.Read(context.Background(), b.c, &msg)
		if errors.Is(err, wsjson.ErrBadMessage) {
			continue
		}
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.pending = nil
			b.mu.Unlock()
			return
		}
		b.mu.Lock()
		ch := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.cdpReply
		}
	}
}

// call sends a DevTools command and decodes its result into result.
func (b *browser) call(ctx context.Context, sessionID, method string, params, result any) error {
	ch := make(chan cdpReply, 1)
	b.mu.Lock()
	if b.pending == nil {
		b.mu.Unlock()
		return errors.New("devtools connection closed")
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method, "params": params}
	if sessionID != "" {
		req["sessionId"] = sessionID
	}
	if err := wsjson.Write(ctx, b.c, req); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return errors.New("devtools connection closed")
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// open opens url in a new tab and attaches to it.
func (b *browser) open(ctx context.Context, t *testing.T, url string) *tab {
	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	return &tab{b: b, targetID: target.TargetID, sessionID: att.SessionID}
}

func (b *browser) close(ctx context.Context, t *testing.T, tb *tab) {
	if err := b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": tb.targetID}, nil); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the tab and returns its value.
func (tb *tab) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct{ Text string }
	}
	err := tb.b.call(ctx, tb.sessionID, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, fmt.Errorf("%s: %s", expr, r.ExceptionDetails.Text)
	}
	return r.Result.Value, nil
}

// waitFor polls until the expression is true.
func (tb *tab) waitFor(ctx context.Context, t *testing.T, expr string) {
	t.Helper()
	for {
		v, err := tb.eval(ctx, expr)
		if err == nil && string(v) == "true" {
			return
		}
		select {
		case <-ctx.Done():
			page, _ := tb.eval(context.Background(), `document.body.innerText`)
			t.Fatalf("waiting for %s: %v (last error %v); page:\n%s", expr, ctx.Err(), err, page)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// say types text into the tab's input and submits the form.
func (tb *tab) say(ctx context.Context, t *testing.T, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	expr := fmt.Sprintf(`(() => { const i = document.getElementById('text'); i.value = %s;
		document.getElementById('form').requestSubmit(); return i.value === ''; })()`, q)
	v, err := tb.eval(ctx, expr)
	if err != nil || string(v) != "true" {
		t.Fatalf("typing %q: %s %v", text, v, err)
	}
}

// limitWriter keeps the first n bytes written.
type limitWriter struct {
	mu sync.Mutex
	w  *strings.Builder
	n  int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rest := l.n - l.w.Len(); rest > 0 {
		l.w.Write(p[:min(len(p), rest)])
	}
	return len(p), nil
}
