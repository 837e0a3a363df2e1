package suite

import (
	"bytes"
	"fmt"
)

// closeCase is the shape of most of section 7: the runner starts closing
// (with whatever it sends first), and the peer must answer as expected.
// A wrong close code fails the case.
func closeCase(id, desc, exp string, requireClean bool, codes []int, send func(s *Session)) *Case {
	return &Case{ID: id, Description: desc, Expectation: exp,
		Start: func(s *Session) {
			s.suppressClose = true
			s.wrongCodeFails()
			s.expect(OK)
			s.expectClose(true, requireClean, codes...)
			send(s)
			s.killAfter(sec)
		}}
}

func closeCases() []*Case {
	helloW := []byte("Hello World!")
	badReason := []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
	cleanNormal := "Clean close with code 1000."
	cs := []*Case{
		{ID: "7.1.1", Description: "A text message, then (once echoed) a close.",
			Expectation: "The message is echoed, then a clean close with code 1000.",
			Start: func(s *Session) {
				s.wrongCodeFails()
				s.expect(OK, Text(helloW))
				s.expectClose(true, true, normal)
				s.frame(fr{op: opText, payload: helloW})
				s.killAfter(sec)
			}},
		closeCase("7.1.2", "Two close frames in a row.", cleanNormal+" The second close frame is ignored.", true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), "")
			s.frame(fr{op: opClose})
		}),
		closeCase("7.1.3", "A close frame, then a ping.", cleanNormal+" No pong.", true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), "")
			s.frame(fr{op: opPing})
		}),
		closeCase("7.1.4", "A close frame, then a text message.", cleanNormal+" The message is not echoed.", true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), "")
			s.frame(fr{op: opText, payload: helloW})
		}),
		closeCase("7.1.5", "The first fragment of a text message, a close frame, then the last fragment.", cleanNormal, true, []int{normal}, func(s *Session) {
			s.frame(fr{op: opText, more: true, payload: []byte("fragment1")})
			s.sendClose(intp(normal), "")
			s.frame(fr{op: opCont, payload: []byte("fragment2")})
		}),
		{ID: "7.1.6", Description: "A 256 KiB text message, a short text message, a close frame and a ping, back to back.",
			Expectation: "Informational: whether the peer answers the messages before it processes the close depends on its design.",
			Start: func(s *Session) {
				s.suppressClose = true
				s.expect(OK, Text(helloW))
				s.expect(NonStrict)
				s.expectClose(true, true, normal)
				s.frame(fr{op: opText, payload: []byte("BAsd7&jh23"), n: 256 << 10})
				s.frame(fr{op: opText, payload: helloW})
				s.sendClose(intp(normal), "")
				s.frame(fr{op: opPing})
				s.killAfter(sec)
				s.onLost = append(s.onLost, func() {
					switch s.behavior {
					case OK:
						s.result = "Text message was processed before close."
					case NonStrict:
						s.result = "Close was processed before text message could be returned."
					}
					s.behavior, s.behaviorClose = Informational, Informational
				})
			}},
		closeCase("7.3.1", "A close frame with no payload (no code, no reason).", cleanNormal, true, []int{normal}, func(s *Session) {
			s.sendCloseFrame(nil, nil, false)
		}),
		closeCase("7.3.2", "A close frame with a payload of one octet.", "The peer fails the connection with 1002 or drops TCP.", false, []int{protoErr}, func(s *Session) {
			s.sendCloseFrame(nil, []byte("a"), false)
		}),
		closeCase("7.3.3", "A close frame with code 1000 and no reason.", cleanNormal, true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), "")
		}),
		closeCase("7.3.4", "A close frame with code 1000 and a reason.", cleanNormal, true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), "Hello World!")
		}),
		closeCase("7.3.5", "A close frame with code 1000 and a reason of 123 octets (125 in all, the largest allowed).", cleanNormal, true, []int{normal}, func(s *Session) {
			s.sendClose(intp(normal), string(bytes.Repeat([]byte{'*'}, 123)))
		}),
		closeCase("7.3.6", "A close frame with code 1000 and a reason of 124 octets (126 in all, one too many for a control frame).", "The peer fails the connection with 1002 or drops TCP.", false, []int{protoErr}, func(s *Session) {
			s.sendCloseFrame(intp(normal), bytes.Repeat([]byte{'*'}, 124), false)
		}),
		closeCase("7.5.1", "A close frame with code 1000 and a reason that is not UTF-8.", "The peer fails the connection with 1002 or 1007, or drops TCP.", false, []int{protoErr, badData}, func(s *Session) {
			s.sendCloseFrame(intp(normal), badReason, false)
		}),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, closeCase(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("A close frame with the valid code %d.", code),
			"Clean close with code 1000 or the same code.", true, []int{normal, code}, func(s *Session) {
				s.sendCloseFrame(intp(code), nil, false)
			}))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, closeCase(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("A close frame with the invalid code %d.", code),
			"The peer fails the connection with 1002 or drops TCP.", false, []int{protoErr}, func(s *Session) {
				s.sendCloseFrame(intp(code), nil, false)
			}))
	}
	for i, code := range []int{5000, 65535} {
		cs = append(cs, &Case{ID: fmt.Sprintf("7.13.%d", i+1), Description: fmt.Sprintf("A close frame with the code %d, outside every range RFC 6455 defines.", code),
			Expectation: "Informational: RFC 6455 leaves the answer open.",
			Start: func(s *Session) {
				s.suppressClose = true
				s.expect(OK)
				s.expectClose(true, false, normal, code, protoErr)
				s.sendCloseFrame(intp(code), nil, false)
				s.killAfter(sec)
				s.onLost = append(s.onLost, func() {
					s.behavior, s.behaviorClose = Informational, Informational
					s.result = "Actual events are undefined by the spec."
				})
			}})
	}
	return cs
}
