package suite

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Verdicts in the order tallies list them.
var Verdicts = []string{OK, NonStrict, Informational, Unimplemented, Failed}

// SectionTally counts the verdicts (Result.Verdict) of one section.
type SectionTally struct {
	Section string
	Counts  map[string]int
	Total   int
}

// Tally counts verdicts per section, in section order.
func Tally(results []*Result) []SectionTally {
	by := map[string]*SectionTally{}
	var order []string
	for _, r := range results {
		sec, _, _ := strings.Cut(r.ID, ".")
		t := by[sec]
		if t == nil {
			t = &SectionTally{Section: sec, Counts: map[string]int{}}
			by[sec] = t
			order = append(order, sec)
		}
		t.Counts[r.Verdict()]++
		t.Total++
	}
	sort.Slice(order, func(i, j int) bool { return idLess(order[i], order[j]) })
	out := make([]SectionTally, 0, len(order))
	for _, s := range order {
		out = append(out, *by[s])
	}
	return out
}

// WriteTally prints a tally as a table, with a total row.
func WriteTally(w io.Writer, title string, results []*Result) {
	fmt.Fprintf(w, "%s\n", title)
	fmt.Fprintf(w, "  %-8s %6s %11s %14s %14s %7s %6s\n", "section", "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "total")
	sum := SectionTally{Section: "all", Counts: map[string]int{}}
	rows := Tally(results)
	for _, t := range rows {
		fmt.Fprintf(w, "  %-8s %6d %11d %14d %14d %7d %6d\n", t.Section, t.Counts[OK], t.Counts[NonStrict], t.Counts[Informational], t.Counts[Unimplemented], t.Counts[Failed], t.Total)
		for k, v := range t.Counts {
			sum.Counts[k] += v
		}
		sum.Total += t.Total
	}
	fmt.Fprintf(w, "  %-8s %6d %11d %14d %14d %7d %6d\n", sum.Section, sum.Counts[OK], sum.Counts[NonStrict], sum.Counts[Informational], sum.Counts[Unimplemented], sum.Counts[Failed], sum.Total)
}

// cleanForFilename turns an agent name into a file name prefix as the
// suite does: lower case, runs of other characters as one underscore.
func cleanForFilename(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), "_")
}

// ReportFile is the name of a case's JSON report.
func ReportFile(agent, id string) string {
	return cleanForFilename(agent) + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}

type indexEntry struct {
	Behavior        string `json:"behavior"`
	BehaviorClose   string `json:"behaviorClose"`
	Duration        int64  `json:"duration"`
	RemoteCloseCode *int   `json:"remoteCloseCode"`
	ReportFile      string `json:"reportfile"`
}

// WriteReport writes the results of each agent to dir in the suite's
// layout: index.json ({agent: {case: summary}}), one JSON file per case,
// and index.html, a summary table.
func WriteReport(dir string, byAgent map[string][]*Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	index := map[string]map[string]indexEntry{}
	for agent, rs := range byAgent {
		index[agent] = map[string]indexEntry{}
		for _, r := range rs {
			name := ReportFile(agent, r.ID)
			index[agent][r.ID] = indexEntry{r.Behavior, r.BehaviorClose, r.Duration, r.RemoteCloseCode, name}
			b, err := json.MarshalIndent(r, "", "   ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	b, err := json.MarshalIndent(index, "", "   ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "index.html"))
	if err != nil {
		return err
	}
	defer f.Close()
	return writeHTML(f, byAgent)
}

type htmlCell struct {
	Verdict, Class, Close, CloseClass, File string
	Duration                                int64
	Timed, Missing                          bool
}

type htmlRow struct {
	ID, Description string
	NewSection      string
	Cells           []htmlCell
}

func verdictClass(v string) string {
	switch v {
	case OK:
		return "ok"
	case NonStrict, FailedByClient:
		return "nonstrict"
	case Informational:
		return "info"
	case Unimplemented:
		return "unimpl"
	}
	return "failed"
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>WebSocket compliance report</title>
<style>
body { font-family: sans-serif; font-size: 13px; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
th.sec { background: #333; color: #fff; }
.ok { background: #0a0; color: #fff; } .nonstrict { background: #9a0; color: #fff; }
.info { background: #48c; color: #fff; } .unimpl { background: #999; color: #fff; }
.failed { background: #c00; color: #fff; } .missing { background: #eee; }
td a { color: inherit; } .desc { color: #555; max-width: 60em; } .num { text-align: right; }
</style></head><body>
<h1>WebSocket compliance report</h1>
<p>Cases of the Autobahn testsuite catalogue, run by hybi's runner. Each cell links to the case's JSON report (with the wire log).
The close column shows the peer's close code, colored by the closing behavior.</p>
<h2>Tally</h2>
{{range .Tallies}}<h3>{{.Agent}}</h3>
<table><tr><th>section</th><th>OK</th><th>NON-STRICT</th><th>INFORMATIONAL</th><th>UNIMPLEMENTED</th><th>FAILED</th><th>total</th></tr>
{{range .Rows}}<tr><td>{{.Section}}</td><td class="num">{{index .Counts "OK"}}</td><td class="num">{{index .Counts "NON-STRICT"}}</td><td class="num">{{index .Counts "INFORMATIONAL"}}</td><td class="num">{{index .Counts "UNIMPLEMENTED"}}</td><td class="num">{{index .Counts "FAILED"}}</td><td class="num">{{.Total}}</td></tr>
{{end}}</table>{{end}}
<h2>Cases</h2>
<table>
{{range .Rows}}{{if .NewSection}}<tr><th class="sec">{{.NewSection}}</th>{{range $.Agents}}<th class="sec" colspan="2">{{.}}</th>{{end}}<th class="sec">description</th></tr>{{end}}
<tr><td>{{.ID}}</td>{{range .Cells}}{{if .Missing}}<td class="missing" colspan="2">missing</td>{{else}}<td class="{{.Class}}"><a href="{{.File}}">{{.Verdict}}</a>{{if .Timed}} {{.Duration}} ms{{end}}</td><td class="{{.CloseClass}}">{{.Close}}</td>{{end}}{{end}}<td class="desc">{{.Description}}</td></tr>
{{end}}</table>
</body></html>
`))

var sectionNames = map[string]string{
	"1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes", "5": "Fragmentation",
	"6": "UTF-8 Handling", "7": "Close Handling", "9": "Limits/Performance", "10": "Auto-Fragmentation",
	"12": "WebSocket Compression (different payloads)", "13": "WebSocket Compression (different parameters)",
}

func writeHTML(w io.Writer, byAgent map[string][]*Result) error {
	var agents []string
	for a := range byAgent {
		agents = append(agents, a)
	}
	sort.Strings(agents)
	byID := map[string]map[string]*Result{}
	desc := map[string]string{}
	var ids []string
	for _, a := range agents {
		for _, r := range byAgent[a] {
			if byID[r.ID] == nil {
				byID[r.ID] = map[string]*Result{}
				ids = append(ids, r.ID)
				desc[r.ID] = r.Description
			}
			byID[r.ID][a] = r
		}
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	var rows []htmlRow
	last := ""
	for _, id := range ids {
		row := htmlRow{ID: id, Description: desc[id]}
		sec, _, _ := strings.Cut(id, ".")
		if sec != last {
			row.NewSection = sec + " " + sectionNames[sec]
			last = sec
		}
		for _, a := range agents {
			r := byID[id][a]
			if r == nil {
				row.Cells = append(row.Cells, htmlCell{Missing: true})
				continue
			}
			closeText := "none"
			if r.RemoteCloseCode != nil {
				closeText = fmt.Sprint(*r.RemoteCloseCode)
			}
			if r.BehaviorClose != OK && r.BehaviorClose != Informational {
				closeText += " (" + r.BehaviorClose + ")"
			}
			row.Cells = append(row.Cells, htmlCell{
				Verdict: r.Behavior, Class: verdictClass(r.Behavior), Close: closeText, CloseClass: verdictClass(r.BehaviorClose),
				File: ReportFile(a, id), Duration: r.Duration, Timed: r.ReportTime,
			})
		}
		rows = append(rows, row)
	}
	type agentTally struct {
		Agent string
		Rows  []SectionTally
	}
	var tallies []agentTally
	for _, a := range agents {
		tallies = append(tallies, agentTally{a, Tally(byAgent[a])})
	}
	return htmlPage.Execute(w, map[string]any{"Agents": agents, "Rows": rows, "Tallies": tallies})
}
