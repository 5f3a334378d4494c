package e2e

// Carriers' early media: a far end that answers callrec's INVITE with 183
// and SDP and sends audio (ringback, an announcement) before its 200 is
// heard by the caller while it rings, in a stranger's call-in and in the
// owner's dial-out.

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// earlyTrunk fills in trunk-early.sipp.tmpl: a trunk that sends 183 with
// SDP, streams Tone for EarlyMS, answers, and awaits callrec's BYE for
// AwaitByeMS.
type earlyTrunk struct {
	Tone                string
	EarlyMS, AwaitByeMS int
}

func (s earlyTrunk) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	data := struct {
		earlyTrunk
		SDP string
	}{s, sdp([]codec{pcmu}, 0, 0)}
	if err := scenarioTemplates.ExecuteTemplate(&b, "trunk-early.sipp.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario trunk-early: %v", err)
	}
	return b.String()
}

// TestInfoAndMediaScenarioTemplates: the .sipp.tmpl scenarios of the
// media tests (caller-info with either body, trunk-quiet, trunk-early)
// render to well-formed ASCII XML with every value filled in.
func TestInfoAndMediaScenarioTemplates(t *testing.T) {
	t.Parallel()
	relay := infoCaller{From: ownerNumber, To: serviceNumber, ContentType: dtmfRelay, EventPT: 101, Tone: "owner.ul"}
	relay.pause(100)
	relay.keys("5#")
	relay.hangup()
	plain := infoCaller{From: ownerNumber, To: serviceNumber, ContentType: dtmfPlain, SDPPort: 20000}
	plain.keys("1")
	plain.hangup()
	for name, x := range map[string]string{
		"caller-info dtmf-relay": relay.render(t),
		"caller-info dtmf":       plain.render(t),
		"trunk-quiet":            quietTrunk{Tone: "owner.ul", StopAfterMS: 2000, AwaitByeMS: 1000}.render(t),
		"trunk-early":            earlyTrunk{Tone: "owner.ul", EarlyMS: 2000, AwaitByeMS: 1000}.render(t),
	} {
		if strings.Contains(x, "<no value>") || strings.IndexFunc(x, func(r rune) bool { return r > 0x7f }) >= 0 {
			t.Errorf("%s: missing value or non-ASCII text:\n%s", name, x)
		}
		if !strings.HasPrefix(x, `<?xml version="1.0" encoding="ISO-8859-1" ?>`) {
			t.Errorf("%s: does not start with the XML declaration:\n%s", name, x)
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
	if !strings.Contains(relay.render(t), "Signal=5\n      Duration=160") || !strings.Contains(relay.render(t), "CSeq: 4 INFO") {
		t.Errorf("caller-info dtmf-relay: INFO bodies or CSeq numbers missing:\n%s", relay.render(t))
	}
}

// heardBefore is how many seconds of a tone at hz the packets that
// arrived before at carry.
func heardBefore(got []arrival, at time.Time, hz int) float64 {
	var pkts []rtpPacket
	for _, a := range got {
		if a.At.Before(at) {
			pkts = append(pkts, a.Pkt)
		}
	}
	hits, _ := toneFrames(g711Samples(pkts), float64(hz))
	return float64(hits*frameMS) / 1000
}

// TestCarrierEarlyMedia: the trunk answers callrec's INVITE with 183 and
// SDP and streams a tone for 2 s before its 200; the caller hears that
// tone before the call is answered.
//
// call-in: a stranger calls (its media a Go socket that also sends its
// tone); the owner's carrier plays early media; the stranger hears it
// before its own 200, and the call completes.
//
// dial-out: the owner keys the number in SIP INFO (its media a Go socket
// that only listens); the dialled number's carrier plays early media;
// the owner hears it before the trunk's 200.
func TestCarrierEarlyMedia(t *testing.T) {
	t.Parallel()
	t.Run("call-in", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{})
		tn := makeTones(t)
		ear := newMediaPeer(t)
		trunk := startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: earlyTrunk{Tone: tn.owner, EarlyMS: 2000, AwaitByeMS: 30000}.render(t)})
		stranger := call(t, cr, "stranger", callerScenario{
			From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Codecs: []codec{pcmu}, SDPPort: ear.Port(),
			Steps: []step{pause(4000), hangup()},
		}, sippOpts{})
		early := stranger.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
			return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
		})
		go ear.send(sdpTarget(t, early.Body), 0, ulawFrames(otherHz), stranger.done)
		stranger.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}
		answered := firstOK(t, stranger, "1").Time
		secs := heardBefore(ear.arrivals(), answered, ownerHz)
		t.Logf("the stranger heard the carrier's %d Hz for %.2f s before its 200", ownerHz, secs)
		if secs < 1 {
			t.Errorf("the stranger heard the carrier's early media for %.2f s before the answer; it played 2 s", secs)
		}
		if rec := cr.oneCall(); rec.Status != "completed" {
			t.Errorf("call record %v: want status completed", rec)
		}
	})
	t.Run("dial-out", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{})
		tn := makeTones(t)
		ear := newMediaPeer(t)
		trunk := startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: earlyTrunk{Tone: tn.other, EarlyMS: 2000, AwaitByeMS: 30000}.render(t)})
		phone := infoCaller{From: ownerNumber, To: serviceNumber, ContentType: dtmfRelay, EventPT: 101, SDPPort: ear.Port()}
		phone.pause(waitEnterNumber)
		phone.keys("2125550123#")
		phone.pause(waitBridge + 3000)
		phone.hangup()
		owner := startSIPp(t, sippOpts{Name: "owner", Remote: cr.SIPAddr(), Scenario: phone.render(t)})
		owner.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}
		answered, ok := firstResponse(trunk.messages(), 200, "INVITE", true)
		if !ok {
			t.Fatalf("the trunk never answered: %s", trunk.summary())
		}
		secs := heardBefore(ear.arrivals(), answered.Time, otherHz)
		t.Logf("the owner heard the carrier's %d Hz for %.2f s before the trunk's 200", otherHz, secs)
		if secs < 1 {
			t.Errorf("the owner heard the carrier's early media for %.2f s before the answer; it played 2 s", secs)
		}
		if rec := cr.oneCall(); rec.Status != "completed" {
			t.Errorf("call record %v: want status completed", rec)
		}
	})
}
