// Command hotlines counts the 64-byte lines of machine code a server runs
// for every echo: its code footprint, which the caches must hold or
// fetch again each time. It reads two profiles of valgrind's callgrind
// (--dump-instr=yes) of the same server, made over N and over 2N echoes
// per connection (perf/footprint.sh), and takes a line as hot when the
// instructions of it that ran once more per echo in the second run are
// executed in at least half of the echoes; start-up, handshakes and
// shutdown, the same in both runs, drop out.
//
//	hotlines -echoes 25600 [-top 40] a.callgrind b.callgrind
//
// Counts are exact and repeatable, as cachegrind's are: a change of a few
// lines shows. Go's scheduler switches stacks under callgrind's nose, so
// its call counts are unreliable; the per-instruction counts used here are
// not.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	echoes := flag.Int("echoes", 0, "echoes the second profile has more than the first (connections × N)")
	top := flag.Int("top", 40, "functions to list, by hot lines")
	flag.Parse()
	log.SetFlags(0)
	if *echoes <= 0 || flag.NArg() != 2 {
		log.Fatal("usage: hotlines -echoes N [-top K] a.callgrind b.callgrind")
	}
	a, err := load(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	b, err := load(flag.Arg(1))
	if err != nil {
		log.Fatal(err)
	}
	lines := map[uint64]string{} // hot line -> function
	var ir int64
	for addr, in := range a {
		if _, ok := b[addr]; !ok {
			ir -= in.count // ran in the first profile only
		}
	}
	for addr, in := range b {
		d := in.count - a[addr].count
		ir += d
		if float64(d) >= 0.5*float64(*echoes) {
			if _, ok := lines[addr>>6]; !ok {
				lines[addr>>6] = in.fn
			}
		}
	}
	byFn := map[string]int{}
	groups := map[string]int{}
	for _, fn := range lines {
		byFn[fn]++
		groups[group(fn)]++
	}
	fmt.Printf("%d hot lines of code per echo (%d KiB): hybi %d, runtime %d, other %d; %.0f instructions per echo\n",
		len(lines), len(lines)*64>>10, groups["hybi"], groups["runtime"], groups["other"], float64(ir)/float64(*echoes))
	fns := make([]string, 0, len(byFn))
	for fn := range byFn {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool {
		if byFn[fns[i]] != byFn[fns[j]] {
			return byFn[fns[i]] > byFn[fns[j]]
		}
		return fns[i] < fns[j]
	})
	for i, fn := range fns {
		if i == *top {
			break
		}
		fmt.Printf("%4d  %s\n", byFn[fn], fn)
	}
}

func group(fn string) string {
	switch {
	case strings.Contains(fn, "hybi-go/hybi") && !strings.Contains(fn, "/bench/"):
		return "hybi"
	case strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/"):
		return "runtime"
	}
	return "other"
}

// instr is what a profile says of one instruction address: the
// instructions executed there (one each time it ran) and its function.
type instr struct {
	count int64
	fn    string
}

var fnLine = regexp.MustCompile(`^(c?)fn=\((\d+)\)(?: (.*))?$`)

// load reads a callgrind profile written with --dump-instr=yes, whose
// cost lines begin with an instruction address, absolute (0x...) or
// relative to the last (+n, -n, *), and end with the Ir count. The cost
// line after a calls= line is the call's inclusive cost: skipped.
func load(path string) (map[uint64]instr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]string{}
	out := map[uint64]instr{}
	var fn string
	var last uint64
	afterCall := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if m := fnLine.FindStringSubmatch(line); m != nil {
			if m[3] != "" {
				// Callgrind names recursion levels name'2, name'3: one function.
				name := m[3]
				if i := strings.LastIndexByte(name, '\''); i > 0 {
					name = name[:i]
				}
				names[m[2]] = name
			}
			if m[1] == "" {
				fn = names[m[2]]
			}
			continue
		}
		if strings.HasPrefix(line, "calls=") {
			afterCall = true
			continue
		}
		c := line[0]
		if !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '*') {
			continue
		}
		fields := strings.Fields(line)
		pos := fields[0]
		if pos != "*" {
			// Numbers are hexadecimal with 0x, else decimal.
			v, err := strconv.ParseInt(pos, 0, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", path, line, err)
			}
			if pos[0] == '+' || pos[0] == '-' {
				v += int64(last)
			}
			last = uint64(v)
		}
		if afterCall {
			afterCall = false
			continue
		}
		if len(fields) < 2 {
			continue
		}
		n, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", path, line, err)
		}
		in := out[last]
		in.count += n
		in.fn = fn
		out[last] = in
	}
	return out, sc.Err()
}
