package conn_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/handshake"
)

// memReport is what conn/internal/memprobe prints as its result.
type memReport struct {
	HWMGrowth  int64  `json:"hwm_growth"`
	HeapGrowth int64  `json:"heap_growth"`
	TotalAlloc uint64 `json:"total_alloc"`
	Reads      []struct {
		Done  bool   `json:"done"`
		Bytes int64  `json:"bytes"`
		Code  int    `json:"code"`
		Err   string `json:"err"`
	} `json:"reads"`
}

// memLimit is the ReadLimit of the whole-message scenarios: the old
// default, large enough that costing a multiple of it shows.
const memLimit = 32 << 20

// memSlack is what a scenario may cost beyond the message it is allowed to
// hold: the runtime's own growth, the pooled buffers, the decoder.
const memSlack = 2 << 20

// memAttack is one hostile input: it writes to the victim's connections
// (masked when the victim is a server) and returns when it has sent all.
type memAttack struct {
	name  string
	conns int
	// stall means the input never ends: the report is asked for once it
	// has been sent, while the reads wait.
	stall bool
	// deflate negotiates permessage-deflate.
	deflate bool
	// fits means the message is within the limit of the whole-message
	// reads, which must then assemble it; oneFrame that it comes in one
	// frame, which tells its size.
	fits, oneFrame bool
	// size is the message's size as the victim reads it.
	size int64
	send func(nc net.Conn, masked bool) error
}

var memAttacks = []memAttack{
	{
		// A header announcing just under the limit, and silence.
		name: "stalled-header", conns: 4, stall: true,
		send: func(nc net.Conn, masked bool) error {
			h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: masked, Length: memLimit - 1}
			_, err := nc.Write(frame.AppendHeader(nil, h))
			return err
		},
	},
	{
		// A message of exactly the limit in one frame, sent slowly
		// enough that the reader takes it in many reads.
		name: "one-frame-at-limit", conns: 1, fits: true, oneFrame: true, size: memLimit,
		send: func(nc net.Conn, masked bool) error {
			h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: masked, Length: memLimit}
			if _, err := nc.Write(frame.AppendHeader(nil, h)); err != nil {
				return err
			}
			payload := make([]byte, 64<<10)
			for range memLimit / len(payload) {
				if _, err := nc.Write(payload); err != nil {
					return err
				}
			}
			return nil
		},
	},
	{
		// The same in 4 KiB fragments: its size is known at its end.
		name: "fragments-at-limit", conns: 1, fits: true, size: memLimit,
		send: func(nc net.Conn, masked bool) error { return sendFragments(nc, masked, memLimit) },
	},
	{
		name: "fragmented-256MiB", conns: 1, size: 256 << 20,
		send: func(nc net.Conn, masked bool) error { return sendFragments(nc, masked, 256<<20) },
	},
	{
		// 1 GiB of zeros, compressed to about 1 MiB, in 1024 frames.
		name: "deflate-bomb-1GiB", conns: 1, deflate: true, size: 1 << 30,
		send: func(nc net.Conn, masked bool) error {
			block := zerosBlock()
			w := bufio.NewWriterSize(nc, 64<<10)
			for i := range 1024 {
				p := block
				h := frame.Header{Opcode: frame.OpContinuation, Masked: masked, Length: int64(len(p))}
				if i == 0 {
					h.Opcode, h.RSV = frame.OpBinary, frame.RSV1
				}
				if i == 1023 {
					// The message ends without its last sync marker
					// (RFC 7692, Section 7.2.1).
					h.Fin = true
					p = p[:len(p)-4]
					h.Length = int64(len(p))
				}
				w.Write(frame.AppendHeader(nil, h))
				if _, err := w.Write(p); err != nil {
					return err
				}
			}
			return w.Flush()
		},
	},
}

// sendFragments sends a message of size bytes in 4 KiB fragments.
func sendFragments(nc net.Conn, masked bool, size int) error {
	const frag = 4 << 10
	w := bufio.NewWriterSize(nc, 64<<10)
	payload := make([]byte, frag) // a zero mask leaves it as it is
	for i := range size / frag {
		h := frame.Header{Opcode: frame.OpContinuation, Masked: masked, Length: frag}
		if i == 0 {
			h.Opcode = frame.OpBinary
		}
		h.Fin = i == size/frag-1
		w.Write(frame.AppendHeader(nil, h))
		if _, err := w.Write(payload); err != nil {
			return err
		}
	}
	return w.Flush()
}

// zerosBlock returns 1 MiB of zeros compressed into deflate blocks that do
// not end the stream, followed by a sync marker (00 00 ff ff): any number
// of them in a row is a deflate stream of that many MiB of zeros.
func zerosBlock() []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	if !bytes.HasSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff}) {
		panic("flate: no sync marker after Flush")
	}
	return b.Bytes()
}

// TestMemoryCeiling sends each hostile input to a victim in a fresh
// process (conn/internal/memprobe), as a server and as a client, reading
// whole messages and streaming them, and checks what the victim's memory
// grew by beyond memSlack: when read whole, a message refused at the
// limit by at most the limit, one within it by twice its size (1.5 times
// in one frame); streamed, by nothing; a stalled header, by nothing. A
// fresh process for each, because a heap freed by one scenario would hide
// the cost of the next.
func TestMemoryCeiling(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak resident set from /proc/self/status")
	}
	if testing.Short() {
		t.Skip("moves over 2 GiB through loopback")
	}
	probe := buildProbe(t)
	for _, role := range []string{"server", "client"} {
		for _, a := range memAttacks {
			for _, mode := range []string{"whole", "stream"} {
				t.Run(role+"/"+a.name+"/"+mode, func(t *testing.T) {
					// Streamed, the message goes through whole; read
					// whole, it meets the limit.
					limit := int64(memLimit)
					if mode == "stream" && !a.stall {
						limit = -1
					}
					rep := runProbe(t, probe, role, mode, limit, a)
					t.Logf("peak RSS +%.2f MiB, live heap +%.2f MiB, allocated %.2f MiB",
						mib(rep.HWMGrowth), mib(rep.HeapGrowth), mib(int64(rep.TotalAlloc)))
					checkMemReport(t, rep, mode, limit, a)
				})
			}
		}
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func checkMemReport(t *testing.T, rep *memReport, mode string, limit int64, a memAttack) {
	t.Helper()
	if len(rep.Reads) != a.conns {
		t.Fatalf("%d reads reported, want %d", len(rep.Reads), a.conns)
	}
	for _, r := range rep.Reads {
		switch {
		case a.stall:
			if r.Done {
				t.Errorf("read ended (%s) while the message was stalled", r.Err)
			}
		case mode == "whole" && !a.fits:
			if r.Code != 1009 {
				t.Errorf("read ended with %s (code %d), want 1009", r.Err, r.Code)
			}
		default:
			if r.Bytes != a.size || r.Code != 1000 {
				t.Errorf("streamed %d bytes and ended with %s, want %d bytes and the peer's 1000", r.Bytes, r.Err, a.size)
			}
		}
	}
	// A message refused at the limit costs at most the limit. One that
	// fits is copied out of its chunks: at its end, which costs twice the
	// message, or, its size known from its one frame, once half of it is
	// in, in place of the last chunk, which costs 1.5 times the message.
	bound := int64(memSlack)
	switch {
	case mode == "whole" && a.oneFrame:
		bound += a.size + a.size/2
	case mode == "whole" && a.fits:
		bound += 2 * a.size
	case mode == "whole" && !a.stall:
		bound += limit
	}
	if rep.HWMGrowth < 0 {
		t.Log("VmHWM unavailable: peak resident set not checked")
	} else if rep.HWMGrowth > bound {
		t.Errorf("peak RSS grew by %.2f MiB, want at most %.2f MiB", mib(rep.HWMGrowth), mib(bound))
	}
	if a.stall && rep.HeapGrowth > memSlack {
		t.Errorf("%d stalled headers hold %.2f MiB of heap, want at most %.2f MiB",
			a.conns, mib(rep.HeapGrowth), mib(memSlack))
	}
}

// buildProbe builds conn/internal/memprobe, without the race detector
// whatever this test runs with, since it would multiply what is measured.
func buildProbe(t *testing.T) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		t.Skipf("no go command to build the probe: %v", err)
	}
	out := filepath.Join(t.TempDir(), "memprobe")
	cmd := exec.Command(gobin, "build", "-o", out, "github.com/hybi-go/hybi/conn/internal/memprobe")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, b)
	}
	return out
}

// runProbe runs one scenario: the probe as the victim in role, a the
// attacker here, and returns the probe's report.
func runProbe(t *testing.T, probe, role, mode string, limit int64, a memAttack) *memReport {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"-role", role, "-read", mode, "-conns", fmt.Sprint(a.conns), "-limit", fmt.Sprint(limit)}
	if a.deflate {
		args = append(args, "-deflate")
	}

	// As a client, the victim dials this server, which agrees to
	// permessage-deflate without checking the offer.
	accepted := make(chan net.Conn, a.conns)
	if role == "client" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := handshake.Upgrader{NegotiateExtensions: func([]string) (string, error) {
			if a.deflate {
				return "permessage-deflate", nil
			}
			return "", nil
		}}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if res, err := u.Upgrade(w, r); err == nil {
				accepted <- res.Conn
			}
		})}
		go srv.Serve(ln)
		defer srv.Close()
		args = append(args, "-addr", "ws://"+ln.Addr().String()+"/")
	}

	cmd := exec.CommandContext(ctx, probe, args...)
	// Huge pages would make the resident set grow 2 MiB at a time, on a
	// kernel that gives them without being asked.
	cmd.Env = append(os.Environ(), "GODEBUG=disablethp=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	next := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		cmd.Process.Kill()
		t.Fatalf("probe ended before %q: %v", prefix, lines.Err())
		return ""
	}

	var ncs []net.Conn
	defer func() {
		for _, nc := range ncs {
			nc.Close()
		}
	}()
	if role == "server" {
		addr := next("listen ")
		d := handshake.Dialer{CheckExtensions: func(string) error { return nil }}
		if a.deflate {
			d.Extensions = []string{"permessage-deflate"}
		}
		for range a.conns {
			res, _, err := d.Dial(ctx, "ws://"+addr+"/")
			if err != nil {
				t.Fatal(err)
			}
			ncs = append(ncs, res.Conn)
		}
	} else {
		for range a.conns {
			select {
			case nc := <-accepted:
				ncs = append(ncs, nc)
			case <-ctx.Done():
				t.Fatal("the probe did not dial")
			}
		}
	}
	next("ready")

	masked := role == "server"
	errs := make(chan error, len(ncs))
	for _, nc := range ncs {
		go func() {
			nc.SetWriteDeadline(time.Now().Add(time.Minute))
			err := a.send(nc, masked)
			if err == nil && !a.stall {
				// The end of the conversation: a streaming victim
				// reads it after the message.
				h := frame.Header{Fin: true, Opcode: frame.OpClose, Masked: masked, Length: 2}
				_, err = nc.Write(append(frame.AppendHeader(nil, h), 0x03, 0xe8))
			}
			errs <- err
		}()
	}
	for range ncs {
		// A victim that refuses the message stops reading: the write
		// that fails then is expected.
		if err := <-errs; err != nil && a.stall {
			t.Fatal(err)
		} else if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the victim stopped reading without closing")
		}
	}
	if a.stall {
		// The headers are in; give the victim's reads time to take
		// them, then ask for the report while they wait for the rest.
		time.Sleep(300 * time.Millisecond)
		io.WriteString(stdin, "report\n")
	}
	var rep memReport
	if err := json.Unmarshal([]byte(next("result ")), &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}
