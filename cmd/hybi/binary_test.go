package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/internal/syncbuf"
	"github.com/hybi-go/hybi/raw"
)

// TestBinary runs the built command as a user does: arguments in every
// order wscat takes, piped input, listen mode.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "hybi")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// hybi runs the binary with args and stdin and waits for it.
	hybi := func(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code = cmd.ProcessState.ExitCode()
		if ctx.Err() != nil {
			t.Fatalf("hybi %q did not exit: %v\nstdout:\n%s\nstderr:\n%s", args, err, o.String(), e.String())
		}
		return o.String(), e.String(), code
	}

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{nil, {"help"}, {"dial"}} {
			_, stderr, code := hybi(t, "", args...)
			if code != 2 {
				t.Errorf("%q: exit %d, want 2", args, code)
			}
			for _, want := range []string{"hybi listen", "-insecure", "-timeout", "-nopong", "-origin", "-raw", "-deflate"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("%q: usage lacks %s:\n%s", args, want, stderr)
				}
			}
		}
	})

	t.Run("no scheme, no dial, flags after the URL", func(t *testing.T) {
		got := make(chan string, 1)
		srv := server(t, &conn.AcceptOptions{Upgrader: handshake.Upgrader{Subprotocols: []string{"chat"}}},
			func(r *http.Request, c *conn.Conn) {
				got <- r.URL.Path + "|" + r.Header.Get("X-A") + "|" + c.Subprotocol()
				for msg, err := range c.Messages(context.Background()) {
					if err != nil {
						return
					}
					c.Write(context.Background(), msg.Type, msg.Data)
				}
			})
		hostPath := strings.TrimPrefix(srv.URL, "http://") + "/ws"
		stdout, stderr, code := hybi(t, "hi\n", hostPath, "-s", "chat", "-H", "X-A: 1")
		if code != 0 || stdout != "< text hi\n< close 1000\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if g := <-got; g != "/ws|1|chat" {
			t.Errorf("server saw %q", g)
		}
		if !strings.Contains(stderr, "connected to ws://"+hostPath) {
			t.Errorf("stderr %q", stderr)
		}
	})

	// With piped input the pong of every ping is shown, before the
	// close: the end of input waits for it.
	// Every frame is shown, in the order it came: a line waits for the
	// pong of the ping before it, and the end of input for the echo.
	t.Run("piped ping", func(t *testing.T) {
		srv := server(t, nil, func(_ *http.Request, c *conn.Conn) {
			for msg, err := range c.Messages(context.Background()) {
				if err != nil {
					return
				}
				c.Write(context.Background(), msg.Type, msg.Data)
			}
		})
		for i := range 10 {
			stdout, stderr, code := hybi(t, "/ping\n/ping mine\nhello\n", wsURL(srv))
			if code != 0 || !regexp.MustCompile(`^> ping 1\n< pong 1 \S+\n> ping mine\n< pong mine \S+\n< text hello\n< close 1000\n$`).MatchString(stdout) {
				t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, code, stdout, stderr)
			}
		}
	})

	// A refused handshake shows the status and the server's reason.
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no token, no socket", http.StatusForbidden)
		}))
		defer srv.Close()
		_, stderr, code := hybi(t, "", wsURL(srv))
		if code != 1 || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "no token, no socket") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("listen", func(t *testing.T) {
		for _, mode := range [][]string{nil, {"-raw"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"listen", "127.0.0.1:0"}, mode...)...)
			stdin, _ := cmd.StdinPipe()
			stderrPipe, _ := cmd.StderrPipe()
			var stdout syncbuf.Buffer
			cmd.Stdout = &stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderrPipe)
			if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening on ws://") {
				t.Fatalf("%q: first line %q", mode, sc.Text())
			}
			url := strings.TrimPrefix(sc.Text(), "listening on ")
			go io.Copy(io.Discard, stderrPipe)

			c, _, err := conn.Dial(ctx, url+"/anywhere", nil)
			if err != nil {
				t.Fatalf("%q: dial: %v", mode, err)
			}
			// A second client while the first is connected is refused.
			if _, resp, err := conn.Dial(ctx, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%q: second client: %v", mode, err)
			}
			if err := c.Write(ctx, conn.MessageText, []byte("from client")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, &stdout, "from client")
			io.WriteString(stdin, "from server\n")
			typ, p, err := c.Read(ctx)
			if err != nil || typ != conn.MessageText || string(p) != "from server" {
				t.Fatalf("%q: read %v %q %v", mode, typ, p, err)
			}
			stdin.Close() // the end of input closes the client with 1000 and exits
			if _, _, err := c.Read(ctx); conn.CloseStatus(err) != conn.StatusNormalClosure {
				t.Errorf("%q: client saw %v", mode, err)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("%q: exit: %v; stdout:\n%s", mode, err, stdout.String())
			}
		}
	})

	// -raw -nopong leaves pings unanswered; /pong sends one by hand.
	t.Run("raw nopong", func(t *testing.T) {
		saw := make(chan []frameRec, 1)
		srv := rawServer(t, func(rc *raw.Conn) {
			ctx := context.Background()
			rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("p1"))
			var frames []frameRec
			for {
				f, err := readFrame(rc)
				if err != nil {
					break
				}
				frames = append(frames, f)
				if f.op == frame.OpClose {
					rc.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpClose}, []byte(f.p))
					break
				}
			}
			saw <- frames
		})
		stdout, stderr, code := hybi(t, "/pong by hand\n", "-raw", wsURL(srv), "-nopong")
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		// The ping may arrive before or after the input is read.
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		slices.Sort(lines)
		want := []string{"< close fin=1 rsv=000 len=2: 1000", "< ping fin=1 rsv=000 len=2: p1", "> close fin=1 rsv=000 len=2: 1000", "> pong fin=1 rsv=000 len=7"}
		if !slices.Equal(lines, want) || !strings.HasSuffix(stdout, "\n< close fin=1 rsv=000 len=2: 1000\n") {
			t.Errorf("stdout:\n%s\nwant (in some order) the lines:\n%s", stdout, strings.Join(want, "\n"))
		}
		if f := <-saw; len(f) != 2 || f[0] != (frameRec{frame.OpPong, "by hand"}) || f[1].op != frame.OpClose {
			t.Errorf("server saw %v", f)
		}
	})
}
