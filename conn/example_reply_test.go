package conn_test

import (
	"context"

	"github.com/hybi-go/hybi/conn"
)

// An echo loop for pipelining peers: the answers to messages that arrived
// together leave together, in one write, and none waits for a timer.
func ExampleConn_WriteReply() {
	serve := func(ctx context.Context, c *conn.Conn) error {
		var p []byte
		for {
			typ, msg, err := c.AppendRead(ctx, p[:0])
			if err != nil {
				return err
			}
			p = msg
			if err := c.WriteReply(ctx, typ, p); err != nil {
				return err
			}
		}
	}
	_ = conn.Handler(nil, func(ctx context.Context, c *conn.Conn) { serve(ctx, c) })
}
