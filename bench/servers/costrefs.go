package servers

import (
	"net"
	"sync"
	"sync/atomic"
)

//go:generate go run gen_codefat.go

// The cost references price, on this machine, what a server's work per
// echo costs beside the kernel's: each is floor-netpoll plus one kind of
// work between the read and the write, and pairs of them differ in that
// kind only (compare them with perf/ab.sh; bench/README, Caveats). They
// are not libraries and run only when named with -libs.
//
//   - code-thin and code-fat run 256 calls of a small function per echo,
//     code-thin one function 256 times and code-fat 256 different ones:
//     about 16 KiB more machine code to run per echo (perf/footprint.sh:
//     386 more hot lines, and 1,080 more instructions of the indirect
//     calls, which a comparison must take out). Between two echoes of
//     a connection the kernel's network path runs and evicts user code
//     from the caches, so the difference is the price of the lines
//     fetched again, and of what they evict of the kernel's.
//     code-thin against floor-netpoll prices the instructions.
//   - state-0 and state-16 walk a chain of 0 or 16 of a connection's
//     cache lines, each in a page of its own, per echo: the price of
//     per-connection state that has gone cold since the connection's
//     last echo, as a library's connection, reader and writer structures
//     may have, at its worst (each line a TLB miss too, and each load
//     waiting for the one before). slab-16 updates 16 lines of its own
//     spread over a 4 MiB slab the connections share, none depending on
//     another: the same at its best.
func init() {
	ref := func(name, notes string, work func() func()) {
		register(&Lib{
			Name:      name,
			Reference: true,
			Variant:   true,
			Scenarios: []string{"echo"},
			Notes:     "not a library: floor-netpoll " + notes,
			Serve: func(ln net.Listener, o Options) error {
				return serveGobwasConns(ln, o, func(nc net.Conn) { floorNetpollLoop(nc, work()) })
			},
		})
	}
	ref("code-thin", "calling one small function 256 times per echo", func() func() { return codeWork(false) })
	ref("code-fat", "calling 256 different small functions per echo", func() func() { return codeWork(true) })
	ref("state-0", "walking an empty chain of per-connection nodes per echo", func() func() { return stateWork(0) })
	ref("state-16", "walking 16 cache lines of its connection, each in its own page, per echo", func() func() { return stateWork(16) })
	ref("slab-16", "updating 16 cache lines of its connection, spread over a shared 4 MiB slab, per echo", func() func() { return slabWork(16) })
}

// codeWork returns a connection's work for code-thin or code-fat: the
// steps run over a value the connection keeps. They are not inlined, so
// none is optimised away.
func codeWork(fat bool) func() {
	var x uint64
	return func() {
		if fat {
			for _, step := range codeSteps {
				x = step(x)
			}
		} else {
			for range codeSteps {
				x = codeStep0(x)
			}
		}
	}
}

// stateNode is a cache line of a connection's state, alone in its
// 4 KiB: a chain of them is no run of lines a prefetcher could follow.
type stateNode struct {
	next *stateNode
	n    uint64
	_    [4096 - 16]byte
}

// stateWork returns a connection's work for state-N: a chain of n nodes,
// the first line of each updated on every echo.
func stateWork(n int) func() {
	var head *stateNode
	for range n {
		head = &stateNode{next: head}
	}
	return func() {
		for s := head; s != nil; s = s.next {
			s.n++
		}
	}
}

// slabLine is a cache line of the slab.
type slabLine struct {
	n uint64
	_ [56]byte
}

// slab is slab-16's shared state, 4 MiB, made by the first connection
// that needs it (every other server leaves it alone); slabNext hands out
// its lines.
var (
	slab     = sync.OnceValue(func() []slabLine { return make([]slabLine, 1<<16) })
	slabNext atomic.Uint64
)

// slabWork returns a connection's work for slab-N: n lines of the slab,
// 4,099 lines (about 256 KiB) apart in the order connections take them,
// each updated on every echo.
func slabWork(n int) func() {
	s := slab()
	lines := make([]int, n)
	for i := range lines {
		lines[i] = int(slabNext.Add(1) * 4099 % uint64(len(s)))
	}
	return func() {
		for _, i := range lines {
			s[i].n++
		}
	}
}
