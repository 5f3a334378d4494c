package e2e

// SIP extensions a caller may ask for: reliable provisional responses
// (100rel, PRACK). The session timer's tests are in timers_test.go.

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// extCaller fills in caller-ext.sipp.tmpl: a stranger whose INVITE
// requires 100rel, PRACKing each reliable 183.
type extCaller struct {
	From, To       string
	SDPPort        int    // media port put in SDP; 0: SIPp's own
	AllowUpdate    bool   // list UPDATE in Allow, so refreshes come as UPDATE
	SessionExpires string // the INVITE's Session-Expires; "": none
	// AnswerRefreshMS waits this long for callrec's refresh (UPDATE),
	// answers it and hangs up; 0 awaits callrec's BYE for AwaitByeMS.
	AnswerRefreshMS, AwaitByeMS int
}

func (c extCaller) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	data := struct {
		extCaller
		SDP string
	}{c, sdp([]codec{pcmu, pcma}, 101, c.SDPPort)}
	if err := scenarioTemplates.ExecuteTemplate(&b, "caller-ext.sipp.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario caller-ext: %v", err)
	}
	return b.String()
}

// TestExtScenarioTemplates: the .sipp.tmpl scenarios (both variants of
// caller-ext, and trunk-long) render to well-formed ASCII XML with every
// value filled in.
func TestExtScenarioTemplates(t *testing.T) {
	t.Parallel()
	for name, x := range map[string]string{
		"caller-ext awaiting BYE":     extCaller{From: strangerNum, To: serviceNumber, AwaitByeMS: 1000}.render(t),
		"caller-ext answering UPDATE": extCaller{From: strangerNum, To: serviceNumber, AllowUpdate: true, SessionExpires: "90;refresher=uas", AnswerRefreshMS: 1000}.render(t),
		"trunk-long":                  trunkLong{Tone: "owner.ul", AwaitByeMS: 1000}.render(t),
	} {
		if strings.Contains(x, "<no value>") || strings.IndexFunc(x, func(r rune) bool { return r > 0x7f }) >= 0 {
			t.Errorf("%s: missing value or non-ASCII text:\n%s", name, x)
		}
		d := xml.NewDecoder(strings.NewReader(x))
		d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed XML: %v\n%s", name, err, x)
			}
		}
	}
}

// TestReliableEarlyMedia: a stranger whose INVITE requires 100rel gets
// the early media 183 reliably (Require: 100rel, RSeq), PRACKs it (200),
// hears the announcement on its SDP's address, is answered when the
// owner answers, and the call completes.
func TestReliableEarlyMedia(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	ear := newRTPSink(t)
	trunk := startTrunk(t, cr, trunkScenario{RingMS: 1000, Tone: tn.owner, HangupAfterMS: 4000})
	stranger := startSIPp(t, sippOpts{Name: "stranger", Remote: cr.SIPAddr(), Scenario: extCaller{
		From: strangerNum, To: serviceNumber, SDPPort: ear.Port(), AwaitByeMS: 40000,
	}.render(t)})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	msgs := stranger.messages()
	early, ok := firstResponse(msgs, 183, "INVITE", false)
	if !ok {
		t.Fatalf("no 183: %s", stranger.summary())
	}
	if !strings.Contains(early.Header("Require"), "100rel") || early.Header("RSeq") == "" {
		t.Errorf("183 not reliable: Require %q, RSeq %q", early.Header("Require"), early.Header("RSeq"))
	}
	pracks := requests(msgs, "PRACK", true)
	if len(pracks) == 0 {
		t.Fatalf("the stranger sent no PRACK: %s", stranger.summary())
	}
	if ok, found := firstResponse(msgs, 200, "PRACK", false); !found {
		t.Errorf("PRACK not answered 200: %s (%v)", stranger.summary(), ok.Status)
	}
	if rack := pracks[0].Header("RAck"); rack != early.Header("RSeq")+" 1 INVITE" {
		t.Errorf("PRACK RAck %q, want %q", rack, early.Header("RSeq")+" 1 INVITE")
	}
	if n := len(ear.packets()); n < 50 {
		t.Errorf("the stranger's socket got %d RTP packets of early media, want the announcement (at least 1 s)", n)
	}
	if rec := cr.oneCall(); rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want completed and answered", rec)
	}
}
