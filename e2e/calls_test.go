package e2e

// End-to-end call tests: the real callrec between SIPp phones and a SIPp
// trunk. Timings follow the built-in prompts (internal/prompts): "enter the
// number" 3.7 s, "enter your PIN" 2.8 s, "sorry, I didn't get that" 1.9 s,
// "connecting you" 1.0 s, "this call is being recorded" 2.0 s; the waits
// below leave each prompt time to finish before keys are typed.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
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

// call starts a SIPp phone calling callrec.
func call(t *testing.T, cr *callrec, name string, s callerScenario, o sippOpts) *sipp {
	t.Helper()
	o.Name = name
	o.Remote = cr.SIPAddr()
	o.Scenario = s.render(t)
	return startSIPp(t, o)
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

// recordingPath resolves a record's recording_file.
func (c *callrec) recordingPath(rec callRecord) string {
	c.t.Helper()
	if rec.RecordingFile == "" {
		c.t.Fatalf("call record has no recording_file: %v", rec)
	}
	if filepath.IsAbs(rec.RecordingFile) {
		return rec.RecordingFile
	}
	return filepath.Join(filepath.Dir(c.cfgPath), rec.RecordingFile)
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

// ownerDialsOut is the owner's side of a call to number: wait for the
// prompt, type the number (keys, with '#') and talk for talkMS, then
// hang up.
func ownerDialsOut(t *testing.T, tn tones, number string, talkMS int) callerScenario {
	return callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, number+"#", 101), pause(waitBridge + talkMS), hangup()},
	}
}

// TestOwnerDialsOut: the owner calls the service number, types a national
// number with RFC 4733, and is bridged to it through the trunk, which sees
// the number in E.164 and only the service number as caller ID; the call
// is recorded with the owner on channel 0.
func TestOwnerDialsOut(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{RingMS: 1000, Tone: tn.other})
	owner := call(t, cr, "owner", ownerDialsOut(t, tn, "2125550123", 8000), sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}

	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if got := statuses(owner.messages(), "INVITE", false); !contains(got, 200) {
		t.Errorf("owner got %v to the INVITE, want 200", got)
	}
	if len(requests(trunk.messages(), "BYE", false)) != 1 {
		t.Errorf("the owner hung up, but the trunk got no BYE: %s", trunk.summary())
	}
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != "+12125550123" || rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want direction outbound, party +12125550123, status completed, answered_at set", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 5)
}

// TestOwnerDialsInternational: over TCP, with telephone-event on payload
// type 96, the owner dials 00 44…; the trunk sees +44…, answers and later
// hangs up, and callrec hangs up on the owner.
func TestOwnerDialsInternational(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other, HangupAfterMS: 8000})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 96, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "00442079460000#", 96), awaitBye(30000)},
	}, sippOpts{TCP: true})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+442079460000")
	rec := cr.oneCall()
	if rec.Direction != "outbound" || rec.Party != "+442079460000" || rec.Status != "completed" {
		t.Errorf("call record %v: want direction outbound, party +442079460000, status completed", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 5)
}

// TestGarbageDTMF: telephone-events that are no keys (truncated, unknown
// codes, a flash, a digit on a payload type nobody offered, RTP version 1)
// before the number change nothing: the number dialled is the one typed.
func TestGarbageDTMF(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterNumber), junkKeys(t, 101), keys(t, "2125550123#", 101),
			pause(waitBridge + 2000), hangup(),
		},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
}

// TestStrangerCallsIn: a stranger calls the service number, gets 183 with
// SDP (early media prompts), callrec calls the owner through the trunk
// showing the stranger's number, the owner answers, the stranger gets 200,
// and the owner hangs up. The owner is on channel 0 although the callee.
func TestStrangerCallsIn(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{RingMS: 1000, Tone: tn.owner, HangupAfterMS: 8000})
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(40000)},
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	msgs := stranger.messages()
	early, _ := firstResponse(msgs, 183, "INVITE", false)
	if ip, port := sdpAudio(early.Body); ip == "" || port == 0 {
		t.Errorf("the stranger's 183 has no SDP with an audio address: %q", early.Body)
	}
	inv := trunkINVITE(t, trunk)
	if got := uriUser(inv.URI); got != ownerNumber {
		t.Errorf("trunk INVITE Request-URI %q: user %q, want the owner's %q", inv.URI, got, ownerNumber)
	}
	if got := uriUser(inv.Header("From")); got != strangerNum {
		t.Errorf("trunk INVITE From %q: user %q, want the caller's %q", inv.Header("From"), got, strangerNum)
	}
	rec := cr.oneCall()
	if rec.Direction != "inbound" || rec.Party != strangerNum || rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want direction inbound, party %s, status completed, answered_at set", rec, strangerNum)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 5)
}

// TestDialOutBusy: the dialled number is busy (486): the owner hears
// "unable to connect" and gets BYE; the record says unanswered.
func TestDialOutBusy(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Mode: "reject", Code: 486})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "2125550123#", 101), awaitBye(20000)},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if rec := cr.oneCall(); rec.Direction != "outbound" || rec.Status != "unanswered" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want direction outbound, status unanswered, answered_at null", rec)
	}
}

// TestStrangerOwnerBusy: the owner's line is busy: the stranger's INVITE
// gets 486.
func TestStrangerOwnerBusy(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Mode: "reject", Code: 486})
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other, Expect: 486,
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	if got := uriUser(trunkINVITE(t, trunk).URI); got != ownerNumber {
		t.Errorf("trunk INVITE to %q, want the owner %q", got, ownerNumber)
	}
	if rec := cr.oneCall(); rec.Direction != "inbound" || rec.Party != strangerNum || rec.Status == "completed" {
		t.Errorf("call record %v: want direction inbound, party %s, not completed", rec, strangerNum)
	}
}

// TestNoAnswer: the dialled number rings and never answers; after
// ring_timeout_seconds (3) callrec CANCELs it and hangs up on the owner.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{RingTimeout: 3})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Mode: "ring"})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(waitEnterNumber), keys(t, "2125550123#", 101), awaitBye(25000)},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	inv := trunkINVITE(t, trunk)
	cancels := requests(trunk.messages(), "CANCEL", false)
	if len(cancels) == 0 {
		t.Fatalf("the trunk got no CANCEL: %s", trunk.summary())
	}
	if rang := cancels[0].Time.Sub(inv.Time); rang < 2500*time.Millisecond || rang > 5*time.Second {
		t.Errorf("CANCEL came %v after the INVITE; ring_timeout_seconds is 3", rang)
	}
	if rec := cr.oneCall(); rec.Status != "unanswered" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want status unanswered, answered_at null", rec)
	}
}

// TestCallerCancelsWhileRinging: a stranger hangs up (CANCEL) while the
// owner's phone rings: callrec CANCELs the trunk leg.
func TestCallerCancelsWhileRinging(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Mode: "ring"})
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other, CancelAfterMS: 8000,
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	inv := trunkINVITE(t, trunk)
	if cancels := requests(trunk.messages(), "CANCEL", false); len(cancels) == 0 || cancels[0].Time.Before(inv.Time) {
		t.Errorf("the trunk got no CANCEL after its INVITE: %s", trunk.summary())
	}
	if rec := cr.oneCall(); rec.Direction != "inbound" || rec.Status == "completed" || rec.AnsweredAt != nil {
		t.Errorf("call record %v: want direction inbound, not completed, answered_at null", rec)
	}
}

// sipSink listens on the trunk port for tests in which callrec must not
// call out at all.
type sipSink struct {
	mu  sync.Mutex
	got []string
}

func newSIPSink(t *testing.T, port int) *sipSink {
	t.Helper()
	s := &sipSink{}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	u, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	note := func(b []byte) {
		s.mu.Lock()
		s.got = append(s.got, firstLine(string(b)))
		s.mu.Unlock()
	}
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			note(buf[:n])
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 65536)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ := c.Read(buf)
			note(append([]byte("TCP: "), buf[:n]...))
			c.Close()
		}
	}()
	t.Cleanup(func() { u.Close(); l.Close(); wg.Wait() })
	return s
}

// nothing fails the test if callrec sent anything to the trunk.
func (s *sipSink) nothing(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) > 0 {
		t.Errorf("callrec must not call out, but the trunk received: %q", s.got)
	}
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

// TestWrongDigitsThreeTimes: three entries too short to be a number:
// callrec hangs up, calling no one.
func TestWrongDigitsThreeTimes(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{},
		pause(waitEnterNumber), keys(t, "123#", 101),
		pause(waitRetry), keys(t, "4567#", 101),
		pause(waitRetry), keys(t, "89#", 101))
}

// TestPINWrongThenRight: with owner_pin set, a wrong PIN is refused, the
// right one lets the owner dial out.
func TestPINWrongThenRight(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{OwnerPIN: "4321"})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterPIN), keys(t, "1111#", 101),
			pause(waitRetry - 1000), keys(t, "4321#", 101),
			pause(waitEnterNumber), keys(t, "2125550123#", 101),
			pause(waitBridge + 5000), hangup(),
		},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if rec := cr.oneCall(); rec.Status != "completed" {
		t.Errorf("call record %v: want status completed", rec)
	}
}

// TestPINWrongThreeTimes: three wrong PINs: callrec hangs up, calling no one.
func TestPINWrongThreeTimes(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{OwnerPIN: "4321"},
		pause(waitEnterPIN), keys(t, "1111#", 101),
		pause(waitRetry-1000), keys(t, "1234#", 101),
		pause(waitRetry-1000), keys(t, "4320#", 101))
}

// TestDestinationNotAllowed: a number outside allowed_destinations (+33…)
// gets "not allowed" and BYE, and is never called.
func TestDestinationNotAllowed(t *testing.T) {
	t.Parallel()
	ownerRejected(t, config{},
		pause(waitEnterNumber), keys(t, "0033142685300#", 101))
}

// TestPauseResume: the owner presses 5, then 6: the record has one pause
// span, and that span is silent on both channels of the recording.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterNumber), keys(t, "2125550123#", 101),
			pause(waitBridge + 3000), keys(t, "5", 101),
			pause(4500), keys(t, "6", 101),
			pause(4000), hangup(),
		},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	rec := cr.oneCall()
	w := checkRecording(t, cr, rec, bridged(t, trunk), 4)
	if len(rec.Pauses) != 1 {
		t.Fatalf("call record has pauses %v, want one span", rec.Pauses)
	}
	p := rec.Pauses[0]
	recStart := time.Time{}
	if rec.EndedAt != nil {
		recStart = rec.EndedAt.Add(-time.Duration(w.Duration() * float64(time.Second)))
	}
	ps, pe := p.Start.offset(recStart), p.End.offset(recStart)
	if pe-ps < 3 || pe-ps > 6.5 {
		t.Errorf("pause span %.2f s long (%v), want about 4.5 s", pe-ps, p)
	}
	runs := silentRuns(w, 1)
	t.Logf("pause at %.2f–%.2f s of the recording (from the record); silent runs %v", ps, pe, runs)
	if len(runs) != 1 {
		t.Fatalf("recording has silent runs %v, want exactly one (the pause)", runs)
	}
	if d := runs[0][1] - runs[0][0]; d < pe-ps-0.6 || d > pe-ps+0.6 {
		t.Errorf("silent run lasts %.2f s, the pause %.2f s", d, pe-ps)
	}
	if rec.EndedAt != nil && (runs[0][0] < ps-0.8 || runs[0][0] > ps+0.8) {
		t.Errorf("silent run starts at %.2f s of the recording, the pause at %.2f s", runs[0][0], ps)
	}
}

// TestSourceNotAllowed: an INVITE from 127.0.0.2, outside
// trunk.allowed_sources, gets 403 and calls no one.
func TestSourceNotAllowed(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	sink := newSIPSink(t, cr.TrunkPort())
	caller := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, EventPT: 101, Expect: 403,
	}, sippOpts{LocalIP: "127.0.0.2"})
	caller.mustPass(callTimeout)
	owner := call(t, cr, "spoofed-owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Expect: 403,
	}, sippOpts{LocalIP: "127.0.0.2"})
	owner.mustPass(callTimeout)
	sink.nothing(t)
}

// TestNoCommonCodec: an offer of G.729 only gets 488.
func TestNoCommonCodec(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	sink := newSIPSink(t, cr.TrunkPort())
	for _, from := range []string{strangerNum, ownerNumber} {
		caller := call(t, cr, "caller"+from, callerScenario{
			From: from, To: serviceNumber, Codecs: []codec{g729}, EventPT: 101, Expect: 488,
		}, sippOpts{})
		caller.mustPass(callTimeout)
	}
	sink.nothing(t)
}

// TestMaxConcurrentCalls: with max_concurrent_calls 1, a second call while
// the first is up gets 503.
func TestMaxConcurrentCalls(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{MaxConcurrent: 1})
	tn := makeTones(t)
	sink := newSIPSink(t, cr.TrunkPort())
	first := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{pause(6000), hangup()},
	}, sippOpts{})
	first.waitMessage(10*time.Second, "200 to the first call", func(m sipMsg) bool {
		return !m.Sent && m.Status == 200 && m.CSeq == "INVITE"
	})
	second := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, EventPT: 101, Expect: 503,
	}, sippOpts{})
	second.mustPass(callTimeout)
	first.mustPass(callTimeout)
	sink.nothing(t)
}

// TestMalformedSIP: garbage datagrams, truncated and inconsistent requests
// over UDP and TCP, and an INVITE with unparseable SDP (which must get a
// 4xx) do not stop callrec from taking a normal call next.
func TestMalformedSIP(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	sip := cr.SIPAddr()
	junk := [][]byte{
		{0, 1, 2, 3, 0xff, 0xfe},
		[]byte("\r\n\r\n"),
		[]byte("hello callrec"),
		bytes.Repeat([]byte{0x80}, 1400),
		[]byte("INVITE sip:" + serviceNumber + "@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK"),
		[]byte("INVITE sip:" + serviceNumber + "@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nv=0\r\n"),
		[]byte("INVITE sip:" + serviceNumber + "@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-x\r\n" +
			"From: <sip:" + ownerNumber + "@127.0.0.1>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: junk\r\nCSeq: many INVITE\r\n\r\n"),
		[]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-nobody\r\nCSeq: 1 INVITE\r\nCall-ID: nobody\r\n\r\n"),
		[]byte("BYE sip:nobody@127.0.0.1 SIP/2.0\r\n\r\n"),
		[]byte("OPTIONS \x00\x01 SIP/9.9\r\n\r\n"),
	}
	u, err := net.Dial("udp4", sip)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for i := 0; i < 3; i++ {
		for _, j := range junk {
			if _, err := u.Write(j); err != nil {
				t.Fatal(err)
			}
		}
		r := make([]byte, 1+rand.IntN(1500))
		for k := range r {
			r[k] = byte(rand.Uint32())
		}
		_, _ = u.Write(r)
	}
	for _, j := range junk {
		c, err := net.DialTimeout("tcp4", sip, 2*time.Second)
		if err != nil {
			t.Fatalf("callrec's TCP port after junk: %v", err)
		}
		_, _ = c.Write(j)
		c.Close()
	}
	cr.alive()

	code := inviteBadSDP(t, sip)
	if code < 400 || code > 499 {
		t.Errorf("an INVITE with unparseable SDP got %d, want a 4xx (e.g. 400 or 488)", code)
	}
	cr.alive()

	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
	owner := call(t, cr, "owner", ownerDialsOut(t, tn, "2125550123", 3000), sippOpts{})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
}

// inviteBadSDP sends, over UDP, a well-formed INVITE whose SDP body is
// nonsense, and returns the final status (ACKing it), or 0 if none came
// within 10 s.
func inviteBadSDP(t *testing.T, sip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to, _ := net.ResolveUDPAddr("udp4", sip)
	local := c.LocalAddr().String()
	id := fmt.Sprintf("%08x", rand.Uint32())
	body := "v=0\r\no=garbage\r\nc=IN IP4\r\nm=audio notaport RTP/AVP x y\r\na=rtpmap:zz\r\n"
	head := func(method, cseq string, extra string) string {
		return method + " sip:" + serviceNumber + "@" + sip + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-bad-sdp-" + id + ";rport\r\n" +
			"From: <sip:" + strangerNum + "@" + local + ">;tag=e2e" + id + "\r\n" +
			"To: <sip:" + serviceNumber + "@" + sip + ">" + extra + "\r\n" +
			"Call-ID: bad-sdp-" + id + "@127.0.0.1\r\n" +
			"CSeq: 1 " + cseq + "\r\n" +
			"Contact: <sip:" + strangerNum + "@" + local + ">\r\n" +
			"Max-Forwards: 70\r\n"
	}
	invite := head("INVITE", "INVITE", "") + "Content-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
	if _, err := c.WriteTo([]byte(invite), to); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		m := parseSIP(string(buf[:n]))
		t.Logf("bad-SDP INVITE got %d %s", m.Status, firstLine(m.Raw))
		if m.Status >= 200 {
			totag := ""
			if i := strings.Index(m.Header("To"), ";tag="); i >= 0 {
				totag = m.Header("To")[i:]
			}
			ack := head("ACK", "ACK", totag) + "Content-Length: 0\r\n\r\n"
			_, _ = c.WriteTo([]byte(ack), to)
			return m.Status
		}
	}
	return 0
}

// TestRTPFromUnexpectedSource: during a bridged call, RTP carrying a 3 kHz
// tone is sprayed at both of callrec's media ports from addresses that are
// not the call's peers (one of them reusing SIPp's SSRC), with some non-RTP
// junk; none of it may reach the recording, and the call goes on.
func TestRTPFromUnexpectedSource(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.other})
	owner := call(t, cr, "owner", ownerDialsOut(t, tn, "2125550123", 10000), sippOpts{})

	ok := owner.waitMessage(20*time.Second, "200 to the owner's INVITE", func(m sipMsg) bool {
		return !m.Sent && m.Status == 200 && m.CSeq == "INVITE"
	})
	inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "INVITE"
	})
	trunk.waitMessage(10*time.Second, "ACK from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "ACK"
	})
	var targets []*net.UDPAddr
	for _, body := range []string{ok.Body, inv.Body} {
		ip, port := sdpAudio(body)
		if ip == "" || port == 0 {
			t.Fatalf("no audio address in callrec's SDP %q", body)
		}
		targets = append(targets, &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
	}
	time.Sleep(2500 * time.Millisecond) // past "this call is being recorded"
	spray(t, targets, 4*time.Second)
	cr.alive()

	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	checkRecording(t, cr, cr.oneCall(), bridged(t, trunk), 5)
}

// spray sends a 3 kHz PCMU tone as RTP, 50 packets a second, from
// 127.0.0.1 and from 127.0.0.2 to each target, plus a few junk datagrams.
func spray(t *testing.T, targets []*net.UDPAddr, d time.Duration) {
	t.Helper()
	var conns []net.PacketConn
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		c, err := net.ListenPacket("udp4", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	tone := sine(intruderHz, 0.7, 160)
	payload := make([]byte, 160)
	for i, s := range tone {
		payload[i] = ulawEncode(s)
	}
	ssrcs := []uint32{0xCA110000, rand.Uint32()} // SIPp's rtp_stream SSRC, and another
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		for i, c := range conns {
			pkt := make([]byte, 12, 172)
			pkt[0] = 0x80
			pkt[1] = 0
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			s := ssrcs[i]
			pkt[8], pkt[9], pkt[10], pkt[11] = byte(s>>24), byte(s>>16), byte(s>>8), byte(s)
			pkt = append(pkt, payload...)
			for _, to := range targets {
				_, _ = c.WriteTo(pkt, to)
				if seq%25 == 0 {
					_, _ = c.WriteTo([]byte("not rtp at all"), to)
					_, _ = c.WriteTo([]byte{0x80}, to)
				}
			}
		}
		seq++
		ts += 160
	}
}
