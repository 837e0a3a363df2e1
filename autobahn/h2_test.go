package autobahn

import (
	"context"
	"testing"

	"github.com/hybi-go/hybi/autobahn/suite"
	"github.com/hybi-go/hybi/autobahn/testee"
	"github.com/hybi-go/hybi/internal/testnet"
)

// TestComplianceHTTP2 runs the catalogue over HTTP/2 (RFC 8441) against
// hybi's echo server and client testee on the Default session: each case
// on a stream opened with an extended CONNECT. Every case must be OK, but
// the informational ones, as over HTTP/1.1.
func TestComplianceHTTP2(t *testing.T) {
	skipShort(t)
	if !testnet.ExtendedConnect(t) {
		return
	}
	h2, err := NewHTTP2()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	all := suite.Catalogue()
	if raceEnabled {
		// As in TestCompliance: where hybi's goroutines meet, and a few
		// of each other section.
		all = suite.Select(all, []string{"1.1.*", "2.*", "3.*", "4.*", "5.*", "6.2.*", "7.*", "10.*", "12.1.*", "13.1.*"}, nil)
	}
	t.Run("server", func(t *testing.T) {
		res, err := h2.RunHybiServer(ctx, testee.Options{}, all, opts("hybi-h2-server", 100))
		if err != nil {
			t.Fatal(err)
		}
		reportFailures(t, res, len(all), nil)
	})
	t.Run("client", func(t *testing.T) {
		res, err := h2.RunClient(ctx, h2.HybiClient(testee.Options{}), all, opts("hybi-h2-client", 100))
		if err != nil {
			t.Error(err)
		}
		reportFailures(t, res, len(all), nil)
	})
}
