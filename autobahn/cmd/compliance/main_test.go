package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hybi-go/hybi/autobahn"
	"github.com/hybi-go/hybi/autobahn/suite"
)

// TestCheckIndex: -check passes only a report in which every expected
// case has a verdict within hybi's bar. The real suite writes {} when it
// cannot reach the testee; that, and a report cut short, must fail.
func TestCheckIndex(t *testing.T) {
	all := suite.Catalogue()
	verdict := func(id string) string {
		if autobahn.Informational[id] {
			return suite.Informational
		}
		return suite.OK
	}
	index := func(agents map[string][]*suite.Case, override map[string]string) string {
		type entry struct {
			Behavior      string `json:"behavior"`
			BehaviorClose string `json:"behaviorClose"`
		}
		m := map[string]map[string]entry{}
		for a, cases := range agents {
			m[a] = map[string]entry{}
			for _, c := range cases {
				v := verdict(c.ID)
				if o, ok := override[c.ID]; ok {
					v = o
				}
				m[a][c.ID] = entry{v, suite.OK}
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "index.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		path   string
		want   []*suite.Case
		status int
		says   string
	}{
		{"complete", index(map[string][]*suite.Case{"hybi": all}, nil), all, 0, "514"},
		{"empty", index(nil, nil), all, 1, "no agent and no case"},
		{"partial", index(map[string][]*suite.Case{"hybi": all[:500]}, nil), all, 1, "missing: 17 of 517"},
		{"one agent partial", index(map[string][]*suite.Case{"a": all, "b": all[1:]}, nil), all, 1, "missing: 1 of 517 cases have no verdict: 1.1.1"},
		{"a selection", index(map[string][]*suite.Case{"hybi": all[:16]}, nil), suite.Select(all, []string{"1.*"}, nil), 0, "16"},
		{"a failure", index(map[string][]*suite.Case{"hybi": all}, map[string]string{"5.1": suite.NonStrict}), all, 1, "not OK: 5.1"},
		{"unreadable", filepath.Join(t.TempDir(), "none.json"), all, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if got := checkIndex(&out, tc.path, tc.want); got != tc.status {
				t.Errorf("status %d, want %d\n%s", got, tc.status, out.String())
			}
			if !strings.Contains(out.String(), tc.says) {
				t.Errorf("output lacks %q:\n%s", tc.says, out.String())
			}
		})
	}
}
