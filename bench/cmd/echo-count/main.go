// Command echo-count sends a fixed number of closed-loop echoes on each of
// N connections to a bench-server, then closes them. Run twice with
// different counts against a server under valgrind's cachegrind, the
// difference of the two profiles is the server's cost of that many
// echoes, instructions and simulated cache misses counted exactly (see
// perf/cachegrind.sh).
//
//	echo-count -addr 127.0.0.1:PORT -conns 256 -size 16 -n 200 [-think 2ms]
package main

import (
	"context"
	"flag"
	"log"
	"sync"
	"time"

	"github.com/hybi-go/hybi/bench/load"
)

func main() {
	addr := flag.String("addr", "", "the server's WebSocket address (loopback)")
	conns := flag.Int("conns", 256, "connections")
	size := flag.Int("size", 16, "message size in bytes")
	n := flag.Int("n", 100, "echoes per connection")
	think := flag.Duration("think", 0, "pause after each echo before the next message: a server slowed by\nvalgrind then still finds its sockets empty after a reply, as it does\nat full speed")
	flag.Parse()
	log.SetFlags(0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cs, err := load.DialMany(ctx, *addr, *conns, 16, load.SourceIPs(1), load.DialOptions{Timeout: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	p := make([]byte, *size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	m := load.NewMessage(2, p, false)
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range *n {
				if err := c.Write(m.Frame); err != nil {
					log.Fatal(err)
				}
				if _, err := c.ReadEcho(nil); err != nil {
					log.Fatal(err)
				}
				if *think > 0 {
					time.Sleep(*think)
				}
			}
		}()
	}
	wg.Wait()
	load.CloseAll(cs)
}
