package interop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/poll"
	"github.com/hybi-go/hybi/extension"
	"github.com/hybi-go/hybi/extension/deflate"
	"github.com/hybi-go/hybi/internal/chromium"
)

// browserConfigs are the server configurations the browser is run
// against: what hybi's server accepts and imposes, and what Chromium's
// WebSocket must then report in ws.extensions.
var browserConfigs = []struct {
	name string
	ext  func() []extension.Extension
	want []string // substrings of ws.extensions; none means ""
	poll bool     // served by a conn/poll Poller (Linux)
}{
	{"plain", func() []extension.Extension { return nil }, nil, false},
	{"takeover", func() []extension.Extension { return []extension.Extension{deflate.New(nil)} },
		[]string{"permessage-deflate"}, false},
	{"every-message", func() []extension.Extension {
		return []extension.Extension{deflate.New(&deflate.Options{Threshold: -1})}
	}, []string{"permessage-deflate"}, false},
	{"no-takeover", func() []extension.Extension {
		return []extension.Extension{deflate.New(&deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true})}
	}, []string{"permessage-deflate", "server_no_context_takeover", "client_no_context_takeover"}, false},
	{"windows", func() []extension.Extension {
		return []extension.Extension{deflate.New(&deflate.Options{ServerMaxWindowBits: 10, ClientMaxWindowBits: 9})}
	}, []string{"permessage-deflate", "server_max_window_bits=10", "client_max_window_bits=9"}, false},
	{"poll", func() []extension.Extension { return []extension.Extension{deflate.New(nil)} },
		[]string{"permessage-deflate"}, true},
}

// browserScript defines run(cfg, ask) in a page: it echoes a set of
// messages (text and binary, every length encoding up to 1 MiB, multi-byte
// UTF-8, compressible and incompressible, a burst of 200 without waiting),
// closes with 4000, then opens a second connection, sets
// window.awaiting[cfg], and, with ask, asks the server to close it with
// "close-me"; otherwise the test makes the server close it. It stores a
// summary in window.results[cfg] once the server has closed. The page may
// be served over http or https; the WebSocket is on the page's host, at
// /ws?cfg=CFG.
const browserScript = `
window.results = {};
window.awaiting = {};
function pattern(n) { const a = 'abcdefghijklmnopqrstuvwxyz0123456789'; let s = ''; for (let i = 0; i < n; i++) s += a[i % a.length]; return s; }
function bytes(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255; return b; }
function random(n) { const b = new Uint8Array(n); for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536))); return b; }
function same(a, b) {
  if (typeof a === 'string') return a === b;
  if (!(b instanceof ArrayBuffer)) return false;
  const x = new Uint8Array(b); if (x.length !== a.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== a[i]) return false;
  return true;
}
function open(cfg) {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(scheme + location.host + '/ws?cfg=' + cfg);
  ws.binaryType = 'arraybuffer';
  const queue = []; let waiter = null;
  ws.onmessage = e => { if (waiter) { const w = waiter; waiter = null; w(e.data); } else queue.push(e.data); };
  ws.next = () => queue.length ? Promise.resolve(queue.shift()) : new Promise(r => { waiter = r; });
  ws.closed = new Promise(r => { ws.onclose = e => r({code: e.code, reason: e.reason, wasClean: e.wasClean}); });
  return new Promise((res, rej) => { ws.onopen = () => res(ws); ws.onerror = () => rej(new Error('websocket error')); });
}
async function run(cfg, ask) {
  const r = {errors: [], echoed: 0};
  try {
    const ws = await open(cfg);
    r.extensions = ws.extensions;
    const json = JSON.stringify(Array.from({length: 2000}, (_, i) => ({id: i, name: 'user' + (i % 37), tags: ['a', 'b', 'c'], ok: i % 3 === 0})));
    const msgs = ['', 'hello', 'héllo wörld ✓ 𝄞', pattern(125), pattern(126), pattern(65535), pattern(65536), pattern(1 << 20), json,
      bytes(0), bytes(1), bytes(125), bytes(126), bytes(65535), bytes(65536), bytes(1 << 20), random(100000)];
    for (const m of msgs) {
      ws.send(m);
      const got = await ws.next();
      if (same(m, got)) r.echoed++; else r.errors.push('echo of ' + (typeof m === 'string' ? 'text' : 'binary') + ' length ' + m.length + ' differs');
    }
    const burst = Array.from({length: 200}, (_, i) => 'burst ' + i + ' ' + pattern(i * 7));
    for (const m of burst) ws.send(m);
    for (const m of burst) { const got = await ws.next(); if (got === m) r.echoed++; else r.errors.push('burst message out of order or changed'); }
    ws.close(4000, 'bye from the browser');
    r.browserClose = await ws.closed;
    const ws2 = await open(cfg);
    window.awaiting[cfg] = true;
    if (ask) ws2.send('close-me');
    r.serverClose = await ws2.closed;
  } catch (e) { r.errors.push(String(e)); }
  window.results[cfg] = r;
}
`

// browserPage is a page with browserScript.
const browserPage = `<!doctype html><meta charset="utf-8"><title>hybi interop</title><script>` +
	browserScript + `</script><p>hybi interop page</p>`

// browserEchoes is how many echoes run(cfg) checks.
const browserEchoes = 17 + 200

// closeEvent is a close event as the page reports it.
type closeEvent struct {
	Code     int
	Reason   string
	WasClean bool
}

// browserRun starts run(cfg, ask) in tab.
func browserRun(ctx context.Context, t *testing.T, tab *chromium.Tab, cfg string, ask bool) {
	t.Helper()
	if _, err := tab.Eval(ctx, fmt.Sprintf(`run(%q, %t), true`, cfg, ask)); err != nil {
		t.Fatal(err)
	}
}

// checkBrowserRun waits for the results of run(cfg) in tab and checks
// them: every echo matched, ws.extensions contains each of want (none
// means it is empty), the browser's close ended cleanly with its code
// 4000 echoed, and the server's close arrived as serverClose.
func checkBrowserRun(ctx context.Context, t *testing.T, tab *chromium.Tab, cfg string, want []string, serverClose closeEvent) {
	t.Helper()
	tab.WaitFor(ctx, t, fmt.Sprintf(`window.results[%q] !== undefined`, cfg))
	v, err := tab.Eval(ctx, fmt.Sprintf(`window.results[%q]`, cfg))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Errors       []string
		Echoed       int
		Extensions   string
		BrowserClose closeEvent
		ServerClose  closeEvent
	}
	if err := json.Unmarshal(v, &r); err != nil {
		t.Fatalf("results %s: %v", v, err)
	}
	for _, e := range r.Errors {
		t.Errorf("browser: %s", e)
	}
	if r.Echoed != browserEchoes {
		t.Errorf("%d echoes matched, want %d", r.Echoed, browserEchoes)
	}
	if len(want) == 0 && r.Extensions != "" {
		t.Errorf("ws.extensions = %q, want none", r.Extensions)
	}
	for _, w := range want {
		if !strings.Contains(r.Extensions, w) {
			t.Errorf("ws.extensions = %q, want it to contain %q", r.Extensions, w)
		}
	}
	// The close event reports the first close frame the browser
	// received: the server's reply, which echoes the code (RFC 6455,
	// Section 5.5.1) without the reason.
	if want := (closeEvent{4000, "", true}); r.BrowserClose != want {
		t.Errorf("browser's close event after its own close: %+v, want %+v", r.BrowserClose, want)
	}
	if r.ServerClose != serverClose {
		t.Errorf("browser's close event after the server's close: %+v, want %+v", r.ServerClose, serverClose)
	}
}

// TestChromium runs hybi's server against the WebSocket of headless
// Chromium, with and without permessage-deflate in each configuration the
// server can impose: every echo must match, the negotiated extensions must
// be what the server answered, and the closing handshake must carry the
// code and reason both ways and be clean. One configuration is served by
// conn/poll.
func TestChromium(t *testing.T) {
	bin := requireChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	type closed struct {
		cfg string
		err error
	}
	closes := make(chan closed, 2*len(browserConfigs))
	p, perr := poll.New(nil)
	if perr == nil {
		defer p.Close()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, browserPage)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		cfg := r.URL.Query().Get("cfg")
		// The page echoes 1 MiB, which a browser compressing with a
		// 512-byte window (client_max_window_bits=9) sends as a little
		// more than 1 MiB: above conn.DefaultReadLimit, as received.
		ao := &conn.AcceptOptions{Options: conn.Options{ReadLimit: readLimit}}
		polled := false
		for _, bc := range browserConfigs {
			if bc.name == cfg {
				ao.Extensions = bc.ext()
				polled = bc.poll
			}
		}
		c, err := conn.Accept(w, r, ao)
		if err != nil {
			return
		}
		if polled {
			// The poller reads; the browser's own close ends the
			// connection inside it, unseen here.
			p.Serve(c, func(ctx context.Context, c *conn.Conn, typ conn.MessageType, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				if string(b) == "close-me" {
					closes <- closed{cfg, c.Close(4001, "bye from the server")}
					return errors.New("closed")
				}
				return c.Write(ctx, typ, b)
			})
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				closes <- closed{cfg, err}
				return
			}
			if string(b) == "close-me" {
				closes <- closed{cfg, c.Close(4001, "bye from the server")}
				return
			}
			if err := c.Write(ctx, typ, b); err != nil {
				closes <- closed{cfg, err}
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := chromium.Launch(ctx, t, bin)
	tab := b.Open(ctx, t, srv.URL+"/")
	tab.WaitFor(ctx, t, `typeof run === 'function'`)
	for _, bc := range browserConfigs {
		t.Run(bc.name, func(t *testing.T) {
			if bc.poll && perr != nil {
				t.Skipf("conn/poll: %v", perr)
			}
			browserRun(ctx, t, tab, bc.name, true)
			checkBrowserRun(ctx, t, tab, bc.name, bc.want, closeEvent{4001, "bye from the server", true})
			// The server saw the browser's code and reason, and its own
			// closing handshake completed.
			events := 2 // the browser's close as the handler read it, and the server's
			if bc.poll {
				events = 1
			}
			for range events {
				var got closed
				select {
				case got = <-closes:
				case <-ctx.Done():
					t.Fatal("the server's handlers did not finish")
				}
				if got.cfg != bc.name {
					t.Errorf("a %s connection ended during %s", got.cfg, bc.name)
				}
				var ce *conn.CloseError
				switch {
				case got.err == nil: // the server's Close
				case errors.As(got.err, &ce):
					if ce.Code != 4000 || ce.Reason != "bye from the browser" {
						t.Errorf("server read %v, want the browser's 4000", got.err)
					}
				default:
					t.Errorf("server: %v", got.err)
				}
			}
			// Both of the browser's connections leave the poller.
			for bc.poll && p.Len() != 0 {
				if ctx.Err() != nil {
					t.Fatalf("the poller still serves %d connections", p.Len())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
