package e2e

// Dead media: media.timeout ends a call whose far end stops sending RTP,
// but not one on hold; and callrec's keep-alive silence while it waits
// for the owner's keys, so that an SBC's own media timeout keeps the call.

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// mediaTimeoutEnv sets media.timeout to its minimum, 5 s.
const mediaTimeoutEnv = "CALLREC_MEDIA_TIMEOUT=5s"

// quietTrunk fills in trunk-quiet.sipp.tmpl: a trunk that answers at
// once, streams Tone for StopAfterMS, then falls silent and awaits
// callrec's BYE for AwaitByeMS.
type quietTrunk struct {
	Tone                    string
	StopAfterMS, AwaitByeMS int
}

func (s quietTrunk) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	data := struct {
		quietTrunk
		SDP string
	}{s, sdp([]codec{pcmu}, 0, 0)}
	if err := scenarioTemplates.ExecuteTemplate(&b, "trunk-quiet.sipp.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario trunk-quiet: %v", err)
	}
	return b.String()
}

// TestMediaTimeout: with media.timeout 5 s, a stranger is bridged to the
// owner, whose phone (the trunk) stops sending RTP 2 s after answering:
// callrec hangs up both legs 5 s or a little more after the last packet,
// the record's hangup_cause names the owner's silence and media.timeout,
// and the recording is complete and as long as the bridged call.
func TestMediaTimeout(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{}, mediaTimeoutEnv)
	tn := makeTones(t)
	trunk := startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: quietTrunk{Tone: tn.owner, StopAfterMS: 2000, AwaitByeMS: 30000}.render(t)})
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(30000)},
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	acks := requests(trunk.messages(), "ACK", false)
	if len(acks) == 0 {
		t.Fatalf("the trunk got no ACK: %s", trunk.summary())
	}
	quietFrom := acks[0].Time.Add(2 * time.Second) // the trunk's last RTP
	trunkBye, strangerBye := byeTime(t, trunk, false), byeTime(t, stranger, false)
	for who, at := range map[string]time.Time{"trunk": trunkBye, "stranger": strangerBye} {
		after := at.Sub(quietFrom)
		t.Logf("the %s got callrec's BYE %v after the owner's media stopped", who, after)
		if after < 4500*time.Millisecond || after > 15*time.Second {
			t.Errorf("the %s got callrec's BYE %v after the owner's media stopped; media.timeout is 5 s", who, after)
		}
	}
	rec := cr.oneCall()
	cause, _ := rec.HangupCause.(string)
	if !strings.Contains(cause, "no media from the owner") || !strings.Contains(cause, "media.timeout") {
		t.Errorf("hangup_cause %q: want it to name no media from the owner and media.timeout", cause)
	}
	if rec.RecordingState != "complete" {
		t.Errorf("call record %v: want recording_state complete", rec)
	}
	checkRecording(t, cr, rec, bridged(t, trunk), 1.5)
}

// TestMediaTimeoutNotOnHold: with media.timeout 5 s, a stranger bridged
// to the owner puts the call on hold (re-INVITE sendonly, or inactive)
// and sends no RTP for 8 s, then hangs up itself: callrec did not end
// the call, and the record says the stranger hung up.
func TestMediaTimeoutNotOnHold(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"sendonly", "inactive"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			cr := startCallrec(t, config{}, mediaTimeoutEnv)
			tn := makeTones(t)
			trunk := startTrunk(t, cr, trunkScenario{Tone: tn.owner})
			offer := sdp([]codec{pcmu}, 101, 0)
			hold := strings.Replace(strings.Replace(offer, "a=sendrecv", "a="+dir, 1), "o=- 1 1 ", "o=- 1 2 ", 1)
			stranger := startSIPp(t, sippOpts{Name: "stranger", Remote: cr.SIPAddr(), Scenario: reinviteCaller{
				From: strangerNum, To: serviceNumber, Tone: tn.other,
				SDP: offer, ReSDP: hold, BeforeMS: 2000, AfterMS: 8000, PauseStream: true,
			}.render(t)})
			stranger.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}
			if n := len(requests(stranger.messages(), "BYE", false)); n != 0 {
				t.Errorf("callrec sent the stranger on hold %d BYEs", n)
			}
			if line, ok := cr.logLine("media timeout"); ok {
				t.Errorf("callrec timed out a call on hold: %s", line)
			}
			rec := cr.oneCall()
			if cause, _ := rec.HangupCause.(string); strings.Contains(cause, "media.timeout") {
				t.Errorf("hangup_cause %q: the call was on hold, not dead", cause)
			}
		})
	}
}

// TestKeepAlive: while callrec waits for the owner's PIN after its prompt
// (from 3.5 s to 6.5 s after the answer: the prompt lasts 2.8 s and is
// repeated 5 s after it ends), and the owner's phone sends nothing,
// callrec keeps sending RTP: silence, one packet per 20 ms of RTP
// timeline, about 50 a second, so that an SBC with a media timeout
// keeps the call.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{OwnerPIN: "4321"})
	ear := newMediaPeer(t)
	owner := call(t, cr, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, SDPPort: ear.Port(),
		Steps: []step{pause(7500), hangup()},
	}, sippOpts{})
	owner.mustPass(callTimeout)
	if t.Failed() {
		return
	}
	ok := firstOK(t, owner, "1")
	from, to := ok.Time.Add(3500*time.Millisecond), ok.Time.Add(6500*time.Millisecond)
	var window []rtpPacket
	for _, a := range ear.arrivals() {
		if !a.At.Before(from) && a.At.Before(to) {
			window = append(window, a.Pkt)
		}
	}
	t.Logf("the owner's phone got %d RTP packets in the 3 s after the PIN prompt (of %d in all), by payload type %v",
		len(window), len(ear.arrivals()), countPT(window))
	// 150: callrec makes up for clock ticks a loaded machine delays; the
	// margin is for this test's own late reads at the window's ends.
	if len(window) < 110 || len(window) > 165 {
		t.Errorf("the owner's phone got %d RTP packets in 3 s while callrec waited for the PIN; want about 150 (one per 20 ms)", len(window))
		logGaps(t, ear.arrivals(), ok.Time)
	}
	for i, p := range window {
		if p.PT != 0 {
			t.Errorf("packet %d has payload type %d; the phone offered PCMU first", i, p.PT)
			continue
		}
		if level := rms(pcmuSamples([]rtpPacket{p})); level >= silentRMS {
			t.Errorf("packet %d is not silence (RMS %.0f): a prompt in the window?", i, level)
		}
		if i == 0 {
			continue
		}
		prev := window[i-1]
		if p.SSRC != prev.SSRC {
			t.Errorf("packet %d: SSRC %#x after %#x; one stream wants one SSRC", i, p.SSRC, prev.SSRC)
			continue
		}
		if dseq, dts := p.Seq-prev.Seq, p.TS-prev.TS; dts != 160*uint32(dseq) {
			t.Errorf("packet %d: sequence +%d, timestamp +%d; want 160 (20 ms) per packet", i, dseq, dts)
		}
	}
}

// logGaps logs each gap of more than 60 ms between packets that arrived
// (its start relative to from), with the packets on either side.
func logGaps(t *testing.T, got []arrival, from time.Time) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if gap := got[i].At.Sub(got[i-1].At); gap > 60*time.Millisecond {
			p, q := got[i-1].Pkt, got[i].Pkt
			t.Logf("no RTP for %v from %v after the answer (seq %d ts %d ssrc %#x, then seq %d ts %d ssrc %#x, RMS %.0f)",
				gap.Round(time.Millisecond), got[i-1].At.Sub(from).Round(time.Millisecond), p.Seq, p.TS, p.SSRC, q.Seq, q.TS, q.SSRC,
				rms(pcmuSamples([]rtpPacket{q})))
		}
	}
}
