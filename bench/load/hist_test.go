package load

import (
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(i, time.Duration(i)*time.Microsecond)
	}
	n, q := h.Quantiles(0.5, 0.99)
	if n != 1000 {
		t.Fatalf("n = %d", n)
	}
	check := func(got, want time.Duration) {
		if got < want*96/100 || got > want*104/100 {
			t.Errorf("got %v, want about %v", got, want)
		}
	}
	check(q[0], 500*time.Microsecond)
	check(q[1], 990*time.Microsecond)
	for _, ns := range []uint64{0, 1, 31, 32, 63, 64, 65, 1000, 1 << 20, 1<<40 + 5} {
		i := bucketOf(ns)
		v := bucketValue(i)
		if ns >= 64 && (v < ns*96/100 || v > ns*104/100) {
			t.Errorf("bucket of %d is %d, value %d", ns, i, v)
		}
	}
}
