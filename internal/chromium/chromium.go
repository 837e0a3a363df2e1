// Package chromium drives headless Chromium for tests: it starts the
// browser with the flags that keep it on loopback (shared/README.md), and
// talks to it over the DevTools protocol, which is itself a WebSocket that
// hybi dials. Tests that need a browser call Require, then Launch.
package chromium

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
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

// Find returns the path of a Chromium binary, or "".
func Find() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require returns Chromium's path. Without one it skips t, unless CI=true,
// where the browser is a required peer (CI installs it with apt-get
// install -y chromium) and t fails.
func Require(t testing.TB) string {
	t.Helper()
	bin := Find()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI: apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed")
	}
	return bin
}

// SPKIFlag returns the flag with which Chromium trusts the certificates
// of these DER-encoded SubjectPublicKeyInfos, as a test server's
// self-signed one, and no others: --ignore-certificate-errors-spki-list,
// which Chromium honours only with a --user-data-dir, as Launch gives it.
func SPKIFlag(spkis ...[]byte) string {
	hashes := make([]string, len(spkis))
	for i, spki := range spkis {
		sum := sha256.Sum256(spki)
		hashes[i] = base64.StdEncoding.EncodeToString(sum[:])
	}
	return "--ignore-certificate-errors-spki-list=" + strings.Join(hashes, ",")
}

// Browser is a headless Chromium and a DevTools connection to it.
type Browser struct {
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

// Tab is a page target the browser session is attached to.
type Tab struct {
	b         *Browser
	targetID  string
	sessionID string
}

// Launch starts Chromium with a fresh profile and connects to its DevTools
// endpoint. flags are added to Chromium's own: a test serving HTTPS with a
// certificate of its own passes SPKIFlag's. Cleanup closes the connection
// and kills Chromium's process group.
func Launch(ctx context.Context, t testing.TB, bin string, flags ...string) *Browser {
	dir := t.TempDir()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
		"--user-data-dir=" + dir, "--remote-debugging-port=0",
	}
	args = append(append(args, flags...), "about:blank")
	cmd := exec.Command(bin, args...)
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
	b := &Browser{c: c, pending: map[int]chan cdpReply{}, done: make(chan struct{})}
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
func (b *Browser) read() {
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
func (b *Browser) call(ctx context.Context, sessionID, method string, params, result any) error {
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

// Open opens url in a new tab and attaches to it.
func (b *Browser) Open(ctx context.Context, t testing.TB, url string) *Tab {
	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	return &Tab{b: b, targetID: target.TargetID, sessionID: att.SessionID}
}

// Close closes the tab.
func (b *Browser) Close(ctx context.Context, t testing.TB, tb *Tab) {
	if err := b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": tb.targetID}, nil); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression in the tab and returns its value.
func (tb *Tab) Eval(ctx context.Context, expr string) (json.RawMessage, error) {
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

// WaitFor polls until the expression is true.
func (tb *Tab) WaitFor(ctx context.Context, t testing.TB, expr string) {
	t.Helper()
	for {
		v, err := tb.Eval(ctx, expr)
		if err == nil && string(v) == "true" {
			return
		}
		select {
		case <-ctx.Done():
			page, _ := tb.Eval(context.Background(), `document.body.innerText`)
			t.Fatalf("waiting for %s: %v (last error %v); page:\n%s", expr, ctx.Err(), err, page)
		case <-time.After(50 * time.Millisecond):
		}
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
