package main

import (
	"slices"
	"strings"
	"testing"
)

func TestFastestRound(t *testing.T) {
	cell := func(rate, cpu float64, err string) pipeCell {
		return pipeCell{echoCell: echoCell{Lib: "gws", Size: 16 << 10, Conns: 16, Rate: rate, CPUPerMsgUs: cpu, Err: err}, Window: 16}
	}
	got := fastestRound([]pipeCell{cell(94468, 10.8, ""), cell(188872, 5.3, "")})
	if got.Rate != 188872 || got.CPUPerMsgUs != 5.3 || !slices.Equal(got.RoundRates, []float64{94468, 188872}) {
		t.Errorf("two rounds: got rate %v, CPU %v, rounds %v; want the second round's figures and both rates", got.Rate, got.CPUPerMsgUs, got.RoundRates)
	}
	if s := otherRounds(got); s != " (94,468)" {
		t.Errorf("otherRounds = %q, want the slower round only", s)
	}
	// A failed round never wins over one that ran, whatever its rate.
	if got := fastestRound([]pipeCell{cell(500000, 1, "3 errors"), cell(1000, 50, "")}); got.Err != "" || got.Rate != 1000 {
		t.Errorf("a failed round and a good one: got %+v, want the good one", got)
	}
	if got := fastestRound([]pipeCell{cell(0, 0, "refused"), cell(0, 0, "refused")}); got.Err == "" {
		t.Errorf("two failed rounds: got no error")
	}
	one := fastestRound([]pipeCell{cell(1000, 50, "")})
	if one.RoundRates != nil || otherRounds(one) != "" {
		t.Errorf("one round: RoundRates %v, otherRounds %q; want none", one.RoundRates, otherRounds(one))
	}
	// Equal rounds: the other one is still listed.
	if s := otherRounds(fastestRound([]pipeCell{cell(1000, 50, ""), cell(1000, 40, "")})); !strings.Contains(s, "1,000") {
		t.Errorf("equal rounds: otherRounds = %q, want the other round listed", s)
	}
}
