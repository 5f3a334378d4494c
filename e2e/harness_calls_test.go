package e2e

// Placing calls through callrec and checking them: how long to wait for
// each prompt, the tone files, starting the trunk and a phone, the calls
// several tests share, and the checks of the INVITE callrec sends out and
// of a call's recording.
//
// Timings follow the built-in prompts (internal/prompts): "enter the
// number" 3.7 s, "enter your PIN" 2.8 s, "sorry, I didn't get that" 1.9 s,
// "connecting you" 1.0 s, "this call is being recorded" 2.0 s; the waits
// below leave each prompt time to finish before keys are typed.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	waitEnterNumber = 4500 // ms after the answer (or a previous prompt) before typing the number
	waitEnterPIN    = 3500
	waitRetry       = 6500 // after a rejected entry: "sorry…" then the prompt again
	waitBridge      = 4500 // after '#': "connecting you", the trunk's answer, "being recorded"
	callTimeout     = 60 * time.Second
)

// tones writes the μ-law tone files for a test.
type tones struct{ owner, other string }

func makeTones(t *testing.T) tones {
	dir := t.TempDir()
	return tones{
		owner: writeToneULaw(t, filepath.Join(dir, "owner.ul"), ownerHz),
		other: writeToneULaw(t, filepath.Join(dir, "other.ul"), otherHz),
	}
}

// startTrunk starts a SIPp trunk on callrec's trunk port.
func startTrunk(t *testing.T, cr *callrec, s trunkScenario) *sipp {
	t.Helper()
	return startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: s.render(t)})
}

// startTrunkSDP starts a SIPp trunk like startTrunk, but answering with
// the SDP body given (see sdp) instead of PCMU alone.
func startTrunkSDP(t *testing.T, cr *callrec, s trunkScenario, body string) *sipp {
	t.Helper()
	return startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: s.renderSDP(t, body)})
}

// call starts a SIPp phone calling callrec.
func call(t *testing.T, cr *callrec, name string, s callerScenario, o sippOpts) *sipp {
	t.Helper()
	o.Name = name
	o.Remote = cr.SIPAddr()
	o.Scenario = s.render(t)
	return startSIPp(t, o)
}

// callThrough places one call through callrec and waits for it to end:
// it starts the trunk s, then the phone name calling with c, and fails the
// test unless the phone's scenario runs to its end within callTimeout and
// then the trunk's within 10 s. Check t.Failed() before reading what they
// saw.
func callThrough(t *testing.T, cr *callrec, s trunkScenario, name string, c callerScenario, o sippOpts) (phone, trunk *sipp) {
	t.Helper()
	trunk = startTrunk(t, cr, s)
	phone = call(t, cr, name, c, o)
	phone.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	return phone, trunk
}

// ownerDialsOut is the owner's side of a call to number: wait for the
// prompt, type the number (keys, with '#') and talk for talkMS, then
// hang up.
func ownerDialsOut(t *testing.T, tn tones, number string, talkMS int) callerScenario {
	return callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, number+"#", 101), pause(waitBridge + talkMS), hangup()},
	}
}

// strangerBridged starts a trunk (the owner's phone, sending the owner's
// tone and waiting for BYE) and a stranger calling in (sending the other
// party's tone), then waits until callrec has bridged and started
// recording. steps is what the stranger does once answered.
func strangerBridged(t *testing.T, cr *callrec, tn tones, steps ...step) (stranger, trunk *sipp) {
	t.Helper()
	trunk = startTrunk(t, cr, trunkScenario{Tone: tn.owner})
	stranger = call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other, Steps: steps,
	}, sippOpts{})
	stranger.waitMessage(30*time.Second, "200 to the stranger's INVITE", func(m sipMsg) bool {
		return !m.Sent && m.Status == 200 && m.CSeq == "INVITE"
	})
	cr.waitRecordingStarted()
	return stranger, trunk
}

// strangerCall places one short bridged, recorded call and returns its id.
func strangerCall(t *testing.T, cr *callrec) string {
	t.Helper()
	tn := makeTones(t)
	callThrough(t, cr, trunkScenario{Tone: tn.owner, HangupAfterMS: 4000}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(40000)},
	}, sippOpts{})
	recs := cr.finishedCalls(1)
	if recs[0].Status != "completed" {
		t.Fatalf("call not completed: %s", recs[0])
	}
	return fmt.Sprint(recs[0].ID)
}

// ownerRejected runs an owner call that callrec must end with BYE without
// calling out, and returns the call record.
func ownerRejected(t *testing.T, cfg config, steps ...step) callRecord {
	t.Helper()
	cr := startCallrec(t, cfg)
	tn := makeTones(t)
	sink := newSIPSink(t, cr.TrunkPort())
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: append(steps, awaitBye(20000)),
	}, sippOpts{})
	owner.mustPass(callTimeout)
	sink.nothing(t)
	if t.Failed() {
		t.FailNow()
	}
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Status == "completed" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want direction outbound, not completed, answered_at null", rec)
	}
	return rec
}

// trunkINVITE returns the one INVITE the trunk received.
func trunkINVITE(t *testing.T, trunk *sipp) sipMsg {
	t.Helper()
	inv := requests(trunk.messages(), "INVITE", false)
	if len(inv) == 0 {
		t.Fatalf("the trunk received no INVITE: %s", trunk.summary())
	}
	return inv[0]
}

// checkOutboundINVITE checks the INVITE callrec sent to the trunk for a
// number the owner dialled: Request-URI in E.164, the service number as
// caller ID, and the owner's number nowhere.
func checkOutboundINVITE(t *testing.T, inv sipMsg, dialled string) {
	t.Helper()
	if got := uriUser(inv.URI); got != dialled {
		t.Errorf("trunk INVITE Request-URI %q: user %q, want %q", inv.URI, got, dialled)
	}
	if got := uriUser(inv.Header("To")); got != dialled {
		t.Errorf("trunk INVITE To %q: user %q, want %q", inv.Header("To"), got, dialled)
	}
	if got := uriUser(inv.Header("From")); got != serviceNumber {
		t.Errorf("trunk INVITE From %q: user %q, want the service number %q", inv.Header("From"), got, serviceNumber)
	}
	for _, h := range []string{"P-Asserted-Identity", "Remote-Party-ID"} {
		if v := inv.Header(h); v != "" && uriUser(v) != serviceNumber {
			t.Errorf("trunk INVITE %s %q: want the service number %q", h, v, serviceNumber)
		}
	}
	bare := strings.TrimPrefix(ownerNumber, "+1") // "5550111": any form of the owner's number
	if strings.Contains(inv.Raw, bare) {
		for _, line := range strings.Split(inv.Raw, "\n") {
			if strings.Contains(line, bare) {
				t.Errorf("the owner's number appears in the trunk INVITE: %q", strings.TrimSpace(line))
			}
		}
	}
}

// bridged is how long the trunk leg was up: from the trunk's 200 OK to the
// first BYE on it, either way.
func bridged(t *testing.T, trunk *sipp) time.Duration {
	t.Helper()
	msgs := trunk.messages()
	ok, found := firstResponse(msgs, 200, "INVITE", true)
	if !found {
		t.Fatalf("the trunk never answered: %s", trunk.summary())
	}
	for _, m := range msgs {
		if m.Method == "BYE" {
			return m.Time.Sub(ok.Time)
		}
	}
	t.Fatalf("no BYE on the trunk leg: %s", trunk.summary())
	return 0
}

// checkRecording reads the call's recording and checks it: stereo 16-bit
// 8 kHz; as long as the trunk leg was bridged (within 10 %, and it may
// leave out the 2 s "this call is being recorded" prompt); channel 0
// carries the owner's tone and not the other party's, channel 1 the other
// way round, each for at least minToneSec; no intruder tone anywhere.
func checkRecording(t *testing.T, cr *callrec, rec callRecord, bridged time.Duration, minToneSec float64) *wavFile {
	t.Helper()
	path := cr.recordingPath(rec)
	w, err := readWAV(path)
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	if w.Channels != 2 || w.SampleRate != 8000 || w.Bits != 16 {
		t.Fatalf("recording %s: %d channels, %d Hz, %d bits; want 2, 8000, 16", path, w.Channels, w.SampleRate, w.Bits)
	}
	d, b := w.Duration(), bridged.Seconds()
	lo, hi := 0.9*b-2.2, 1.1*b+0.2
	t.Logf("recording %s: %.2f s; trunk leg bridged %.2f s", path, d, b)
	if d < lo || d > hi {
		t.Errorf("recording lasts %.2f s; the trunk leg was bridged %.2f s, so want %.2f–%.2f s", d, b, lo, hi)
	}
	ch := [2]channelStats{analyseChannel(w.Samples[0]), analyseChannel(w.Samples[1])}
	t.Logf("channel 0 (owner): %v", ch[0])
	t.Logf("channel 1 (other party): %v", ch[1])
	minFrames := int(minToneSec * 1000 / frameMS)
	for i, want := range [2]struct {
		name       string
		own, other int
	}{{"owner", ownerHz, otherHz}, {"other party", otherHz, ownerHz}} {
		if ch[i].ToneHit[want.own] < minFrames {
			t.Errorf("channel %d (%s) carries the %s's %d Hz tone for %.1f s, want at least %.1f s",
				i, want.name, want.name, want.own, float64(ch[i].ToneHit[want.own]*frameMS)/1000, minToneSec)
		}
		if leak := ch[i].ToneHit[want.other]; leak > ch[i].Frames/50 {
			t.Errorf("channel %d (%s) carries the other side's %d Hz tone for %.1f s: the channels are mixed or swapped",
				i, want.name, want.other, float64(leak*frameMS)/1000)
		}
		if n := ch[i].ToneHit[intruderHz]; n > 0 {
			t.Errorf("channel %d (%s) carries %.2f s of the %d Hz tone sent from an address that is no peer of the call",
				i, want.name, float64(n*frameMS)/1000, intruderHz)
		}
	}
	return w
}

// sameLength checks that a recording that starts when the call is bridged
// lasts as long as the trunk leg was bridged.
func sameLength(t *testing.T, w *wavFile, bridged time.Duration) {
	t.Helper()
	if d := w.Duration() - bridged.Seconds(); d < -0.5 || d > 0.5 {
		t.Errorf("recording lasts %.2f s, the trunk leg was bridged %.2f s; want the same within 0.5 s", w.Duration(), bridged.Seconds())
	}
}
