package suite

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// utf8Group is one subsection of 6.5-6.23: test vectors after Markus
// Kuhn's UTF-8 decoder stress test, each valid or not.
type utf8Group struct {
	title   string
	vectors [][]byte
}

func b(s string) []byte { return []byte(s) }

// kosme is "κόσμε" in UTF-8.
var kosme = b("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")

func utf8Groups() []utf8Group {
	var gs []utf8Group
	add := func(title string, vs ...[]byte) { gs = append(gs, utf8Group{title, vs}) }

	add("Some valid UTF-8 sequences",
		b("hello\x24world"), b("hello\xc2\xa2world"), b("hello\xe2\x82\xacworld"), b("hello\xf0\xa4\xad\xa2world"), kosme)
	var prefixes [][]byte
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, kosme[:i])
	}
	add("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes...)
	add("First possible sequence of a certain length", b("\x00"), b("\xc2\x80"), b("\xe0\xa0\x80"), b("\xf0\x90\x80\x80"))
	add("First possible sequence length 5/6 (invalid codepoints)", b("\xf8\x88\x80\x80\x80"), b("\xfc\x84\x80\x80\x80\x80"))
	add("Last possible sequence of a certain length", b("\x7f"), b("\xdf\xbf"), b("\xef\xbf\xbf"), b("\xf4\x8f\xbf\xbf"))
	add("Last possible sequence length 4/5/6 (invalid codepoints)", b("\xf7\xbf\xbf\xbf"), b("\xfb\xbf\xbf\xbf\xbf"), b("\xfd\xbf\xbf\xbf\xbf\xbf"))
	add("Other boundary conditions", b("\xed\x9f\xbf"), b("\xee\x80\x80"), b("\xef\xbf\xbd"), b("\xf4\x8f\xbf\xbf"), b("\xf4\x90\x80\x80"))
	var conts []byte
	for c := 0x80; c < 0xbf; c++ {
		conts = append(conts, byte(c))
	}
	add("Unexpected continuation bytes", b("\x80"), b("\xbf"), b("\x80\xbf"), b("\x80\xbf\x80"), b("\x80\xbf\x80\xbf"),
		b("\x80\xbf\x80\xbf\x80"), b("\x80\xbf\x80\xbf\x80\xbf"), conts)
	var lonely [][]byte
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var v []byte
		for c := r[0]; c < r[1]; c++ {
			v = append(v, byte(c), 0x20)
		}
		lonely = append(lonely, v)
	}
	add("Lonely start characters", lonely...)
	missing := [][]byte{b("\xc0"), b("\xe0\x80"), b("\xf0\x80\x80"), b("\xf8\x80\x80\x80"), b("\xfc\x80\x80\x80\x80"),
		b("\xdf"), b("\xef\xbf"), b("\xf7\xbf\xbf"), b("\xfb\xbf\xbf\xbf"), b("\xfd\xbf\xbf\xbf\xbf")}
	add("Sequences with last continuation byte missing", missing...)
	add("Concatenation of incomplete sequences", bytes.Join(missing, nil))
	add("Impossible bytes", b("\xfe"), b("\xff"), b("\xfe\xfe\xff\xff"))
	add("Examples of an overlong ASCII character", b("\xc0\xaf"), b("\xe0\x80\xaf"), b("\xf0\x80\x80\xaf"), b("\xf8\x80\x80\x80\xaf"), b("\xfc\x80\x80\x80\x80\xaf"))
	add("Maximum overlong sequences", b("\xc1\xbf"), b("\xe0\x9f\xbf"), b("\xf0\x8f\xbf\xbf"), b("\xf8\x87\xbf\xbf\xbf"), b("\xfc\x83\xbf\xbf\xbf\xbf"))
	add("Overlong representation of the NUL character", b("\xc0\x80"), b("\xe0\x80\x80"), b("\xf0\x80\x80\x80"), b("\xf8\x80\x80\x80\x80"), b("\xfc\x80\x80\x80\x80\x80"))
	add("Single UTF-16 surrogates", b("\xed\xa0\x80"), b("\xed\xad\xbf"), b("\xed\xae\x80"), b("\xed\xaf\xbf"), b("\xed\xb0\x80"), b("\xed\xbe\x80"), b("\xed\xbf\xbf"))
	add("Paired UTF-16 surrogates",
		b("\xed\xa0\x80\xed\xb0\x80"), b("\xed\xa0\x80\xed\xbf\xbf"), b("\xed\xad\xbf\xed\xb0\x80"), b("\xed\xad\xbf\xed\xbf\xbf"),
		b("\xed\xae\x80\xed\xb0\x80"), b("\xed\xae\x80\xed\xbf\xbf"), b("\xed\xaf\xbf\xed\xb0\x80"), b("\xed\xaf\xbf\xed\xbf\xbf"))
	nonchars := [][]byte{b("\xef\xbf\xbe"), b("\xef\xbf\xbf")}
	for lead := byte(0xf0); lead <= 0xf4; lead++ {
		for _, second := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if lead == 0xf4 && second != 0x8f {
				continue // beyond U+10FFFF
			}
			for _, last := range []byte{0xbe, 0xbf} {
				if lead == 0xf0 && second == 0x8f {
					continue // overlong
				}
				nonchars = append(nonchars, []byte{lead, second, 0xbf, last})
			}
		}
	}
	add("Non-character code points (valid UTF-8)", nonchars...)
	add("Unicode specials (i.e. replacement char)", b("\xef\xbf\xb9"), b("\xef\xbf\xba"), b("\xef\xbf\xbb"), b("\xef\xbf\xbc"), b("\xef\xbf\xbd"), b("\xef\xbf\xbe"), b("\xef\xbf\xbf"))
	return gs
}

func utf8Cases() []*Case {
	text := b("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")
	bad := b("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
	echo := func(id, desc string, p []byte, send func(s *Session)) *Case {
		return echoCase(id, desc, send, sec, false, func() []Event { return []Event{Text(p)} })
	}
	invalid := func(c *Case) *Case {
		c.Tags = append(c.Tags, "invalid-utf8")
		return c
	}
	split := text[:15] // after "Hello-µ@ßöä", a code point boundary
	cs := []*Case{
		echo("6.1.1", "A text message with no payload.", nil, func(s *Session) { s.frame(fr{op: opText}) }),
		echo("6.1.2", "A text message in three empty fragments.", nil, func(s *Session) {
			s.frame(fr{op: opText, more: true})
			s.frame(fr{op: opCont, more: true})
			s.frame(fr{op: opCont})
		}),
		echo("6.1.3", "A text message in three fragments, the first and last empty.", b("middle frame payload"), func(s *Session) {
			s.frame(fr{op: opText, more: true})
			s.frame(fr{op: opCont, more: true, payload: b("middle frame payload")})
			s.frame(fr{op: opCont})
		}),
		echo("6.2.1", "Valid UTF-8 text in one frame: 0x"+hex.EncodeToString(text), text, func(s *Session) {
			s.frame(fr{op: opText, payload: text})
		}),
		echo("6.2.2", "Valid UTF-8 text in two frames split at a code point boundary.", text, func(s *Session) {
			s.frame(fr{op: opText, more: true, payload: split})
			s.frame(fr{op: opCont, payload: text[len(split):]})
		}),
		echo("6.2.3", "Valid UTF-8 text in frames of one octet, most of them ending inside a code point.", text, func(s *Session) {
			s.message(false, text, 1)
		}),
		echo("6.2.4", "Valid UTF-8 text (0x"+hex.EncodeToString(kosme)+") in frames of one octet.", kosme, func(s *Session) {
			s.message(false, kosme, 1)
		}),
		invalid(failCase("6.3.1", "Invalid UTF-8 text (a UTF-16 surrogate) in one frame: 0x"+hex.EncodeToString(bad), badData, nil, func(s *Session) {
			s.frame(fr{op: opText, payload: bad})
		})),
		invalid(failCase("6.3.2", "The same invalid UTF-8 text in frames of one octet.", badData, nil, func(s *Session) {
			s.message(false, bad, 1)
		})),
	}
	// 6.4: fail fast. The second part makes the text invalid; a peer
	// should fail the connection on it, not wait for the end.
	p1, p2, p3 := kosme, b("\xf4\x90\x80\x80"), b("edited")
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	for i, parts := range [][3][]byte{{p1, p2, p3}, {whole[:12], whole[12:13], whole[13:]}, {p1, p2, p3}, {whole[:12], whole[12:13], whole[13:]}} {
		frames := i < 2
		desc := fmt.Sprintf("Invalid UTF-8 text in three %s (0x%x, 0x%x, 0x%x) with 1 s pauses; the second part makes it invalid.",
			map[bool]string{true: "frames", false: "pieces of one frame"}[frames], parts[0], parts[1], parts[2])
		cs = append(cs, invalid(&Case{ID: fmt.Sprintf("6.4.%d", i+1), Description: desc,
			Expectation: "The first part is accepted (the first pause runs out); the peer fails the connection with 1007 as soon as it gets the second part (NON-STRICT if only after the third).",
			Start: func(s *Session) {
				s.expect(OK, Timeout("A"))
				s.expect(NonStrict, Timeout("A"), Timeout("B"))
				s.expectClose(false, false, badData)
				var sf *streamFrame
				if frames {
					s.frame(fr{op: opText, more: true, payload: parts[0]})
				} else {
					sf = s.beginFrame(opText, len(whole))
					sf.data(parts[0])
				}
				s.continueLater(sec, "A", func() {
					if !s.open() {
						return
					}
					s.record(Timeout("A"))
					if frames {
						s.frame(fr{op: opCont, more: true, payload: parts[1]})
					} else {
						sf.data(parts[1])
					}
					s.continueLater(sec, "B", func() {
						if !s.open() {
							return
						}
						s.record(Timeout("B"))
						if frames {
							s.frame(fr{op: opCont, payload: parts[2]})
						} else {
							sf.data(parts[2])
						}
						s.killAfter(sec)
					})
				})
			}}))
	}
	for gi, g := range utf8Groups() {
		for vi, v := range g.vectors {
			id := fmt.Sprintf("6.%d.%d", gi+5, vi+1)
			if utf8.Valid(v) {
				cs = append(cs, &Case{ID: id, Description: "Valid UTF-8 text in one frame (" + g.title + "): 0x" + hex.EncodeToString(v),
					Expectation: "The peer echoes the message; clean close with code 1000.",
					Start: func(s *Session) {
						s.expect(OK, Text(v))
						s.expectClose(true, true, normal)
						s.message(false, v, 0)
						s.killAfter(sec / 2)
					}})
				continue
			}
			cs = append(cs, &Case{ID: id, Description: "Invalid UTF-8 text in one frame (" + g.title + "): 0x" + hex.EncodeToString(v),
				Expectation: "The peer fails the connection (close code 1007, or dropping TCP).",
				Tags:        []string{"invalid-utf8"},
				Start: func(s *Session) {
					s.expect(OK)
					s.expectClose(false, false, badData)
					s.message(false, v, 0)
					s.killAfter(sec / 2)
				}})
		}
	}
	return cs
}
