package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hybi-go/hybi/cluster/internal/brokertest"
	"github.com/hybi-go/hybi/internal/chromium"
)

// TestChromium runs the cluster page in headless Chromium, one tab on
// each of two nodes joined by a real NATS server: each tab shows the node
// it is on, alice sees bob join through node-b, the message alice types
// reaches bob through node-a, as text, not HTML, and when node-b stops,
// bob's tab tells him to reload and alice sees him leave. Skipped when
// chromium is not installed, unless CI=true (.ci/run installs it).
func TestChromium(t *testing.T) {
	bin := chromium.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	br := brokertest.Start(t, "nats")
	addrA, _ := startInProcess(t, "node-a", br.URL())
	addrB, stopB := startInProcess(t, "node-b", br.URL())

	b := chromium.Launch(ctx, t, bin)
	alice := b.Open(ctx, t, "http://"+addrA+"/?name=alice&room=dev")
	alice.WaitFor(ctx, t, `document.getElementById('status').textContent === 'connected'`)
	alice.WaitFor(ctx, t, `document.getElementById('node').textContent === 'node-a'`)
	bob := b.Open(ctx, t, "http://"+addrB+"/?name=bob&room=dev")
	bob.WaitFor(ctx, t, `document.getElementById('node').textContent === 'node-b'`)
	alice.WaitFor(ctx, t, pageLogHas("bob joined (via node-b)"))

	q, _ := json.Marshal("hi bob <b>not bold</b>")
	v, err := alice.Eval(ctx, fmt.Sprintf(`(() => { const i = document.getElementById('text'); i.value = %s;
		document.getElementById('form').requestSubmit(); return i.value === ''; })()`, q))
	if err != nil || string(v) != "true" {
		t.Fatalf("typing: %s %v", v, err)
	}
	bob.WaitFor(ctx, t, pageLogHas("alice: hi bob <b>not bold</b> (via node-a)"))
	bob.WaitFor(ctx, t, `document.querySelectorAll('#log b').length === 0`)

	if code := stopB(); code != 0 {
		t.Fatalf("node-b exited with %d", code)
	}
	bob.WaitFor(ctx, t, `document.getElementById('status').textContent.startsWith('closed 1001')`)
	alice.WaitFor(ctx, t, pageLogHas("bob left (via node-b)"))
	b.Close(ctx, t, alice)
	b.Close(ctx, t, bob)
}

func pageLogHas(s string) string {
	q, _ := json.Marshal(s)
	return fmt.Sprintf(`Array.from(document.querySelectorAll('#log li')).some(li => li.textContent === %s)`, q)
}
