package e2e

// A stranger calls in: callrec answers with early media (its prompts, or
// replacements from prompts_dir), calls the owner through the trunk
// showing the stranger's number, and bridges or gives up (owner busy,
// caller hangs up while it rings).

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStrangerCallsIn: a stranger calls the service number, gets 183 with
// SDP (early media prompts), callrec calls the owner through the trunk
// showing the stranger's number, the owner answers, the stranger gets 200,
// and the owner hangs up. The owner is on channel 0 although the callee.
func TestStrangerCallsIn(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	stranger, trunk := callThrough(t, cr, trunkScenario{RingMS: 1000, Tone: tn.owner, HangupAfterMS: 8000}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(40000)},
	}, sippOpts{})
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

// TestStrangerOwnerBusy: the owner's line is busy: the stranger's INVITE
// gets 486.
func TestStrangerOwnerBusy(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Mode: "reject", Code: 486}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other, Expect: 486,
	}, sippOpts{})
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

// TestCallerCancelsWhileRinging: a stranger hangs up (CANCEL) while the
// owner's phone rings: callrec CANCELs the trunk leg.
func TestCallerCancelsWhileRinging(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Mode: "ring"}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other, CancelAfterMS: 8000,
	}, sippOpts{})
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

// promptHz is the tone of the test's replacement prompt.
const promptHz = 2000

// TestPromptsDirOverride: a recorded.wav in prompts_dir (1.5 s of 2 kHz)
// replaces the built-in "this call is being recorded": a stranger, whose
// SDP names a Go socket, hears it first as early media, then the built-in
// prompts. A prompt that is not 8 kHz mono stops `callrec serve` at start
// with an error that names the file.
func TestPromptsDirOverride(t *testing.T) {
	t.Parallel()
	t.Run("replacement-played", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeMonoWAV(t, filepath.Join(dir, "recorded.wav"), sine(promptHz, 0.5, 12000))
		cr := startCallrec(t, config{Extra: fmt.Sprintf("prompts_dir: %q\n", dir)})
		ear := newRTPSink(t)
		callThrough(t, cr, trunkScenario{Mode: "reject", Code: 486}, "stranger", callerScenario{
			From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Expect: 486, SDPPort: ear.Port(),
		}, sippOpts{})
		if t.Failed() {
			return
		}
		pkts := ear.packets()
		pcm := g711Samples(pkts)
		t.Logf("the stranger's socket got %d RTP packets (by payload type %v): %.2f s of audio", len(pkts), countPT(pkts), float64(len(pcm))/8000)
		if len(pcm) < 3*8000 {
			t.Fatalf("the stranger got %.2f s of early media, want the three prompts (recorded, connecting, unable to connect)", float64(len(pcm))/8000)
		}
		head, _ := toneFrames(pcm[:min(len(pcm), 2*8000)], promptHz) // the first 2 s
		all, _ := toneFrames(pcm, promptHz)
		rest := pcm[min(len(pcm), 2*8000):]
		speech := 0
		for off := 0; off+400 <= len(rest); off += 400 {
			if f := rest[off : off+400]; rms(f) >= silentRMS && toneShare(f, promptHz) < 0.2 {
				speech++
			}
		}
		t.Logf("%d Hz: %.2f s in the first 2 s, %.2f s in all; after it %.2f s of other sound", promptHz,
			float64(head*frameMS)/1000, float64(all*frameMS)/1000, float64(speech*frameMS)/1000)
		if head*frameMS < 1300 || all*frameMS > 1600 {
			t.Errorf("early media carries the replacement prompt's %d Hz for %.2f s of its first 2 s (%.2f s in all); want its 1.5 s, first",
				promptHz, float64(head*frameMS)/1000, float64(all*frameMS)/1000)
		}
		if speech*frameMS < 1000 {
			t.Errorf("after the replacement prompt the stranger heard %.2f s of other sound; want the built-in prompts that were not replaced",
				float64(speech*frameMS)/1000)
		}
		if rec := cr.oneCall(); rec.Status == "completed" {
			t.Errorf("call record %v: the owner was busy, want not completed", rec)
		}
	})
	t.Run("bad-prompt", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		bad := filepath.Join(dir, "connecting.wav")
		writeStereoWAV(t, bad, 48000, 2, 48000)
		code, out := serveMustFail(t, config{Extra: fmt.Sprintf("prompts_dir: %q\n", dir)}, 15*time.Second)
		t.Logf("callrec serve exited %d: %s", code, strings.TrimSpace(out))
		if !strings.Contains(out, bad) && !strings.Contains(out, "connecting.wav") {
			t.Errorf("callrec's error does not name the bad prompt %s: %q", bad, out)
		}
		if !strings.Contains(out, "8000 Hz mono") {
			t.Errorf("callrec's error does not say prompts must be 8000 Hz mono: %q", out)
		}
	})
}
