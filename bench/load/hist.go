package load

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets (32 per power of two,
// so within about 3%), safe for concurrent use: writers are spread over
// shards to keep contention low at 10,000 connections.
type Histogram struct {
	shards [histShards]histShard
}

const (
	histShards  = 32
	histSub     = 32
	histBuckets = 42 * histSub
)

type histShard struct {
	b [histBuckets]atomic.Uint64
	_ [64]byte
}

func bucketOf(ns uint64) int {
	if ns < histSub {
		return int(ns)
	}
	e := bits.Len64(ns) - 6 // ns>>e is in [32, 64)
	i := (e+1)*histSub + int(ns>>e) - histSub
	if i >= histBuckets {
		i = histBuckets - 1
	}
	return i
}

// bucketValue is the middle of bucket i.
func bucketValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m<<e + (uint64(1)<<e)/2
}

// Record adds d; shard picks the shard (a connection index will do).
func (h *Histogram) Record(shard int, d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.shards[shard%histShards].b[bucketOf(uint64(d))].Add(1)
}

// Quantiles returns the count and the durations at each quantile q in [0,1].
func (h *Histogram) Quantiles(qs ...float64) (uint64, []time.Duration) {
	var sum [histBuckets]uint64
	var n uint64
	for s := range h.shards {
		for i := range sum {
			v := h.shards[s].b[i].Load()
			sum[i] += v
			n += v
		}
	}
	out := make([]time.Duration, len(qs))
	if n == 0 {
		return 0, out
	}
	for k, q := range qs {
		target := uint64(q*float64(n-1)) + 1
		var c uint64
		for i, v := range sum {
			c += v
			if c >= target {
				out[k] = time.Duration(bucketValue(i))
				break
			}
		}
	}
	return n, out
}
