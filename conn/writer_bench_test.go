package conn_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/raw"
)

// BenchmarkWriter measures streaming one message, client side (masked),
// through Writer to a sink: the handle Writer returns is the only
// allocation.
func BenchmarkWriter(b *testing.B) {
	for _, n := range []int{16, 1024} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			a, d := net.Pipe()
			go io.Copy(io.Discard, d)
			c := conn.New(raw.New(a, nil, raw.Client, nil), "", nil)
			msg := make([]byte, n)
			ctx := context.Background()
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w, err := c.Writer(ctx, conn.MessageBinary)
				if err != nil {
					b.Fatal(err)
				}
				w.Write(msg)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.CloseNow()
			d.Close()
		})
	}
}
