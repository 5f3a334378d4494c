package e2e

// DTMF in the forms phones send besides RFC 4733: the owner dialling out
// with SIP INFO (application/dtmf-relay and application/dtmf), and with
// in-band tones on a leg that negotiated no telephone-event; and in-band
// tones not counted as keys on a leg that did negotiate it.

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// INFO bodies' content types (RFC 2976 usage as trunks and phones send it).
const (
	dtmfRelay = "application/dtmf-relay"
	dtmfPlain = "application/dtmf"
)

// infoCaller fills in caller-info.sipp.tmpl: the owner's phone, keying
// digits with SIP INFO bodies of ContentType.
type infoCaller struct {
	From, To    string
	ContentType string
	EventPT     int    // telephone-event offered; 0: none
	SDPPort     int    // media port put in SDP; 0: SIPp's own
	Tone        string // μ-law file streamed from the answer on; "": none
	Actions     []infoAction
}

// infoAction is one thing an infoCaller does once answered: send one
// INFO (Body set), hang up, and then wait PauseMS.
type infoAction struct {
	PauseMS int
	Body    string
	Hangup  bool
	CSeq    int // filled in by render
}

// pause waits ms.
func (c *infoCaller) pause(ms int) { c.Actions = append(c.Actions, infoAction{PauseMS: ms}) }

// keys sends one INFO per key, 150 ms apart.
func (c *infoCaller) keys(k string) {
	for _, key := range k {
		body := string(key)
		if c.ContentType == dtmfRelay {
			body = fmt.Sprintf("Signal=%c\nDuration=160", key)
		}
		c.Actions = append(c.Actions, infoAction{Body: body, PauseMS: 150})
	}
}

// hangup sends BYE.
func (c *infoCaller) hangup() { c.Actions = append(c.Actions, infoAction{Hangup: true}) }

func (c infoCaller) render(t *testing.T) string {
	t.Helper()
	c.Actions = append([]infoAction(nil), c.Actions...)
	for i := range c.Actions {
		c.Actions[i].CSeq = i + 2
	}
	var b bytes.Buffer
	data := struct {
		infoCaller
		SDP string
	}{c, sdp([]codec{pcmu, pcma}, c.EventPT, c.SDPPort)}
	if err := scenarioTemplates.ExecuteTemplate(&b, "caller-info.sipp.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario caller-info: %v", err)
	}
	return b.String()
}

// TestInfoDialOut: with owner_pin set, the owner's phone keys the PIN and
// the number in SIP INFO, each INFO is answered 200, the call is bridged
// to the number through the trunk and recorded; for both INFO bodies.
func TestInfoDialOut(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{dtmfRelay, dtmfPlain} {
		t.Run(filepath.Base(ct), func(t *testing.T) {
			t.Parallel()
			cr := startCallrec(t, config{OwnerPIN: "4321"})
			tn := makeTones(t)
			phone := infoCaller{From: ownerNumber, To: serviceNumber, ContentType: ct, EventPT: 101, Tone: tn.owner}
			phone.pause(waitEnterPIN)
			phone.keys("4321#")
			phone.pause(waitEnterNumber)
			phone.keys("2125550123#")
			phone.pause(waitBridge + 6000)
			phone.hangup()
			trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
			owner := startSIPp(t, sippOpts{Name: "owner", Remote: cr.SIPAddr(), Scenario: phone.render(t)})
			owner.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}
			if n := len(requests(owner.messages(), "INFO", true)); n != 16 {
				t.Errorf("the owner sent %d INFOs, want 16", n)
			}
			checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
			rec := cr.oneCall()
			if rec.Direction != "outbound" || rec.Party != "+12125550123" || rec.Status != "completed" {
				t.Errorf("call record %v: want direction outbound, party +12125550123, status completed", rec)
			}
			checkRecording(t, cr, rec, bridged(t, trunk), 4)
		})
	}
}

// dtmfFreqs are each key's row and column frequencies (ITU-T Q.23).
var dtmfFreqs = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// audioScript builds 8 kHz audio piece by piece.
type audioScript struct{ pcm []int16 }

// silence appends ms of silence.
func (a *audioScript) silence(ms int) { a.pcm = append(a.pcm, make([]int16, ms*8)...) }

// tone appends ms of a sine at hz (amplitude 0.5), continuing its phase.
func (a *audioScript) tone(hz float64, ms int) {
	n := len(a.pcm)
	for i := range ms * 8 {
		a.pcm = append(a.pcm, int16(0.5*32767*math.Sin(2*math.Pi*hz*float64(n+i)/8000)))
	}
}

// keys appends each key as a DTMF tone of onMS (each frequency at
// −10 dBFS) followed by offMS of silence.
func (a *audioScript) keys(t *testing.T, k string, onMS, offMS int) {
	t.Helper()
	for _, key := range k {
		f, ok := dtmfFreqs[key]
		if !ok {
			t.Fatalf("%q is not a DTMF key", key)
		}
		for i := range onMS * 8 {
			x := 2 * math.Pi * float64(i) / 8000
			a.pcm = append(a.pcm, int16(0.3*32767*(math.Sin(f[0]*x)+math.Sin(f[1]*x))))
		}
		a.silence(offMS)
	}
}

// ms is the audio's length so far in milliseconds.
func (a *audioScript) ms() int { return len(a.pcm) / 8 }

// write writes the audio as headerless μ-law for SIPp's rtp_stream.
func (a *audioScript) write(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	out := make([]byte, len(a.pcm))
	for i, v := range a.pcm {
		out[i] = ulawEncode(v)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInbandDialOut: the owner's phone offers PCMU alone (no
// telephone-event) and sends the number as DTMF tones in its audio, then
// talks: callrec hears the keys, calls the number through the trunk and
// records the call.
func TestInbandDialOut(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	var voice audioScript
	voice.silence(waitEnterNumber)
	voice.keys(t, "2125550123#", 100, 100)
	voice.silence(300)
	keyed := voice.ms()
	voice.tone(ownerHz, 40000)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, Codecs: []codec{pcmu}, Tone: voice.write(t, "inband.ul"),
		Steps: []step{pause(keyed + waitBridge + 6000), hangup()},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != "+12125550123" || rec.Status != "completed" {
		t.Errorf("call record %v: want direction outbound, party +12125550123, status completed", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 4)
}

// TestInbandIgnoredWithEvents: on a leg that negotiated telephone-event,
// a key pressed in-band (a DTMF "5" in the owner's audio during the
// bridged call) is not a key: the recording is not paused.
func TestInbandIgnoredWithEvents(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	number := keys(t, "2125550123#", 101)
	inbandAt := waitEnterNumber + number.PauseMS + waitBridge + 2000
	var voice audioScript
	voice.tone(ownerHz, inbandAt)
	voice.keys(t, "5", 200, 0)
	voice.tone(ownerHz, 40000)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: voice.write(t, "inband5.ul"),
		Steps: []step{pause(waitEnterNumber), number, pause(waitBridge + 6000), hangup()},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	rec := cr.oneCall()
	if len(rec.Pauses) != 0 {
		t.Errorf("call record has pauses %v: an in-band 5 on a leg with telephone-event counted as a key", rec.Pauses)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 4)
}
