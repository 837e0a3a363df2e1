package raw_test

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/hybi-go/hybi/frame"
	"github.com/hybi-go/hybi/raw"
)

// With the Raw session every frame, ping included, reaches the caller, who
// decides what to answer.
func Example() {
	a, b := net.Pipe()
	client := raw.New(a, nil, raw.Client, nil)
	server := raw.New(b, nil, raw.Server, nil)
	defer client.Close()
	defer server.Close()
	ctx := context.Background()

	go func() {
		client.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("are you there?"))
		client.WriteFrame(ctx, frame.Header{Fin: true, Opcode: frame.OpText}, []byte("hello"))
	}()
	for i := 0; i < 2; i++ {
		h, err := server.NextFrame(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		p, _ := io.ReadAll(server)
		fmt.Printf("%v fin=%v masked=%v %q\n", h.Opcode, h.Fin, h.Masked, p)
	}
	// Output:
	// ping fin=true masked=true "are you there?"
	// text fin=true masked=true "hello"
}
