package raw_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// A frame encoded once goes to several server connections as the same
// bytes.
func ExampleConn_WritePrepared() {
	f := raw.NewPreparedFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("to all"))
	ctx := context.Background()
	for i := range 2 {
		a, b := net.Pipe()
		server := raw.New(a, nil, raw.Server, nil)
		client := raw.New(b, nil, raw.Client, nil)
		go server.WritePrepared(ctx, f)
		h, err := client.NextFrame(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		p, _ := io.ReadAll(client)
		fmt.Printf("%d: %v %q\n", i, h.Opcode, p)
		server.Close()
		client.Close()
	}
	fmt.Printf("% x\n", f.Wire())
	// Output:
	// 0: text "to all"
	// 1: text "to all"
	// 81 06 74 6f 20 61 6c 6c
}
