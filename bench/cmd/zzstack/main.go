package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/hybi-go/hybi/conn"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func main() {
	mode := flag.String("mode", "echo", "echo|read|none|appendread")
	n := flag.Int("n", 3000, "")
	flag.Parse()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	serve := func(ctx context.Context, c *conn.Conn) {
		for {
			switch *mode {
			case "appendread":
				var b [64]byte
				typ, p, err := c.AppendRead(ctx, b[:0])
				if err != nil {
					return
				}
				if c.Write(ctx, typ, p) != nil {
					return
				}
				continue
			}
			typ, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			b := bufPool.Get().(*bytes.Buffer)
			b.Reset()
			b.ReadFrom(r)
			if *mode == "echo" {
				err = c.Write(ctx, typ, b.Bytes())
			}
			bufPool.Put(b)
			if err != nil {
				return
			}
		}
	}
	var h http.Handler = conn.Handler(nil, serve)
	if *mode == "bgctx" || *mode == "bgctxnone" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := conn.Accept(w, r, nil)
			if err != nil {
				return
			}
			go func() { defer c.CloseNow(); serve(context.Background(), c) }()
		})
		if *mode == "bgctx" { *mode = "echo" } else { *mode = "none" }
	}
	go http.Serve(ln, h)
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	frame := []byte{0x82, 0x80 | 16, 1, 2, 3, 4}
	frame = append(frame, make([]byte, 16)...)
	var conns []net.Conn
	runtime.GC()
	debug.FreeOSMemory()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	buf := make([]byte, 4096)
	for range *n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		io.WriteString(c, req)
		k, _ := c.Read(buf)
		if !bytes.Contains(buf[:k], []byte("101")) {
			panic(string(buf[:k]))
		}
		if *mode != "none" {
			c.Write(frame)
			if *mode != "read" {
				io.ReadFull(c, buf[:18])
			}
		}
		conns = append(conns, c)
	}
	for range 3 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	g1 := runtime.NumGoroutine()
	// client side conns are in-process too: subtract a pure-client estimate is hard; report raw
	defer runtime.KeepAlive(conns)
	dumpOne()
	fmt.Printf("mode=%s goroutines/conn=%.2f stack/conn=%.0f heap/conn=%.0f\n", *mode, float64(g1-g0)/float64(*n),
		float64(m1.StackInuse-m0.StackInuse)/float64(*n), float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/float64(*n))
}

func init() {
	go func() {}()
}

func dumpOne() {
	b := make([]byte, 1<<20)
	n := runtime.Stack(b, true)
	for _, g := range bytes.Split(b[:n], []byte("\n\n")) {
		if bytes.Contains(g, []byte("Reader")) {
			fmt.Println(string(g))
			return
		}
	}
}
