package e2e

// SIPp scenarios: what a test can ask of a phone or the trunk (the types
// below), and the one loader that fills in the scenario templates under
// testdata/sipp/ with it. Each scenario is a file there, NAME.xml.tmpl;
// blocks.tmpl holds the pieces they share (INVITE with SDP, ACK, BYE, the
// responses, RTP and DTMF play, digest checks). TestScenarioTemplates
// renders every one; TestHarness* in harness_selfcheck_test.go runs them
// against each other, without callrec, to show they are right.

import (
	"bytes"
	"embed"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"
)

// codec is one audio format offered in SDP.
type codec struct {
	PT   int
	Name string // e.g. "PCMU/8000"
}

var (
	pcmu = codec{0, "PCMU/8000"}
	pcma = codec{8, "PCMA/8000"}
	g729 = codec{18, "G729/8000"}
)

// step is one thing a caller does once the call is answered.
type step struct {
	PauseMS  int    // wait this long (after playing PCAP, if set)
	PCAP     string // play this pcap (RFC 4733 keys) first
	Keys     string // the keys in PCAP, for reading the scenario
	Hangup   bool   // send BYE and expect 200
	AwaitBye int    // wait up to this many ms for a BYE and answer 200
}

func pause(ms int) step      { return step{PauseMS: ms} }
func hangup() step           { return step{Hangup: true} }
func awaitBye(ms int) step   { return step{AwaitBye: ms} }
func (s step) IsPause() bool { return s.PCAP == "" && !s.Hangup && s.AwaitBye == 0 }
func (s step) IsPCAP() bool  { return s.PCAP != "" }

// keys writes a pcap that types k as RFC 4733 events with payload type pt,
// and returns the step that plays it and waits until it has been sent
// plus 200 ms.
func keys(t *testing.T, k string, pt int) step {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("keys-%s.pcap", strings.NewReplacer("#", "H", "*", "S").Replace(k)))
	ms := writeDTMFPcap(t, path, k, uint8(pt))
	return step{PCAP: path, Keys: k, PauseMS: ms + 200}
}

// junkKeys returns a step that plays telephone-events that must not count
// as keys (see writeJunkDTMFPcap) on payload type pt and a type nobody
// offered, pt-1.
func junkKeys(t *testing.T, pt int) step {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junk-keys.pcap")
	ms := writeJunkDTMFPcap(t, path, uint8(pt), uint8(pt-1))
	return step{PCAP: path, Keys: "(junk)", PauseMS: ms + 300}
}

// callerScenario is a phone that calls callrec (the owner or a stranger).
type callerScenario struct {
	From          string  // caller's number: user part of From and Contact
	To            string  // number called: user part of Request-URI and To
	Codecs        []codec // audio offered; default PCMU, PCMA
	EventPT       int     // payload type offered for telephone-event; 0: none
	SDPPort       int     // media port put in SDP; 0: SIPp's own (-mp)
	Early         bool    // require a 183 before the final response
	Expect        int     // final status expected for the INVITE; default 200
	CancelAfterMS int     // send CANCEL this long after the provisional response; expect 200 and 487
	Tone          string  // μ-law file streamed (PCMU) from the answer on
	Steps         []step  // what to do once answered, in order
}

// trunkScenario is the SIP trunk: it receives callrec's outbound INVITE.
type trunkScenario struct {
	Mode          string // "answer", "reject" (Code) or "ring" (180, then wait for CANCEL)
	Code          int    // reject: the final status
	RingMS        int    // answer: send 180 and wait this long before 200
	Tone          string // answer: μ-law file streamed (PCMU) after the ACK
	SDPPort       int    // media port put in SDP; 0: SIPp's own (-mp)
	HangupAfterMS int    // answer: send BYE this long after the ACK; 0: wait for BYE
	Early183      bool   // answer, ring: send 183 with SDP instead of 180
}

var reasons = map[int]string{
	403: "Forbidden", 404: "Not Found", 480: "Temporarily Unavailable",
	486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
	500: "Server Internal Error", 503: "Service Unavailable", 603: "Decline",
}

// sdp returns SDP lines announcing codecs and telephone-event on port
// (0: SIPp's [media_port]), each on its own line.
func sdp(codecs []codec, eventPT, port int) string {
	mport := "[media_port]"
	if port != 0 {
		mport = fmt.Sprint(port)
	}
	pts := make([]string, 0, len(codecs)+1)
	for _, c := range codecs {
		pts = append(pts, fmt.Sprint(c.PT))
	}
	if eventPT != 0 {
		pts = append(pts, fmt.Sprint(eventPT))
	}
	lines := []string{
		"v=0",
		"o=- 1 1 IN IP[media_ip_type] [media_ip]",
		"s=-",
		"c=IN IP[media_ip_type] [media_ip]",
		"t=0 0",
		"m=audio " + mport + " RTP/AVP " + strings.Join(pts, " "),
	}
	for _, c := range codecs {
		lines = append(lines, fmt.Sprintf("a=rtpmap:%d %s", c.PT, c.Name))
	}
	if eventPT != 0 {
		lines = append(lines,
			fmt.Sprintf("a=rtpmap:%d telephone-event/8000", eventPT),
			fmt.Sprintf("a=fmtp:%d 0-16", eventPT))
	}
	lines = append(lines, "a=ptime:20", "a=sendrecv")
	return strings.Join(lines, "\n")
}

// scenarioFuncs are the functions the scenario templates may call.
var scenarioFuncs = template.FuncMap{
	"reason": func(code int) string {
		if r, ok := reasons[code]; ok {
			return r
		}
		return "Error"
	},
	"indent": func(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") },
	// args builds the map a block of several parameters takes:
	// (args "S" . "CSeq" 2) is {S: ., CSeq: 2}.
	"args": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("args: %d arguments, want key-value pairs", len(kv))
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("args: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// scenarioFiles are the scenario templates and their shared blocks.
//
//go:embed testdata/sipp/*.tmpl
var scenarioFiles embed.FS

// scenarioTemplates are all of scenarioFiles, parsed together so that
// every scenario can use the blocks of blocks.tmpl.
var scenarioTemplates = template.Must(template.New("sipp").Funcs(scenarioFuncs).ParseFS(scenarioFiles, "testdata/sipp/*.tmpl"))

// renderScenario fills in the scenario testdata/sipp/NAME.xml.tmpl with
// data and returns the XML for SIPp's -sf.
func renderScenario(t testing.TB, name string, data any) string {
	t.Helper()
	var b bytes.Buffer
	if err := scenarioTemplates.ExecuteTemplate(&b, name+".xml.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario %s: %v", name, err)
	}
	return b.String()
}

// render fills in caller.xml.tmpl.
func (c callerScenario) render(t *testing.T) string {
	t.Helper()
	if c.Expect == 0 {
		c.Expect = 200
	}
	if c.Codecs == nil {
		c.Codecs = []codec{pcmu, pcma}
	}
	if c.CancelAfterMS > 0 {
		c.Expect = 487
	}
	return renderScenario(t, "caller", struct {
		callerScenario
		SDP string
	}{c, sdp(c.Codecs, c.EventPT, c.SDPPort)})
}

// render fills in trunk.xml.tmpl, the trunk offering PCMU alone.
func (s trunkScenario) render(t *testing.T) string {
	t.Helper()
	return s.renderSDP(t, sdp([]codec{pcmu}, 0, s.SDPPort))
}

// renderSDP is render with the SDP body (see sdp) the trunk answers with.
func (s trunkScenario) renderSDP(t *testing.T, body string) string {
	t.Helper()
	if s.Mode == "" {
		s.Mode = "answer"
	}
	return renderScenario(t, "trunk", struct {
		trunkScenario
		SDP string
	}{s, body})
}

// reinviteCaller fills in caller-reinvite.xml.tmpl: a stranger who
// re-INVITEs during the call.
type reinviteCaller struct {
	From, To          string
	Tone              string // μ-law file streamed from the answer on
	SDP, ReSDP        string // the INVITE's and the re-INVITE's SDP
	BeforeMS, AfterMS int    // talk before and after the re-INVITE
	PauseStream       bool   // stop the tone once the re-INVITE is answered
}

func (r reinviteCaller) render(t *testing.T) string {
	t.Helper()
	return renderScenario(t, "caller-reinvite", r)
}

// The digest challenge the tests' trunk and registrar send.
const (
	trunkRealm = "trunk.e2e.test"
	trunkNonce = "5f0c2a1bd3e94c7a8b6e1f20c4d9a377"
	trunkUser  = "callrec-e2e"
	trunkPass  = "s3cret-Pa55"
)

// authPeer fills in the scenarios of a peer that checks callrec's digest
// credentials: trunk-auth, registrar and registrar-refresh.
type authPeer struct {
	Realm, Nonce, User, Pass string
	QOP                      bool   // offer qop="auth" (registrar-refresh always does)
	Tone                     string // trunk: μ-law file streamed after the ACK
	Expires                  int    // registrars: the lifetime granted, in seconds; 0: 60
}

// render fills in the scenario testdata/sipp/NAME.xml.tmpl.
func (a authPeer) render(t *testing.T, name string) string {
	t.Helper()
	if a.Expires == 0 {
		a.Expires = 60
	}
	return renderScenario(t, name, struct {
		authPeer
		SDP string
	}{a, sdp([]codec{pcmu}, 0, 0)})
}

// optionsScenario (options.xml.tmpl) sends one OPTIONS to the service
// number and expects 200.
func optionsScenario(t *testing.T) string {
	t.Helper()
	return renderScenario(t, "options", struct{ To string }{serviceNumber})
}

// TestScenarioTemplates renders every scenario under testdata/sipp/ in its
// main variants and checks the result is a well-formed SIPp scenario in
// plain ASCII (the files declare ISO-8859-1) with every value filled in,
// and that every block of blocks.tmpl is used by some scenario.
func TestScenarioTemplates(t *testing.T) {
	t.Parallel()
	peer := authPeer{Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: true, Tone: "owner.ul"}
	typed := step{PCAP: "keys.pcap", Keys: "2125550123#", PauseMS: 3200}
	cases := []struct{ file, variant, xml string }{
		{"caller", "answered, keys, hang up", callerScenario{From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: "owner.ul",
			Steps: []step{pause(100), typed, hangup()}}.render(t)},
		{"caller", "early media, await BYE", callerScenario{From: strangerNum, To: serviceNumber, Early: true,
			Steps: []step{awaitBye(1000)}}.render(t)},
		{"caller", "rejected", callerScenario{From: strangerNum, To: serviceNumber, Expect: 486}.render(t)},
		{"caller", "cancelled", callerScenario{From: strangerNum, To: serviceNumber, Early: true, CancelAfterMS: 500}.render(t)},
		{"trunk", "rings, answers", trunkScenario{RingMS: 100, Tone: "other.ul"}.render(t)},
		{"trunk", "183, answers, hangs up", trunkScenario{RingMS: 100, Early183: true, HangupAfterMS: 1000}.render(t)},
		{"trunk", "rejects", trunkScenario{Mode: "reject", Code: 486}.render(t)},
		{"trunk", "rings until CANCEL", trunkScenario{Mode: "ring"}.render(t)},
		{"caller-reinvite", "", reinviteCaller{From: strangerNum, To: serviceNumber, Tone: "other.ul",
			SDP: sdp([]codec{pcmu}, 101, 0), ReSDP: sdp([]codec{pcmu}, 101, 24000), BeforeMS: 100, AfterMS: 100, PauseStream: true}.render(t)},
		{"trunk-auth", "", peer.render(t, "trunk-auth")},
		{"registrar", "", peer.render(t, "registrar")},
		{"registrar-refresh", "", peer.render(t, "registrar-refresh")},
		{"options", "", optionsScenario(t)},
	}

	files, err := fs.Glob(scenarioFiles, "testdata/sipp/*.xml.tmpl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario templates: %v", err)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.file] = true
		name := strings.TrimSpace(c.file + " " + c.variant)
		if i := strings.IndexFunc(c.xml, func(r rune) bool { return r > 0x7f }); i >= 0 {
			t.Errorf("%s: non-ASCII text at byte %d: %q", name, i, c.xml[i:min(len(c.xml), i+20)])
		}
		if strings.Contains(c.xml, "<no value>") {
			t.Errorf("%s: a value the template names was not given:\n%s", name, c.xml)
		}
		if !strings.HasPrefix(c.xml, `<?xml version="1.0" encoding="ISO-8859-1" ?>`) {
			t.Errorf("%s: does not start with the XML declaration:\n%s", name, c.xml)
		}
		d := xml.NewDecoder(strings.NewReader(c.xml))
		d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // ASCII, checked above
		var root string
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("%s: not well-formed XML: %v\n%s", name, err, c.xml)
				break
			}
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		if root != "scenario" {
			t.Errorf("%s: root element %q, want scenario", name, root)
		}
	}
	for _, f := range files {
		if name := strings.TrimSuffix(path.Base(f), ".xml.tmpl"); !covered[name] {
			t.Errorf("%s is not rendered by TestScenarioTemplates: add a case", f)
		}
	}

	// Every block defined in blocks.tmpl is used by a scenario, directly
	// or through another block.
	used := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			if !used[n.Name] {
				used[n.Name] = true
				if tmpl := scenarioTemplates.Lookup(n.Name); tmpl != nil {
					walk(tmpl.Root)
				}
			}
		}
	}
	for _, f := range files {
		walk(scenarioTemplates.Lookup(path.Base(f)).Root)
	}
	for _, tmpl := range scenarioTemplates.Templates() {
		if name := tmpl.Name(); !strings.HasSuffix(name, ".tmpl") && name != "sipp" && !used[name] {
			t.Errorf("block %q is defined but no scenario uses it", name)
		}
	}
}
