package suite

import "sync"

var (
	catalogueOnce sync.Once
	catalogue     []*Case
)

// Catalogue returns every case of the suite, in its order: 1.* framing,
// 2.* pings and pongs, 3.* reserved bits, 4.* opcodes, 5.* fragmentation,
// 6.* UTF-8, 7.* closing, 9.* limits and performance, 10.*
// auto-fragmentation, 12.* and 13.* permessage-deflate. The slice is
// shared; do not modify it.
func Catalogue() []*Case {
	catalogueOnce.Do(func() {
		var cs []*Case
		cs = append(cs, framingCases()...)
		cs = append(cs, pingCases()...)
		cs = append(cs, rsvCases()...)
		cs = append(cs, opcodeCases()...)
		cs = append(cs, fragmentationCases()...)
		cs = append(cs, utf8Cases()...)
		cs = append(cs, closeCases()...)
		cs = append(cs, perfCases()...)
		cs = append(cs, deflateCases()...)
		catalogue = cs
	})
	return catalogue
}

// Lookup returns the case with the given ID, or nil.
func Lookup(id string) *Case {
	for _, c := range Catalogue() {
		if c.ID == id {
			return c
		}
	}
	return nil
}
