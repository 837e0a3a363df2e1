package conn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/handshake"
	"github.com/hybi-go/hybi/raw"
)

// silentServer accepts WebSocket connections and reads frames without ever
// answering them: a peer whose pongs never come.
func silentServer(t *testing.T) (url string, stop func()) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u handshake.Upgrader
		res, err := u.Upgrade(w, r)
		if err != nil {
			return
		}
		rc := raw.New(res.Conn, res.Buffered, raw.Server, nil)
		defer rc.Close()
		for {
			if _, err := rc.NextFrame(context.Background()); err != nil {
				return
			}
		}
	}))
	return "ws" + strings.TrimPrefix(srv.URL, "http"), srv.Close
}
