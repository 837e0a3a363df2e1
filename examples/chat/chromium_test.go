package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hybi-go/hybi/internal/chromium"
)

// TestChromium runs the chat page in two tabs of headless Chromium, driven
// over the DevTools protocol, whose endpoint is itself a WebSocket that
// hybi dials: alice and bob exchange messages, then alice's tab closes and
// bob sees her leave. It is skipped when chromium is not installed, unless
// CI=true (CI installs it with: apt-get install -y chromium).
func TestChromium(t *testing.T) {
	bin := chromium.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, rm := startRoom(t)

	b := chromium.Launch(ctx, t, bin)
	// One after the other, so that alice is there to see bob join.
	alice := b.Open(ctx, t, srv.URL+"/?name=alice")
	alice.WaitFor(ctx, t, `document.getElementById('status').textContent === 'connected'`)
	bob := b.Open(ctx, t, srv.URL+"/?name=bob")
	bob.WaitFor(ctx, t, `document.getElementById('status').textContent === 'connected'`)
	alice.WaitFor(ctx, t, `document.getElementById('log').textContent.includes('bob joined')`)

	say(ctx, t, alice, "hello from alice")
	bob.WaitFor(ctx, t, logHas("alice: hello from alice"))
	say(ctx, t, bob, "hi alice <b>not bold</b>")
	alice.WaitFor(ctx, t, logHas("bob: hi alice <b>not bold</b>"))
	alice.WaitFor(ctx, t, `document.querySelectorAll('#log b').length === 0`) // text, not HTML
	alice.WaitFor(ctx, t, `document.getElementById('count').textContent === '2 members'`)

	b.Close(ctx, t, alice)
	bob.WaitFor(ctx, t, logHas("alice left"))
	bob.WaitFor(ctx, t, `document.getElementById('count').textContent === '1 member'`)
	if n := rm.hub.Len(); n != 1 {
		t.Errorf("hub has %d members after alice left, want 1", n)
	}
	b.Close(ctx, t, bob)
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

// say types text into tb's input and submits the form.
func say(ctx context.Context, t *testing.T, tb *chromium.Tab, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	expr := fmt.Sprintf(`(() => { const i = document.getElementById('text'); i.value = %s;
		document.getElementById('form').requestSubmit(); return i.value === ''; })()`, q)
	v, err := tb.Eval(ctx, expr)
	if err != nil || string(v) != "true" {
		t.Fatalf("typing %q: %s %v", text, v, err)
	}
}
