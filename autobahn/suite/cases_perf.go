package suite

import (
	"bytes"
	"fmt"
	"time"
)

var (
	textPattern = []byte("BAsd7&jh23")
	star        = []byte("*")
	fe          = []byte{0xfe}
)

func kind(binary bool) string {
	if binary {
		return "binary"
	}
	return "text"
}

func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

// bigEcho is the shape of 9.1-9.6: one large message, echoed once. The
// echo is checked by type, length and content (the suite checks the first
// two); the wire log is off while it travels.
func bigEcho(id, desc string, binary bool, pattern []byte, n int64, wait time.Duration, send func(s *Session)) *Case {
	return &Case{ID: id, Description: desc,
		Expectation: fmt.Sprintf("The peer echoes the %s message of %s; clean close with code 1000.", kind(binary), sizeName(n)),
		Start: func(s *Session) {
			want := patternEvent(binary, pattern, n)
			s.reportTime = true
			s.enableWirelog(false)
			s.expectClose(true, true, normal)
			s.result = fmt.Sprintf("Did not receive message within %d seconds.", int(min(wait, s.opts.maxWait()).Seconds()))
			s.onMessage = func(m Message) {
				switch {
				case m.Binary != binary:
					s.result = fmt.Sprintf("Expected %s message, got %s.", kind(binary), kind(m.Binary))
				case m.Len != n:
					s.result = fmt.Sprintf("Expected a message of %d octets, got %d.", n, m.Len)
				case m.Sum != want.Sum:
					s.result = "The echoed payload differs from what was sent."
				default:
					s.behavior = OK
					s.result = fmt.Sprintf("Received %s message of length %d.", kind(binary), m.Len)
				}
				s.enableWirelog(true)
				s.sendClose(intp(normal), "")
			}
			send(s)
			s.closeAfter(wait)
		}}
}

func perfCases() []*Case {
	var cs []*Case
	for sub, binary := range []bool{false, true} {
		op, pattern := byte(opText), textPattern
		if binary {
			op, pattern = opBinary, fe
		}
		for i, n := range []int64{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
			wait := []time.Duration{10, 10, 20, 60, 100, 200}[i] * sec
			cs = append(cs, bigEcho(fmt.Sprintf("9.%d.%d", 1+sub, i+1),
				fmt.Sprintf("A %s message of %s in one frame.", kind(binary), sizeName(n)), binary, pattern, n, wait,
				func(s *Session) { s.frame(fr{op: op, payload: pattern, n: int(n)}) }))
		}
	}
	for sub, binary := range []bool{false, true} {
		op, pattern := byte(opText), star
		if binary {
			op, pattern = opBinary, fe
		}
		const n = 4 << 20
		for i, frag := range []int64{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
			cs = append(cs, bigEcho(fmt.Sprintf("9.%d.%d", 3+sub, i+1),
				fmt.Sprintf("A %s message of %s in fragments of %s.", kind(binary), sizeName(n), sizeName(frag)), binary, pattern, n, 100*sec,
				func(s *Session) { s.fragmentedPattern(op, pattern, n, frag) }))
		}
	}
	for sub, binary := range []bool{false, true} {
		op, pattern := byte(opText), textPattern
		if binary {
			op, pattern = opBinary, fe
		}
		const n = 1 << 20
		for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
			cs = append(cs, bigEcho(fmt.Sprintf("9.%d.%d", 5+sub, i+1),
				fmt.Sprintf("A %s message of %s in one frame, written to TCP in pieces of %d octets.", kind(binary), sizeName(n), chop), binary, pattern, n, 1000*sec,
				func(s *Session) { s.frame(fr{op: op, payload: pattern, n: n, chop: chop}) }))
		}
	}
	for sub, binary := range []bool{false, true} {
		for i, t := range []struct {
			n    int
			wait time.Duration
		}{{0, 60}, {16, 60}, {64, 60}, {256, 120}, {1024, 240}, {4096, 480}} {
			fill := byte('*')
			if binary {
				fill = 0xfe
			}
			p := bytes.Repeat([]byte{fill}, t.n)
			cs = append(cs, roundTrips(fmt.Sprintf("9.%d.%d", 7+sub, i+1), binary, p, 1000, t.wait*sec))
		}
	}
	payload := bytes.Repeat(star, 65536)
	cs = append(cs, &Case{ID: "10.1.1", Description: "A text message of 64 KiB sent in fragments of 1300 octets (auto-fragmentation).",
		Expectation: "The message is echoed (and the runner sent the frames it meant to); clean close with code 1000.",
		Start: func(s *Session) {
			s.autoFrag = 1300
			s.expect(OK, Text(payload))
			s.expectClose(true, true, normal)
			s.message(false, payload, 0)
			s.killAfter(10 * sec)
			s.onLost = append(s.onLost, func() {
				want := map[int]int{opCont: len(payload) / s.autoFrag, opText: 1}
				if s.txFrames[opCont] != want[opCont] || s.txFrames[opText] != want[opText] {
					s.behavior = Failed
					s.result = fmt.Sprintf("Frames transmitted %v does not match what we expected %v.", s.txFrames, want)
				}
			})
		}})
	return cs
}

// roundTrips is the shape of 9.7 and 9.8: count messages, each sent when
// the echo of the previous one arrived.
func roundTrips(id string, binary bool, p []byte, count int, wait time.Duration) *Case {
	return &Case{ID: id,
		Description: fmt.Sprintf("%d %s messages of %d octets, one at a time, to measure the round trip time.", count, kind(binary), len(p)),
		Expectation: fmt.Sprintf("Every message is echoed within %d s in all; clean close with code 1000.", int(wait.Seconds())),
		Start: func(s *Session) {
			want := payloadEvent("message", binary, p)
			s.reportTime = true
			s.enableWirelog(false)
			s.expectClose(true, true, normal)
			s.result = fmt.Sprintf("Case did not finish within %d seconds.", int(min(wait, s.opts.maxWait()).Seconds()))
			sent := 0
			sendOne := func() {
				s.message(binary, p, 0)
				sent++
			}
			s.onMessage = func(m Message) {
				switch {
				case m.Binary != binary || m.Len != want.Len || m.Sum != want.Sum:
					s.result = fmt.Sprintf("Echo'ed message type or length differs from what I sent (got binary = %v, payload length = %d).", m.Binary, m.Len)
				case sent < count:
					sendOne()
					return
				default:
					s.behavior = OK
					s.result = "Ok, received all echo'ed messages in time."
				}
				s.enableWirelog(true)
				s.sendClose(intp(normal), "")
			}
			s.closeAfter(wait)
			sendOne()
		}}
}
