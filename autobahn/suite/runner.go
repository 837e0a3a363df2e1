package suite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is the outcome of one case, with the fields of the suite's
// per-case report.
type Result struct {
	Agent                          string             `json:"agent"`
	Behavior                       string             `json:"behavior"`
	BehaviorClose                  string             `json:"behaviorClose"`
	Case                           int                `json:"case"`
	ClosedByMe                     bool               `json:"closedByMe"`
	CreateStats                    bool               `json:"createStats"`
	CreateWirelog                  bool               `json:"createWirelog"`
	Description                    string             `json:"description"`
	DroppedByMe                    bool               `json:"droppedByMe"`
	Duration                       int64              `json:"duration"` // milliseconds
	Expectation                    string             `json:"expectation"`
	Expected                       map[string][]Event `json:"expected"`
	ExpectedClose                  ExpectedClose      `json:"expectedClose"`
	FailedByMe                     bool               `json:"failedByMe"`
	HTTPRequest                    string             `json:"httpRequest"`
	HTTPResponse                   string             `json:"httpResponse"`
	ID                             string             `json:"id"`
	IsServer                       bool               `json:"isServer"`
	LocalCloseCode                 *int               `json:"localCloseCode"`
	LocalCloseReason               *string            `json:"localCloseReason"`
	Received                       []Event            `json:"received"`
	RemoteCloseCode                *int               `json:"remoteCloseCode"`
	RemoteCloseReason              *string            `json:"remoteCloseReason"`
	ReportCompressionRatio         bool               `json:"reportCompressionRatio"`
	ReportTime                     bool               `json:"reportTime"`
	Result                         string             `json:"result"`
	ResultClose                    string             `json:"resultClose"`
	RxFrameStats                   map[int]int        `json:"rxFrameStats"`
	RxOctetStats                   map[int]int        `json:"rxOctetStats"`
	Started                        string             `json:"started"`
	TrafficStats                   *TrafficStats      `json:"trafficStats"`
	TxFrameStats                   map[int]int        `json:"txFrameStats"`
	TxOctetStats                   map[int]int        `json:"txOctetStats"`
	WasClean                       bool               `json:"wasClean"`
	WasCloseHandshakeTimeout       bool               `json:"wasCloseHandshakeTimeout"`
	WasNotCleanReason              *string            `json:"wasNotCleanReason"`
	WasOpenHandshakeTimeout        bool               `json:"wasOpenHandshakeTimeout"`
	WasServerConnectionDropTimeout bool               `json:"wasServerConnectionDropTimeout"`
	Wirelog                        [][]any            `json:"wirelog"`
	WirelogOmitted                 int                `json:"wirelogOmitted,omitempty"`
}

// TrafficStats are the compression figures of the 12.* and 13.* cases:
// octets of payload before and after compression, each way.
type TrafficStats struct {
	OutgoingPayload          int64   `json:"outgoingOctetsAppLevel"`
	OutgoingCompressed       int64   `json:"outgoingOctetsWebSocketLevel"`
	IncomingPayload          int64   `json:"incomingOctetsAppLevel"`
	IncomingCompressed       int64   `json:"incomingOctetsWebSocketLevel"`
	OutgoingCompressionRatio float64 `json:"outgoingCompressionRatio"`
	IncomingCompressionRatio float64 `json:"incomingCompressionRatio"`
}

// Verdict is the case's verdict for tallies: the behavior, except that a
// case whose closing behavior failed (FAILED, UNCLEAN, WRONG CODE) counts
// as FAILED, and one where only the client had to drop TCP (FAILED BY
// CLIENT) at best as NON-STRICT. The suite shows the two side by side.
func (r *Result) Verdict() string {
	switch r.BehaviorClose {
	case OK, Informational:
		return r.Behavior
	case FailedByClient:
		if r.Behavior == OK {
			return NonStrict
		}
		return r.Behavior
	}
	if r.Behavior == Unimplemented {
		return r.Behavior
	}
	return Failed
}

func (s *Session) toResult(agent string, index int, started time.Time, request, response string) *Result {
	r := &Result{
		Agent:                          agent,
		Behavior:                       s.behavior,
		BehaviorClose:                  s.behaviorClose,
		Case:                           index,
		ClosedByMe:                     s.closedByMe,
		CreateStats:                    true,
		CreateWirelog:                  true,
		Description:                    s.c.Description,
		DroppedByMe:                    s.droppedByMe,
		Duration:                       s.end.Sub(s.start).Milliseconds(),
		Expectation:                    s.c.Expectation,
		Expected:                       map[string][]Event{},
		ExpectedClose:                  s.expectedClose,
		FailedByMe:                     s.failedByMe,
		HTTPRequest:                    request,
		HTTPResponse:                   response,
		ID:                             s.c.ID,
		IsServer:                       s.isServer,
		LocalCloseCode:                 s.localCloseCode,
		LocalCloseReason:               s.localCloseReason,
		Received:                       s.received,
		RemoteCloseCode:                s.remoteCloseCode,
		RemoteCloseReason:              s.remoteCloseReason,
		ReportCompressionRatio:         s.reportRatio,
		ReportTime:                     s.reportTime,
		Result:                         s.result,
		ResultClose:                    s.resultClose,
		Started:                        started.UTC().Format("2006-01-02T15:04:05.000Z"),
		WasClean:                       s.wasClean,
		WasCloseHandshakeTimeout:       s.wasCloseHandshakeTimeout,
		WasServerConnectionDropTimeout: s.wasServerConnectionDropTimeout,
	}
	if r.Received == nil {
		r.Received = []Event{}
	}
	if s.wasNotCleanReason != "" {
		r.WasNotCleanReason = &s.wasNotCleanReason
	}
	for _, e := range s.expected {
		r.Expected[e.verdict] = e.events
	}
	l := s.log
	l.mu.Lock()
	r.RxFrameStats, r.TxFrameStats = l.rxFrames, l.txFrames
	r.RxOctetStats, r.TxOctetStats = l.rxOctets, l.txOctets
	r.Wirelog, r.WirelogOmitted = l.rows, l.omitted
	l.mu.Unlock()
	if r.Wirelog == nil {
		r.Wirelog = [][]any{}
	}
	if s.pmd != nil && s.reportRatio {
		p := s.pmd
		t := &TrafficStats{OutgoingPayload: p.rawOut, OutgoingCompressed: p.zOut, IncomingPayload: p.rawIn, IncomingCompressed: p.zIn}
		if p.rawOut > 0 {
			t.OutgoingCompressionRatio = float64(p.zOut) / float64(p.rawOut)
		}
		if p.rawIn > 0 {
			t.IncomingCompressionRatio = float64(p.zIn) / float64(p.rawIn)
		}
		r.TrafficStats = t
	}
	return r
}

// failedResult is the result of a case whose connection never opened.
func failedResult(c *Case, agent string, index int, isServer bool, started time.Time, err error) *Result {
	reason := "the opening handshake failed: " + err.Error()
	return &Result{
		Agent: agent, Behavior: Failed, BehaviorClose: Failed, Case: index, Description: c.Description,
		Expectation: c.Expectation, Expected: map[string][]Event{}, ID: c.ID, IsServer: isServer,
		Received: []Event{}, Result: reason, ResultClose: reason, Started: started.UTC().Format("2006-01-02T15:04:05.000Z"),
		Duration: time.Since(started).Milliseconds(), WasNotCleanReason: &reason, Wirelog: [][]any{},
		RxFrameStats: map[int]int{}, TxFrameStats: map[int]int{}, RxOctetStats: map[int]int{}, TxOctetStats: map[int]int{},
	}
}

// RunClient is the fuzzing client: it runs cases, one connection each,
// against the WebSocket server at serverURL (ws://; wss:// over HTTP/2
// with Options.HTTP2) and returns their results in order. It stops early
// only when ctx is done.
func RunClient(ctx context.Context, serverURL string, cases []*Case, o *Options) []*Result {
	if o == nil {
		o = &Options{}
	}
	agent := o.Agent
	if agent == "" {
		agent = "server"
	}
	var out []*Result
	for i, c := range cases {
		if ctx.Err() != nil {
			break
		}
		r := runClientCase(ctx, serverURL, i+1, c, agent, o)
		o.logf("%-9s %-13s %-16s %6d ms  %s", c.ID, r.Behavior, r.BehaviorClose, r.Duration, agent)
		out = append(out, r)
	}
	return out
}

func runClientCase(ctx context.Context, serverURL string, index int, c *Case, agent string, o *Options) *Result {
	started := time.Now()
	var offers []pmdOffer
	var offer string
	if c.deflate != nil {
		offers = c.deflate.offers
		var parts []string
		for _, of := range offers {
			parts = append(parts, of.String())
		}
		offer = strings.Join(parts, ", ")
	}
	var d *dialed
	var err error
	if o.HTTP2 {
		d, err = dialStream(ctx, serverURL, offer, o.TLSConfig)
	} else {
		d, err = dial(ctx, serverURL, offer)
	}
	if err != nil {
		return failedResult(c, agent, index, false, started, err)
	}
	s := newSession(c, o, d.nc, d.br, false)
	var bad string
	if d.extensions != "" {
		if c.deflate == nil {
			bad = fmt.Sprintf("server agreed to extensions that were not offered: %q", d.extensions)
		} else if pmd, err := clientConn(offers, d.extensions); err != nil {
			bad = "invalid permessage-deflate response: " + err.Error()
		} else {
			s.pmd = pmd
		}
	}
	if bad != "" {
		// The handshake response is wrong: fail the connection at once.
		s.c = &Case{ID: c.ID, Description: c.Description, Expectation: c.Expectation, Start: func(s *Session) {
			s.expectClose(true, false, 1010)
			s.gotViolation(1010, bad)
		}}
	}
	s.run()
	s.c = c
	return s.toResult(agent, index, started, d.request, d.response)
}

// Server is the fuzzing server: WebSocket clients under test connect to
// it with the suite's protocol. GET /getCaseCount answers with the number
// of cases in a text message; /runCase?case=N&agent=A runs case N
// (1-based) on that connection; /updateReports?agent=A calls
// OnUpdateReports. Results are kept per agent. Served over HTTP/2, it
// takes each of these as an extended CONNECT (RFC 8441) instead.
//
// The command endpoints end as the real suite's fuzzing server ends them
// (autobahntestsuite's FuzzingProtocol.onOpen calls sendClose() with no
// arguments): with a close frame that carries no status code, so that a
// client testee that would stop at the real suite's first request stops
// here too. Like the real suite, /runCase and /updateReports refuse a
// request without an agent.
type Server struct {
	Cases []*Case
	Opts  *Options
	// OnUpdateReports, if set, runs when a client asks for its reports.
	OnUpdateReports func(agent string)

	mu      sync.Mutex
	results map[string]map[int]*Result
	running sync.WaitGroup
}

// Wait waits for the cases in progress to end.
func (srv *Server) Wait() { srv.running.Wait() }

// Results returns the results of agent so far, in case order.
func (srv *Server) Results(agent string) []*Result {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var out []*Result
	for i := 1; i <= len(srv.Cases); i++ {
		if r, ok := srv.results[agent][i]; ok {
			out = append(out, r)
		}
	}
	return out
}

// Agents returns the agents that ran cases.
func (srv *Server) Agents() []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var out []string
	for a := range srv.results {
		out = append(out, a)
	}
	return out
}

func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := srv.Opts
	if o == nil {
		o = &Options{}
	}
	agent := r.URL.Query().Get("agent")
	switch r.URL.Path {
	case "/getCaseCount":
		a, err := accept(w, r, nil)
		if err != nil {
			return
		}
		commandSession(a.nc, a.br, []byte(strconv.Itoa(len(srv.Cases))), o)
	case "/updateReports":
		if agent == "" {
			http.Error(w, "need an agent", http.StatusBadRequest)
			return
		}
		a, err := accept(w, r, nil)
		if err != nil {
			return
		}
		if srv.OnUpdateReports != nil {
			// A case's result is recorded once its connection is over,
			// which may be just after the client has moved on: the
			// report must hold every case run before it was asked for.
			srv.Wait()
			srv.OnUpdateReports(agent)
		}
		commandSession(a.nc, a.br, nil, o)
	case "/runCase":
		n, err := strconv.Atoi(r.URL.Query().Get("case"))
		if err != nil || n < 1 || n > len(srv.Cases) {
			http.Error(w, "no such case", http.StatusNotFound)
			return
		}
		if agent == "" {
			http.Error(w, "need an agent", http.StatusBadRequest)
			return
		}
		srv.running.Add(1)
		defer srv.running.Done()
		c := srv.Cases[n-1]
		started := time.Now()
		var pmd *pmdConn
		a, err := accept(w, r, func(offers string) string {
			if c.deflate == nil || c.deflate.accept == nil || offers == "" {
				return ""
			}
			exts, err := parseExtensions(offers)
			if err != nil {
				return ""
			}
			var pmds []pmdOffer
			for _, e := range exts {
				if e.name != pmdName {
					continue
				}
				if of, err := parseOffer(e); err == nil {
					pmds = append(pmds, of)
				}
			}
			acc := c.deflate.accept(pmds)
			if acc == nil {
				return ""
			}
			pmd = acc.serverConn()
			return acc.String()
		})
		var res *Result
		if err != nil {
			res = failedResult(c, agent, n, true, started, err)
		} else {
			s := newSession(c, o, a.nc, a.br, true)
			s.pmd = pmd
			s.run()
			res = s.toResult(agent, n, started, a.request, a.response)
		}
		o.logf("%-9s %-13s %-16s %6d ms  %s", c.ID, res.Behavior, res.BehaviorClose, res.Duration, agent)
		srv.mu.Lock()
		if srv.results == nil {
			srv.results = map[string]map[int]*Result{}
		}
		if srv.results[agent] == nil {
			srv.results[agent] = map[int]*Result{}
		}
		srv.results[agent][n] = res
		srv.mu.Unlock()
	default:
		http.Error(w, "unknown path; use /getCaseCount, /runCase or /updateReports", http.StatusNotFound)
	}
}

// commandSession answers a command connection: an optional text message,
// then the closing handshake, as a server. Its close frame has an empty
// payload, as the real suite's has; the client's reply is waited for and
// then TCP is closed, as the server does at the end of a handshake.
func commandSession(nc net.Conn, br *bufio.Reader, text []byte, o *Options) {
	defer nc.Close()
	var out []byte
	if text != nil {
		out = appendHeader(out, header{fin: true, op: opText, length: uint64(len(text))})
		out = append(out, text...)
	}
	out = appendHeader(out, header{fin: true, op: opClose})
	nc.SetDeadline(time.Now().Add(2 * o.closeTimeout()))
	if _, err := nc.Write(out); err != nil {
		return
	}
	// Wait for the client's close frame, skipping anything else.
	for {
		h, err := readHeader(br)
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, br, int64(h.length)); err != nil {
			return
		}
		if h.op == opClose {
			return
		}
	}
}
