package suite

import (
	"crypto/sha1"
	"fmt"
	"time"
)

// msgSizes are the message sizes of every compression subsection: payload
// length, the suite's timeout, and the auto-fragment size (0: none).
var msgSizes = []struct {
	n    int
	wait time.Duration
	frag int
}{
	{16, 60, 0}, {64, 60, 0}, {256, 120, 0}, {1024, 240, 0}, {4096, 480, 0}, {8192, 480, 0}, {16384, 480, 0},
	{32768, 480, 0}, {65536, 480, 0}, {131072, 480, 0},
	{8192, 480, 256}, {16384, 480, 256}, {32768, 480, 256}, {65536, 480, 256}, {131072, 480, 256},
	{131072, 480, 1024}, {131072, 480, 4096}, {131072, 480, 32768},
}

// Server answers of the 13.* subsections (the suite's accept1-accept7).
func acceptFirst(offers []pmdOffer) *pmdAccept {
	if len(offers) == 0 {
		return nil
	}
	return &pmdAccept{offer: offers[0]}
}

func acceptWith(noCtx bool, bits int) func([]pmdOffer) *pmdAccept {
	return func(offers []pmdOffer) *pmdAccept {
		for _, o := range offers {
			if noCtx && !o.acceptNoContextTakeover || bits != 0 && !o.acceptMaxWindowBits {
				continue
			}
			return &pmdAccept{offer: o, requestNoContextTakeover: noCtx, requestMaxWindowBits: bits}
		}
		return nil
	}
}

func acceptFallback(offers []pmdOffer) *pmdAccept {
	for _, f := range []func([]pmdOffer) *pmdAccept{acceptWith(true, 8), acceptWith(true, 0), acceptFirst} {
		if a := f(offers); a != nil {
			return a
		}
	}
	return nil
}

var deflateParams = []struct {
	accept     func([]pmdOffer) *pmdAccept
	acceptDesc string
	offers     []pmdOffer
}{
	{acceptFirst, "[(False, 0)]", []pmdOffer{defaultOffer(false, 0)}},
	{acceptWith(true, 0), "[(True, 0)]", []pmdOffer{defaultOffer(true, 0)}},
	{acceptWith(false, 8), "[(False, 8)]", []pmdOffer{defaultOffer(false, 8)}},
	{acceptWith(false, 15), "[(False, 15)]", []pmdOffer{defaultOffer(false, 15)}},
	{acceptWith(true, 8), "[(True, 8)]", []pmdOffer{defaultOffer(true, 8)}},
	{acceptWith(true, 15), "[(True, 15)]", []pmdOffer{defaultOffer(true, 15)}},
	{acceptFallback, "[(True, 8), (True, 0), (False, 0)]", []pmdOffer{defaultOffer(true, 8), defaultOffer(true, 0), defaultOffer(false, 0)}},
}

func offersDesc(offers []pmdOffer) string {
	s := "["
	for i, o := range offers {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("(%v, %d)", pyBool(o.requestNoContextTakeover), o.requestMaxWindowBits)
	}
	return s + "]"
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func deflateCases() []*Case {
	var cs []*Case
	for j, td := range testDataSets {
		for i, sz := range msgSizes {
			spec := &deflateSpec{offers: []pmdOffer{defaultOffer(false, 0)}, accept: acceptFirst}
			desc := fmt.Sprintf("Messages of %d octets from %q (%s), compressed, auto-fragmented to %d octets; the default permessage-deflate offer.",
				sz.n, td.key, td.desc, sz.frag)
			cs = append(cs, compressionCase(fmt.Sprintf("12.%d.%d", j+1, i+1), desc, td, sz.n, sz.frag, sz.wait*sec, spec))
		}
	}
	td := testDataSets[0]
	for j, p := range deflateParams {
		for i, sz := range msgSizes {
			spec := &deflateSpec{offers: p.offers, accept: p.accept}
			desc := fmt.Sprintf("Messages of %d octets from %q, compressed, auto-fragmented to %d octets. Client offers (requestNoContextTakeover, requestMaxWindowBits): %s; server accepts %s.",
				sz.n, td.key, sz.frag, offersDesc(p.offers), p.acceptDesc)
			cs = append(cs, compressionCase(fmt.Sprintf("13.%d.%d", j+1, i+1), desc, td, sz.n, sz.frag, sz.wait*sec, spec))
		}
	}
	return cs
}

// compressionCase sends messages of n octets cut from the test data, one
// at a time, each when the echo of the previous one arrived and matched.
func compressionCase(id, desc string, td testData, n, frag int, wait time.Duration, spec *deflateSpec) *Case {
	return &Case{ID: id, Description: desc,
		Expectation: fmt.Sprintf("Every message is echoed as sent; the case times out after %d s.", int(wait.Seconds())),
		deflate:     spec,
		Start: func(s *Session) {
			s.reportTime = true
			s.reportRatio = true
			s.expectClose(true, true, normal)
			if s.pmd == nil {
				s.behavior = Unimplemented
				s.result = "permessage-deflate was not agreed."
				s.sendClose(intp(normal), "")
				return
			}
			count := s.opts.deflateMessages()
			data := testDataBytes(td.key)
			s.enableWirelog(false)
			s.autoFrag = frag
			s.result = fmt.Sprintf("Case did not finish within %d seconds.", int(min(wait, s.opts.maxWait()).Seconds()))
			s.closeAfter(wait)
			ptr, sent := 0, 0
			var want [sha1.Size]byte
			msg := make([]byte, 0, n)
			sendOne := func() {
				msg = msg[:0]
				for len(msg) < n {
					m := min(n-len(msg), len(data)-ptr)
					msg = append(msg, data[ptr:ptr+m]...)
					ptr = (ptr + m) % len(data)
				}
				want = sha1.Sum(msg)
				s.message(td.binary, msg, 0)
				sent++
			}
			s.onMessage = func(m Message) {
				switch {
				case m.Binary != td.binary:
					s.result = fmt.Sprintf("Echo'ed message type differs from what I sent (got binary %v, expected binary %v).", m.Binary, td.binary)
				case m.Len != int64(n):
					s.result = fmt.Sprintf("Echo'ed message length differs from what I sent (got length %d, expected length %d).", m.Len, n)
				case m.Sum != want:
					s.result = fmt.Sprintf("Echo'ed message contents differs from what I sent (got SHA1 %x, expected SHA1 %x).", m.Sum, want)
				case sent < count:
					sendOne()
					return
				default:
					s.behavior = OK
					s.result = "Ok, received all echo'ed messages in time."
				}
				if s.behavior != OK {
					s.behavior = Failed
				}
				s.enableWirelog(true)
				s.sendClose(intp(normal), "")
			}
			sendOne()
		}}
}
