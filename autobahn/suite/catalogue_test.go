package suite

import "testing"

func TestCatalogue(t *testing.T) {
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, c := range Catalogue() {
		if seen[c.ID] {
			t.Errorf("duplicate case %s", c.ID)
		}
		seen[c.ID] = true
		counts[c.Section()]++
	}
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	total := 0
	for sec, n := range want {
		if counts[sec] != n {
			t.Errorf("section %s: %d cases, want %d", sec, counts[sec], n)
		}
		total += n
	}
	if total != 517 || len(Catalogue()) != 517 {
		t.Errorf("%d cases, want 517", len(Catalogue()))
	}
}
