package suite

import (
	"testing"

	"github.com/hybi-go/hybi/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
