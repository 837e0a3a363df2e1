package conn_test

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/internal/testnet"
	"github.com/hybi-go/hybi/raw"
)

// readSyscalls is how many read system calls this process has made
// (/proc/self/io's syscr).
func readSyscalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io:", err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("syscr: ")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no syscr in /proc/self/io")
	return 0
}

// readsPerMessage serves a TCP connection with opts and returns how many
// read system calls the process made per message, for messages sent 2 ms
// apart: the socket is empty at every Reader, which then waits.
func readsPerMessage(t *testing.T, opts *conn.Options) float64 {
	nc, peer := testnet.Loopback(t)
	c := conn.New(raw.New(nc, nil, raw.Server, nil), "", opts)
	defer c.CloseNow()
	const messages = 20
	go func() {
		// Masked binary frames of 2 bytes, key 0.
		for range messages {
			time.Sleep(2 * time.Millisecond)
			if _, err := peer.Write([]byte{0x82, 0x82, 0, 0, 0, 0, 'h', 'i'}); err != nil {
				return
			}
		}
	}()
	before := readSyscalls(t)
	for i := range messages {
		_, p, err := c.Read(t.Context())
		if err != nil || string(p) != "hi" {
			t.Fatalf("message %d: %q %v", i, p, err)
		}
	}
	return float64(readSyscalls(t)-before) / messages
}

// TestReadSpinOption: Options.ReadSpin reaches the connection's reads. A
// positive spin polls the socket before every wait (many reads of an
// empty socket for each message that comes 2 ms later), a negative one
// never does (a read that finds the socket empty and one after the wait).
func TestReadSpinOption(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("spins need GOMAXPROCS >= 2")
	}
	off := readsPerMessage(t, &conn.Options{ReadSpin: -1})
	on := readsPerMessage(t, &conn.Options{ReadSpin: 10 * time.Millisecond})
	t.Logf("read system calls per message: %.1f with ReadSpin -1, %.1f with 10ms", off, on)
	if off > 4 {
		t.Errorf("ReadSpin -1: %.1f reads per message, want at most 4 (no spin)", off)
	}
	if on < 10*off {
		t.Errorf("ReadSpin 10ms: %.1f reads per message, want many more than the %.1f without a spin", on, off)
	}
}
