package hub

import (
	"context"
	"strconv"
	"testing"

	"github.com/hybi-go/hybi/conn"
)

// TestClusterNumberingBounded publishes to many topics, once each: the
// node's numbering of its own topics stays bounded.
func TestClusterNumberingBounded(t *testing.T) {
	cl, err := NewCluster(&MemoryBroker{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxNumberedTopics {
		if err := cl.Publish(context.Background(), "user."+strconv.Itoa(i), conn.MessageText, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cl.seq); n > maxNumberedTopics {
		t.Fatalf("numbering kept for %d topics, over %d", n, maxNumberedTopics)
	}
}
