package wsjson_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
	"github.com/hybi-go/hybi/conn/wsjson"
	"github.com/hybi-go/hybi/raw"
)

// TestBroadcast broadcasts values to hub members that read them with
// Read; a value that cannot be encoded sends nothing.
func TestBroadcast(t *testing.T) {
	h := hub.New(nil)
	var clients []*conn.Conn
	for range 3 {
		a, b := net.Pipe()
		c := conn.New(raw.New(a, nil, raw.Client, nil), "", nil)
		s := conn.New(raw.New(b, nil, raw.Server, nil), "", nil)
		m := h.Add(s)
		t.Cleanup(func() {
			h.Remove(m)
			c.CloseNow()
			s.CloseNow()
		})
		clients = append(clients, c)
	}
	if err := wsjson.Broadcast(h, map[string]any{"bad": make(chan int)}); err == nil {
		t.Fatal("Broadcast of a channel: no error")
	}
	want := point{X: 1, Y: 2, Name: "everyone"}
	if err := wsjson.Broadcast(h, want); err != nil {
		t.Fatal(err)
	}
	pm, err := wsjson.Prepare(point{Name: "just one"})
	if err != nil {
		t.Fatal(err)
	}
	if pm.Type() != conn.MessageText || string(pm.Data()) != `{"X":0,"Y":0,"Name":"just one"}`+"\n" {
		t.Fatalf("Prepare made a %v message %q", pm.Type(), pm.Data())
	}
	ctx := testCtx(t)
	for i, c := range clients {
		var got point
		if err := wsjson.Read(ctx, c, &got); err != nil || got != want {
			t.Fatalf("client %d read %+v, %v; want %+v", i, got, err, want)
		}
	}
	// Nothing else was sent: the failed Broadcast sent no message.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := clients[0].Read(short); err != context.DeadlineExceeded {
		t.Fatalf("a further message, or %v", err)
	}
}
