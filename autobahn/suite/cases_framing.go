package suite

import (
	"bytes"
	"fmt"
	"time"
)

const (
	sec      = time.Second
	normal   = 1000
	protoErr = 1002
	badData  = 1007
)

var (
	hello    = []byte("Hello, world!")
	smallBin = []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
)

// echoCase builds the common shape: send, expect the echo (or pong)
// events, and close normally once they arrived.
func echoCase(id, desc string, send func(s *Session), wait time.Duration, kill bool, events func() []Event) *Case {
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: "The peer echoes what was sent; then a clean close with code 1000.",
		Start: func(s *Session) {
			s.expect(OK, events()...)
			s.expectClose(true, true, normal)
			send(s)
			if kill {
				s.killAfter(wait)
			} else {
				s.closeAfter(wait)
			}
		},
	}
}

// failCase builds the other common shape: send something the peer must
// refuse, expect it to fail the connection with code, after the events of
// okEvents at most (when okEvents is not nil, receiving nothing is
// NON-STRICT).
func failCase(id, desc string, code int, okEvents []Event, send func(s *Session)) *Case {
	exp := fmt.Sprintf("The peer fails the connection (close code %d, or dropping TCP).", code)
	if okEvents != nil {
		exp = fmt.Sprintf("The peer echoes the valid part, then fails the connection (close code %d, or dropping TCP).", code)
	}
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: exp,
		Start: func(s *Session) {
			if okEvents != nil {
				s.expect(OK, okEvents...)
				s.expect(NonStrict)
			} else {
				s.expect(OK)
			}
			s.expectClose(false, false, code)
			send(s)
			s.killAfter(sec)
		},
	}
}

func framingCases() []*Case {
	var cs []*Case
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for sub, kind := range []struct {
		op   byte
		fill byte
		name string
	}{{opText, '*', "text"}, {opBinary, 0xfe, "binary"}} {
		for i, n := range append(sizes, 65536) {
			p := bytes.Repeat([]byte{kind.fill}, n)
			chop := 0
			desc := fmt.Sprintf("A %s message of %d octets in one frame.", kind.name, n)
			if i == len(sizes) {
				chop = 997
				desc = fmt.Sprintf("A %s message of %d octets, written to TCP in pieces of 997 octets.", kind.name, n)
			}
			wait := sec
			if n > 128 {
				wait = 10 * sec
			}
			op := kind.op
			cs = append(cs, echoCase(fmt.Sprintf("1.%d.%d", sub+1, i+1), desc,
				func(s *Session) { s.frame(fr{op: op, payload: p, chop: chop}) }, wait, true,
				func() []Event {
					if op == opBinary {
						return []Event{Binary(p)}
					}
					return []Event{Text(p)}
				}))
		}
	}
	return cs
}

func pingCases() []*Case {
	ping := func(id, desc string, p []byte, chop int, wait time.Duration) *Case {
		return echoCase(id, desc, func(s *Session) { s.frame(fr{op: opPing, payload: p, chop: chop}) },
			wait, false, func() []Event { return []Event{Pong(p)} })
	}
	unsolicited := func(id, desc string, p []byte) *Case {
		return &Case{ID: id, Description: desc, Expectation: "The peer ignores the pong; clean close with code 1000.",
			Start: func(s *Session) {
				s.expect(OK)
				s.expectClose(true, true, normal)
				s.frame(fr{op: opPong, payload: p})
				s.sendClose(intp(normal), "")
				s.closeAfter(sec)
			}}
	}
	tenPings := func(id, desc string, chop int) *Case {
		return &Case{ID: id, Description: desc, Expectation: "A pong for every ping, in order, each with its ping's payload (not required by RFC 6455, checked anyway); clean close with code 1000.",
			Start: func(s *Session) {
				var evs []Event
				for i := 0; i < 10; i++ {
					p := []byte(fmt.Sprintf("payload-%d", i))
					evs = append(evs, Pong(p))
					s.frame(fr{op: opPing, payload: p, chop: chop})
				}
				s.expect(OK, evs...)
				s.expectClose(true, true, normal)
				s.closeAfter(3 * sec)
			}}
	}
	return []*Case{
		ping("2.1", "A ping with no payload.", nil, 0, sec),
		ping("2.2", "A ping with a short text payload.", hello, 0, sec),
		ping("2.3", "A ping with a short binary payload that is not UTF-8.", smallBin, 0, sec),
		ping("2.4", "A ping with 125 octets of binary payload, the largest allowed.", bytes.Repeat([]byte{0xfe}, 125), 0, sec),
		failCase("2.5", "A ping with 126 octets of payload, one more than a control frame may carry.", protoErr, nil,
			func(s *Session) { s.frame(fr{op: opPing, payload: bytes.Repeat([]byte{0xfe}, 126)}) }),
		ping("2.6", "A ping with 125 octets of payload, written to TCP one octet at a time.", bytes.Repeat([]byte{0xfe}, 125), 1, 2*sec),
		unsolicited("2.7", "An unsolicited pong with no payload, then a close.", nil),
		unsolicited("2.8", "An unsolicited pong with a payload, then a close.", []byte("unsolicited pong payload")),
		echoCase("2.9", "An unsolicited pong, then a ping with a payload.", func(s *Session) {
			s.frame(fr{op: opPong, payload: []byte("unsolicited pong payload")})
			s.frame(fr{op: opPing, payload: []byte("ping payload")})
		}, sec, false, func() []Event { return []Event{Pong([]byte("ping payload"))} }),
		tenPings("2.10", "Ten pings with distinct payloads, back to back.", 0),
		tenPings("2.11", "Ten pings with distinct payloads, written to TCP one octet at a time.", 1),
	}
}

func rsvCases() []*Case {
	// thenPing: a valid message, the same with reserved bits, a ping.
	thenPing := func(id, desc string, rsv byte, chop int, sync bool) *Case {
		return failCase(id, desc, protoErr, []Event{Text(hello)}, func(s *Session) {
			s.frame(fr{op: opText, payload: hello, chop: chop, sync: sync})
			s.frame(fr{op: opText, payload: hello, rsv: rsv, chop: chop, sync: sync})
			s.frame(fr{op: opPing, chop: chop, sync: sync})
		})
	}
	return []*Case{
		failCase("3.1", "A short text message with RSV3 set (reserved bits 1), no extension agreed.", protoErr, nil,
			func(s *Session) { s.frame(fr{op: opText, payload: hello, rsv: 1}) }),
		thenPing("3.2", "A text message, the same with RSV2 set (reserved bits 2), then a ping.", 2, 0, false),
		thenPing("3.3", "A text message, the same with RSV2 and RSV3 set (3), then a ping; each frame written on its own.", 3, 0, true),
		thenPing("3.4", "A text message, the same with RSV1 set (4), then a ping; one octet per write.", 4, 1, false),
		failCase("3.5", "A short binary message with RSV1 and RSV3 set (5).", protoErr, nil,
			func(s *Session) { s.frame(fr{op: opBinary, payload: smallBin, rsv: 5}) }),
		failCase("3.6", "A ping with RSV1 and RSV2 set (6).", protoErr, nil,
			func(s *Session) { s.frame(fr{op: opPing, payload: hello, rsv: 6}) }),
		failCase("3.7", "A close frame with all reserved bits set (7).", protoErr, nil,
			func(s *Session) { s.frame(fr{op: opClose, rsv: 7}) }),
	}
}

func opcodeCases() []*Case {
	var cs []*Case
	for sub, ops := range [][]byte{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		kind := "non-control"
		if sub == 1 {
			kind = "control"
		}
		for i, op := range ops {
			id := fmt.Sprintf("4.%d.%d", sub+1, i+1)
			switch i {
			case 0:
				cs = append(cs, failCase(id, fmt.Sprintf("A frame with the reserved %s opcode %d and no payload.", kind, op), protoErr, nil,
					func(s *Session) { s.frame(fr{op: op}) }))
			case 1:
				cs = append(cs, failCase(id, fmt.Sprintf("A frame with the reserved %s opcode %d and a payload.", kind, op), protoErr, nil,
					func(s *Session) { s.frame(fr{op: op, payload: []byte("reserved opcode payload")}) }))
			default:
				var payload []byte
				chop := 0
				desc := fmt.Sprintf("A text message, a frame with the reserved %s opcode %d, then a ping.", kind, op)
				if i >= 3 {
					payload = hello
					desc = fmt.Sprintf("A text message, a frame with the reserved %s opcode %d and a payload, then a ping.", kind, op)
				}
				if i == 4 {
					chop = 1
					desc += " One octet per write."
				}
				cs = append(cs, failCase(id, desc, protoErr, []Event{Text(hello)}, func(s *Session) {
					s.frame(fr{op: opText, payload: hello, chop: chop})
					s.frame(fr{op: op, payload: payload, chop: chop})
					s.frame(fr{op: opPing, chop: chop})
				}))
			}
		}
	}
	return cs
}

func fragmentationCases() []*Case {
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	both := []byte("fragment1fragment2")
	pingP := []byte("ping payload")
	how := []string{"", " Each frame written on its own.", " One octet per write."}
	mode := func(i int) (chop int, sync bool) {
		switch i {
		case 1:
			return 0, true
		case 2:
			return 1, false
		}
		return 0, false
	}
	cs := []*Case{
		failCase("5.1", "A ping split into two fragments.", protoErr, nil, func(s *Session) {
			s.frame(fr{op: opPing, more: true, payload: f1})
			s.frame(fr{op: opCont, payload: f2})
		}),
		failCase("5.2", "A pong split into two fragments.", protoErr, nil, func(s *Session) {
			s.frame(fr{op: opPong, more: true, payload: f1})
			s.frame(fr{op: opCont, payload: f2})
		}),
	}
	for i := 0; i < 3; i++ {
		chop, sync := mode(i)
		cs = append(cs, echoCase(fmt.Sprintf("5.%d", 3+i), "A text message in two fragments."+how[i], func(s *Session) {
			s.frame(fr{op: opText, more: true, payload: f1, chop: chop, sync: sync})
			s.frame(fr{op: opCont, payload: f2, chop: chop, sync: sync})
		}, sec, false, func() []Event { return []Event{Text(both)} }))
	}
	for i := 0; i < 3; i++ {
		chop, sync := mode(i)
		cs = append(cs, echoCase(fmt.Sprintf("5.%d", 6+i), "A text message in two fragments with a ping between them."+how[i], func(s *Session) {
			s.frame(fr{op: opText, more: true, payload: f1, chop: chop, sync: sync})
			s.frame(fr{op: opPing, payload: pingP, chop: chop, sync: sync})
			s.frame(fr{op: opCont, payload: f2, chop: chop, sync: sync})
		}, sec, false, func() []Event { return []Event{Pong(pingP), Text(both)} }))
	}
	for j, fin := range []bool{true, false} {
		for i := 0; i < 3; i++ {
			chop, sync := mode(i)
			desc := fmt.Sprintf("A continuation frame (FIN %v) with no message to continue, then a text message.%s", fin, how[i])
			cs = append(cs, failCase(fmt.Sprintf("5.%d", 9+3*j+i), desc, protoErr, nil, func(s *Session) {
				s.frame(fr{op: opCont, more: !fin, payload: []byte("non-continuation payload"), chop: chop, sync: sync})
				s.frame(fr{op: opText, payload: hello, chop: chop, sync: sync})
			}))
		}
	}
	cs = append(cs,
		failCase("5.15", "A text message in two fragments, then a continuation (FIN clear) with nothing to continue, then a text frame.", protoErr,
			[]Event{Text(both)}, func(s *Session) {
				s.frame(fr{op: opText, more: true, payload: f1})
				s.frame(fr{op: opCont, payload: f2})
				s.frame(fr{op: opCont, more: true, payload: []byte("fragment3")})
				s.frame(fr{op: opText, payload: []byte("fragment4")})
			}),
	)
	for j, fin := range []bool{false, true} {
		cs = append(cs, failCase(fmt.Sprintf("5.%d", 16+j),
			fmt.Sprintf("Twice: a continuation (FIN %v) with nothing to continue, then a text message in two fragments.", fin), protoErr, nil,
			func(s *Session) {
				for k := 0; k < 2; k++ {
					s.frame(fr{op: opCont, more: !fin, payload: f1})
					s.frame(fr{op: opText, more: true, payload: f2})
					s.frame(fr{op: opCont, payload: []byte("fragment3")})
				}
			}))
	}
	cs = append(cs, failCase("5.18", "A text message in two fragments whose second frame is a text frame, not a continuation.", protoErr, nil,
		func(s *Session) {
			s.frame(fr{op: opText, more: true, payload: f1})
			s.frame(fr{op: opText, payload: f2})
		}))
	for j, sync := range []bool{false, true} {
		desc := "A text message in five fragments; after the second a ping, then a 1 s pause, two more fragments, a second ping and the last fragment."
		if sync {
			desc += " Each frame written on its own."
		}
		cs = append(cs, &Case{ID: fmt.Sprintf("5.%d", 19+j), Description: desc,
			Expectation: "Each ping is answered at once (before the message is complete) with its payload; the message is echoed whole; clean close with code 1000.",
			Start: func(s *Session) {
				frags := [][]byte{f1, f2, []byte("fragment3"), []byte("fragment4"), []byte("fragment5")}
				p1, p2 := []byte("pongme 1!"), []byte("pongme 2!")
				s.expect(OK, Pong(p1), Pong(p2), Text(bytes.Join(frags, nil)))
				s.expectClose(true, true, normal)
				s.frame(fr{op: opText, more: true, payload: frags[0], sync: sync})
				s.frame(fr{op: opCont, more: true, payload: frags[1], sync: sync})
				s.frame(fr{op: opPing, payload: p1, sync: sync})
				s.continueLater(sec, "", func() {
					s.frame(fr{op: opCont, more: true, payload: frags[2], sync: sync})
					s.frame(fr{op: opCont, more: true, payload: frags[3], sync: sync})
					s.frame(fr{op: opPing, payload: p2, sync: sync})
					s.frame(fr{op: opCont, payload: frags[4], sync: sync})
					s.closeAfter(sec)
				})
			}})
	}
	return cs
}
