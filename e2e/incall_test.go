package e2e

// During a bridged call: the owner's keys pause and resume the recording,
// keys reach the far end with its own payload type, and max_call_seconds
// ends the call.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPauseResume: the owner presses 5, then 6: the record has one pause
// span, and that span is silent on both channels of the recording.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, Tone: tn.owner,
		Steps: []step{
			pause(waitEnterNumber), keys(t, "2125550123#", 101),
			pause(waitBridge + 3000), keys(t, "5", 101),
			pause(4500), keys(t, "6", 101),
			pause(4000), hangup(),
		},
	}, sippOpts{})
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

// TestMaxCallSeconds: with max_call_seconds 4, a bridged stranger call
// whose two phones would both stay 30 s is hung up by callrec on both legs
// about 4 s after the bridge; the record says why, and the recording lasts
// about 4 s.
func TestMaxCallSeconds(t *testing.T) {
	t.Parallel()
	const limit = 4 * time.Second
	cr := startCallrec(t, config{Extra: "max_call_seconds: 4\n"})
	tn := makeTones(t)
	// The trunk waits up to 55 s for BYE.
	stranger, trunk := callThrough(t, cr, trunkScenario{Tone: tn.owner}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{awaitBye(30000)},
	}, sippOpts{})
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
