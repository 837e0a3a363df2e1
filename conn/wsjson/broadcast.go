package wsjson

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/hybi-go/hybi/conn"
	"github.com/hybi-go/hybi/conn/hub"
)

// Prepare encodes v as JSON, as Write does, into a text message prepared
// once for any number of connections (conn.PreparedMessage): for
// Member.Send, Hub.BroadcastPrepared or Conn.WritePrepared. When v cannot
// be encoded it returns the error and no message.
func Prepare(v any) (*conn.PreparedMessage, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	var pm *conn.PreparedMessage
	err := json.NewEncoder(buf).Encode(v)
	if err == nil {
		// NewPreparedMessage copies the bytes: buf can be reused.
		pm = conn.NewPreparedMessage(conn.MessageText, buf.Bytes())
	}
	if buf.Cap() <= maxPooled {
		bufPool.Put(buf)
	}
	return pm, err
}

// Broadcast encodes v as JSON once, as Write does, and broadcasts it to
// every member of h as one text message, framed and compressed once (see
// Hub.BroadcastPrepared). When v cannot be encoded nothing is sent and
// the error is returned.
func Broadcast(h *hub.Hub, v any) error {
	pm, err := Prepare(v)
	if err != nil {
		return err
	}
	h.BroadcastPrepared(pm)
	return nil
}

// bufPool holds the buffers values are encoded into. One that grew past
// maxPooled is not kept, so that a single large value does not pin its
// size for good.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 64 << 10
