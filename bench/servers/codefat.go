package servers

import "net"

//go:generate go run gen_codefat.go

// code-thin and code-fat measure what a server's code footprint costs
// per echo on this machine, apart from its instruction count: both are
// floor-netpoll plus 256 calls of a small function per echo, code-thin
// calling one function 256 times and code-fat 256 different ones, about
// 16 KiB of machine code more to run per echo (perf/footprint.sh: 408
// more hot lines, 800 more instructions). Between two echoes of a
// connection the kernel's network path runs and evicts user code from
// the caches, so the difference of their CPU per echo is the price of
// the lines fetched again, and of what they evict of the kernel's. They
// are references, run only when named (-libs code-thin,code-fat).
func init() {
	for _, fat := range []bool{false, true} {
		name := "code-thin"
		if fat {
			name = "code-fat"
		}
		register(&Lib{
			Name:      name,
			Reference: true,
			Variant:   true,
			Scenarios: []string{"echo"},
			Notes:     "not a library: floor-netpoll running 256 small functions per echo, one function 256 times (code-thin) or 256 different ones (code-fat)",
			Serve: func(ln net.Listener, o Options) error {
				return serveGobwasConns(ln, o, codeFootprintEcho(fat))
			},
		})
	}
}

// codeRun runs the steps over x: one function 256 times, or all 256
// once. The steps are not inlined, so none is optimised away.
func codeRun(fat bool, x uint64) uint64 {
	if fat {
		for _, step := range codeSteps {
			x = step(x)
		}
	} else {
		for range codeSteps {
			x = codeStep0(x)
		}
	}
	return x
}

// codeFootprintEcho is floorNetpollEcho with codeRun before each write.
func codeFootprintEcho(fat bool) func(net.Conn) {
	return func(nc net.Conn) {
		f := newFloorFrames()
		var x uint64
		for {
			f.grow()
			m, err := nc.Read(f.in[f.n:])
			if err != nil {
				return
			}
			f.n += m
			if !f.answer() {
				return
			}
			x = codeRun(fat, x)
			if len(f.out) > 0 {
				if _, err := nc.Write(f.out); err != nil {
					return
				}
			}
		}
	}
}
