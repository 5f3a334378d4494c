package e2e

// Points of issue 2 not covered by the other end-to-end tests:
// max_call_seconds, prompts_dir (override and a bad prompt), RFC 4733
// digits relayed to the far end with its payload type, PCMU↔PCMA
// transcoding, and the refresh of a trunk registration. Helpers are in
// gaps_helpers_test.go.

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMaxCallSeconds: with max_call_seconds 4, a bridged stranger call
// whose two phones would both stay 30 s is hung up by callrec on both legs
// about 4 s after the bridge; the record says why, and the recording lasts
// about 4 s.
func TestMaxCallSeconds(t *testing.T) {
	t.Parallel()
	const limit = 4 * time.Second
	cr := startCallrec(t, config{Extra: "max_call_seconds: 4\n"})
	tn := makeTones(t)
	trunk := startTrunk(t, cr, trunkScenario{Tone: tn.owner}) // waits up to 55 s for BYE
	stranger := call(t, cr, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(30000)},
	}, sippOpts{})
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}

	for _, s := range []*sipp{stranger, trunk} {
		if sent := requests(s.messages(), "BYE", true); len(sent) > 0 {
			t.Errorf("%s sent a BYE itself; callrec should have hung up: %s", s.opts.Name, s.summary())
		}
	}
	// The bridge: the trunk's 200 (sent) and the stranger's 200 (received).
	trunkOK, ok1 := firstResponse(trunk.messages(), 200, "INVITE", true)
	strangerOK, ok2 := firstResponse(stranger.messages(), 200, "INVITE", false)
	if !ok1 || !ok2 {
		t.Fatalf("no bridge: trunk %s; stranger %s", trunk.summary(), stranger.summary())
	}
	for _, leg := range []struct {
		s  *sipp
		up time.Time
	}{{trunk, trunkOK.Time}, {stranger, strangerOK.Time}} {
		byes := requests(leg.s.messages(), "BYE", false)
		if len(byes) == 0 {
			t.Errorf("%s got no BYE: %s", leg.s.opts.Name, leg.s.summary())
			continue
		}
		bye := byes[0]
		d := bye.Time.Sub(leg.up)
		t.Logf("%s: BYE %v after its 200 (Reason %q)", leg.s.opts.Name, d.Round(time.Millisecond), bye.Header("Reason"))
		if d < limit-300*time.Millisecond || d > limit+1500*time.Millisecond {
			t.Errorf("%s got BYE %v after the bridge, want about max_call_seconds (%v)", leg.s.opts.Name, d, limit)
		}
	}

	rec := cr.oneCall()
	cause := fmt.Sprint(rec.HangupCause)
	if rec.Status != "completed" || rec.RecordingState != "complete" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want status completed, recording_state complete, answered_at set", rec)
	}
	if !strings.Contains(cause, "max_call_seconds") {
		t.Errorf("call record's hangup_cause %q does not mention max_call_seconds", cause)
	}
	cr.waitLog(time.Second, "max_call_seconds reached")
	w := checkRecording(t, cr, rec, bridged(t, trunk), 2)
	if d := w.Duration(); d < 3.4 || d > 4.6 {
		t.Errorf("recording lasts %.2f s, want about max_call_seconds (4 s)", d)
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
		trunk := startTrunk(t, cr, trunkScenario{Mode: "reject", Code: 486})
		stranger := call(t, cr, "stranger", callerScenario{
			From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Expect: 486, SDPPort: ear.Port(),
		}, sippOpts{})
		stranger.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
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

// TestDTMFForwarded: RFC 4733 keys with each peer's own payload types.
//
// to-far-end: during a bridged dial-out the owner presses 5 and later 6
// (payload type 101, as the owner offered). The trunk answered with
// telephone-event on payload type 100 and names a Go socket in its SDP:
// that socket gets both keys as RFC 4733 events on payload type 100
// (marker on the first packet, end bit on the last), in the audio's SSRC
// and timeline, and nothing on 101. The digits also paused and resumed the
// recording.
//
// from-owner-behind-trunk: a stranger calls in; callrec offers the owner's
// leg telephone-event 101, the owner's phone (a Go socket) answers 100
// and sends its 5 with the payload type callrec offered, 101, which is
// what an offer's numbers mean (RFC 3264 §5.1: what the offerer expects
// to receive): callrec must take it and pause the recording.
func TestDTMFForwarded(t *testing.T) {
	t.Parallel()
	const farPT = 100
	t.Run("to-far-end", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{})
		tn := makeTones(t)
		far := newRTPSink(t)
		trunk := startTrunkSDP(t, cr, trunkScenario{}, sdp([]codec{pcmu}, farPT, far.Port()))
		owner := call(t, cr, "owner", callerScenario{
			From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
			Steps: []step{
				pause(waitEnterNumber), keys(t, "2125550123#", 101),
				pause(waitBridge + 1000), keys(t, "5", 101),
				pause(3500), keys(t, "6", 101),
				pause(3000), hangup(),
			},
		}, sippOpts{})
		inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
			return !m.Sent && m.Method == "INVITE"
		})
		go far.sendToneAs(otherHz, 0, sdpTarget(t, inv.Body), trunk.done)
		owner.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}

		pkts := far.packets()
		t.Logf("the far end's socket got %d RTP packets, by payload type %v", len(pkts), countPT(pkts))
		if got := dtmfKeys(t, pkts, farPT); got != "56" {
			t.Errorf("the far end got RFC 4733 keys %q on payload type %d (its own), want \"56\"", got, farPT)
		}
		if n := countPT(pkts)[101]; n > 0 {
			t.Errorf("the far end got %d packets on payload type 101, the owner's telephone-event type, which it never offered", n)
		}
		// RFC 4733 §2.1: events go in the audio's stream, the timestamp
		// on the audio's clock.
		var lastAudio *rtpPacket
		for i, p := range pkts {
			switch p.PT {
			case 0:
				lastAudio = &pkts[i]
			case farPT:
				if lastAudio == nil {
					t.Errorf("telephone-event (seq %d) before any audio", p.Seq)
					continue
				}
				if p.SSRC != lastAudio.SSRC {
					t.Errorf("telephone-event in SSRC %#x, the audio in %#x; want one stream", p.SSRC, lastAudio.SSRC)
				}
				if d := int32(p.TS - lastAudio.TS); d < -8000 || d > 8000 {
					t.Errorf("telephone-event timestamp %d is %d samples from the audio's (%d); want the audio's clock", p.TS, d, lastAudio.TS)
				}
			}
		}

		rec := cr.oneCall()
		if rec.Status != "completed" || len(rec.Pauses) != 1 {
			t.Errorf("call record %v: want status completed and one pause (5, then 6)", rec)
		}
	})
	t.Run("from-owner-behind-trunk", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{})
		tn := makeTones(t)
		phone := newRTPSink(t)
		trunk := startTrunkSDP(t, cr, trunkScenario{}, sdp([]codec{pcmu}, farPT, phone.Port()))
		stranger := call(t, cr, "stranger", callerScenario{
			From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
			Steps: []step{pause(6000), hangup()},
		}, sippOpts{})
		inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
			return !m.Sent && m.Method == "INVITE"
		})
		if !strings.Contains(inv.Body, "telephone-event") || !strings.Contains(inv.Body, "a=rtpmap:101 ") {
			t.Fatalf("callrec's offer to the trunk has no telephone-event on 101:\n%s", inv.Body)
		}
		to := sdpTarget(t, inv.Body)
		go phone.sendToneAs(ownerHz, 0, to, trunk.done)
		cr.waitLog(30*time.Second, "type=ReceiveDigits") // the control digits are armed
		if err := phone.sendTimed(dtmfPackets(t, "5", 101), to); err != nil {
			t.Fatal(err)
		}
		got := cr.logHas(3*time.Second, `msg="digit received"`, "digit=5")
		stranger.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}
		rec := cr.oneCall()
		if !got {
			t.Fatalf("the owner's 5, sent on payload type 101 (callrec's offer; the phone's answer listed 100), was not received; pauses %v", rec.Pauses)
		}
		if len(rec.Pauses) != 1 {
			t.Errorf("call record %v: the owner pressed 5, want one pause", rec)
		}
	})
}

// TestTranscodePCMA: the stranger offers one G.711 law and the trunk
// answers the other; both phones' SDP names Go sockets that send a tone
// in their own law. Each side gets only its own payload type, carrying the
// other side's tone, and the recording has each tone on its channel.
func TestTranscodePCMA(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		stranger, trunk codec
	}{
		{"stranger-PCMA-trunk-PCMU", pcma, pcmu},
		{"stranger-PCMU-trunk-PCMA", pcmu, pcma},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cr := startCallrec(t, config{})
			strangerEar, ownerEar := newRTPSink(t), newRTPSink(t)
			trunk := startTrunkSDP(t, cr, trunkScenario{}, sdp([]codec{tc.trunk}, 0, ownerEar.Port()))
			stranger := call(t, cr, "stranger", callerScenario{
				From: strangerNum, To: serviceNumber, Early: true, EventPT: 101,
				Codecs: []codec{tc.stranger}, SDPPort: strangerEar.Port(),
				Steps: []step{pause(8000), hangup()},
			}, sippOpts{})
			early := stranger.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
				return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
			})
			go strangerEar.sendToneAs(otherHz, uint8(tc.stranger.PT), sdpTarget(t, early.Body), stranger.done)
			inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
				return !m.Sent && m.Method == "INVITE"
			})
			go ownerEar.sendToneAs(ownerHz, uint8(tc.trunk.PT), sdpTarget(t, inv.Body), trunk.done)
			stranger.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}

			b := bridged(t, trunk)
			for _, side := range []struct {
				name    string
				ear     *rtpSink
				own     codec
				hears   int
				offered string
			}{
				{"stranger", strangerEar, tc.stranger, ownerHz, "offered"},
				{"trunk", ownerEar, tc.trunk, otherHz, "answered"},
			} {
				pkts := side.ear.packets()
				byPT := countPT(pkts)
				hits, frames := toneFrames(g711Samples(pkts), float64(side.hears))
				t.Logf("%s got %d RTP packets, by payload type %v; the other side's %d Hz in %.2f s of %.2f s",
					side.name, len(pkts), byPT, side.hears, float64(hits*frameMS)/1000, float64(frames*frameMS)/1000)
				for pt, n := range byPT {
					if pt != uint8(side.own.PT) {
						t.Errorf("%s %s only %s (%d) but got %d packets of payload type %d", side.name, side.offered, side.own.Name, side.own.PT, n, pt)
					}
				}
				if want := b.Seconds() - 2.5; float64(hits*frameMS)/1000 < want {
					t.Errorf("%s heard the other side's %d Hz tone for %.2f s in %s; the call was bridged %.2f s, want at least %.2f s",
						side.name, side.hears, float64(hits*frameMS)/1000, side.own.Name, b.Seconds(), want)
				}
			}
			rec := cr.oneCall()
			if rec.Status != "completed" || rec.RecordingState != "complete" {
				t.Errorf("call record %v: want status completed, recording_state complete", rec)
			}
			checkRecording(t, cr, rec, b, math.Max(2, b.Seconds()-3))
		})
	}
}

// TestRegisterRefresh: the registrar grants 3 s; callrec refreshes its
// registration at 80 % of that, 2.4 s after the 200, and the refresh is
// authenticated. The first registrar (registrarTemplate, 401 then 200)
// takes one dialog only, so a second one takes over the port for the
// refresh (which may come with credentials or be challenged again).
func TestRegisterRefresh(t *testing.T) {
	t.Parallel()
	const granted = 3
	cfg := config{TrunkPort: freePorts(t, 1, true), SIPPort: freePorts(t, 1, true)}
	peer := authPeer{Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: true}
	reg := startSIPp(t, sippOpts{Name: "registrar", Port: cfg.TrunkPort, Scenario: shortRegistrar(t, peer, granted)})
	cr := startCallrecEnv(t, cfg,
		"CALLREC_TRUNK_USERNAME="+trunkUser, "CALLREC_TRUNK_PASSWORD="+trunkPass,
		"CALLREC_TRUNK_REGISTER=true", "CALLREC_TRUNK_REGISTER_EXPIRY=60s")
	reg.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}
	ok, found := firstResponse(reg.messages(), 200, "REGISTER", true)
	if !found {
		t.Fatalf("the registrar sent no 200: %s", reg.summary())
	}
	refresh := startSIPp(t, sippOpts{Name: "registrar-refresh", Port: cfg.TrunkPort, Scenario: refreshRegistrar(t, peer, 60)})
	ready := time.Since(ok.Time)
	t.Logf("the second registrar was listening %v after the first 200", ready.Round(time.Millisecond))
	if ready > 2*time.Second {
		t.Fatalf("the second registrar took %v to listen after the 200; the refresh is due 2.4 s after it: the machine is too slow for this test", ready)
	}
	refresh.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}

	first := requests(reg.messages(), "REGISTER", false)
	regs := requests(refresh.messages(), "REGISTER", false)
	t.Logf("registrar: %s; refresh registrar: %s", reg.summary(), refresh.summary())
	if len(regs) == 0 {
		t.Fatalf("no refresh REGISTER: %s", refresh.summary())
	}
	after := regs[0].Time.Sub(ok.Time)
	t.Logf("refresh REGISTER %v after the 200 that granted %d s", after.Round(time.Millisecond), granted)
	if after < 2200*time.Millisecond || after > granted*time.Second {
		t.Errorf("the refresh REGISTER came %v after the 200 granting %d s; want at 80 %% of it (2.4 s), before expiry", after, granted)
	}
	last := regs[len(regs)-1]
	auth := last.Header("Authorization")
	t.Logf("refresh: Call-ID %q CSeq %q, %d REGISTER(s); Authorization: %s", last.Header("Call-ID"), last.Header("CSeq"), len(regs), auth)
	for _, want := range []string{`username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, "response="} {
		if !strings.Contains(auth, want) {
			t.Errorf("the refresh's Authorization %q lacks %s", auth, want)
		}
	}
	for _, r := range regs {
		if e := r.Header("Expires"); e != "60" {
			t.Errorf("refresh REGISTER: Expires %q, want 60 (trunk.register_expiry)", e)
		}
		if c := r.Header("Contact"); !strings.Contains(c, cr.SIPAddr()) {
			t.Errorf("refresh REGISTER: Contact %q does not point at callrec's SIP address %s", c, cr.SIPAddr())
		}
		if strings.Contains(r.Raw, trunkPass) {
			t.Error("the password appears in clear in a REGISTER")
		}
	}
	cr.waitLog(5*time.Second, "registered with trunk", "expires=1m0s")
	if !strings.Contains(cr.log.String(), "expires=3s") {
		t.Errorf("callrec did not log the 3 s the first registrar granted")
	}
	for _, line := range strings.Split(cr.log.String(), "\n") {
		if strings.Contains(line, "registration with trunk failed") {
			t.Errorf("callrec: %s", line)
		}
	}
	if t.Failed() {
		return
	}
	// RFC 3261 §10.2.4: a refresh SHOULD reuse the Call-ID of the
	// registration (CSeq one higher), as the challenged REGISTER does.
	if cid := first[0].Header("Call-ID"); regs[0].Header("Call-ID") != cid {
		t.Errorf("the refresh REGISTER has a new Call-ID %q and CSeq %q (the registration had %q, CSeq %q); RFC 3261 §10.2.4 keeps them",
			regs[0].Header("Call-ID"), regs[0].Header("CSeq"), cid, first[len(first)-1].Header("CSeq"))
	}
}
