package servers

import (
	"fmt"
	"net"
	"time"
)

// BroadcastLib describes one library's broadcast server: connections
// that only receive, and a broadcast of one text message to all of them,
// written the way that library's docs and examples write a fan-out.
type BroadcastLib struct {
	Name    string
	Deflate bool
	// Reference marks a server that is neither hybi nor a peer (the
	// floor): shown for comparison, never counted as the best peer.
	Reference bool
	// Notes says what is idiomatic about the adapter, and what it does
	// with a member that does not keep up.
	Notes string
	// Serve starts serving on ln. It returns broadcast, which sends p as
	// one text message to every connection open at the time and returns
	// when the library's broadcast call does (the writes may still be on
	// their way), and serve, which serves until ln is closed.
	Serve func(ln net.Listener, o Options) (broadcast func(p []byte), serve func() error)
}

var broadcastRegistry = map[string]*BroadcastLib{}

func registerBroadcast(l *BroadcastLib) { broadcastRegistry[l.Name] = l }

// GetBroadcast returns the named library's broadcast server.
func GetBroadcast(name string) (*BroadcastLib, error) {
	l, ok := broadcastRegistry[name]
	if !ok {
		return nil, fmt.Errorf("no broadcast server for %q (have %v)", name, BroadcastNames())
	}
	return l, nil
}

// BroadcastNames lists the libraries with a broadcast server, hybi first.
func BroadcastNames() []string {
	var n []string
	for k := range broadcastRegistry {
		n = append(n, k)
	}
	sortHybiFirst(n)
	return n
}

// broadcastWriteTimeout bounds a write to one member in the adapters
// whose idiom has one (gorilla's chat example uses 10 s, coder's 5 s).
const broadcastWriteTimeout = 10 * time.Second
