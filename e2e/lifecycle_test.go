package e2e

// callrec's process lifecycle: graceful shutdown (SIGTERM, the grace
// period, and when it runs out), and recovery after a crash (SIGKILL
// during a recorded call, restart).

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown: with a stranger's call bridged and recording,
// callrec gets SIGTERM (shutdown_grace 20 s). A new INVITE now gets 503;
// the call in progress goes on until the stranger hangs up, and callrec
// then exits 0 by itself, long before the grace period ends, with the
// call completed and its recording whole.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const grace = 20 * time.Second
	cr := startCallrec(t, config{Extra: "shutdown_grace: \"20s\"\n"})
	tn := makeTones(t)
	stranger, trunk := strangerBridged(t, cr, tn, pause(9000), hangup())

	sigterm := time.Now()
	cr.signal(syscall.SIGTERM)
	cr.waitLog(5*time.Second, "shutting down: refusing new calls", "active_calls=1")
	// The line is logged just before the SIP server starts draining: wait
	// until an OPTIONS says so.
	for deadline := time.Now().Add(5 * time.Second); optionsStatus(t, cr.SIPAddr()) != 503; {
		if time.Now().After(deadline) {
			t.Fatal("OPTIONS did not get 503 within 5 s of SIGTERM: callrec is not draining")
		}
		time.Sleep(50 * time.Millisecond)
	}

	late := call(t, cr, "late-caller", callerScenario{
		From: "+14155550123", To: serviceNumber, EventPT: 101, Expect: 503,
	}, sippOpts{})
	late.mustPass(15 * time.Second)
	if r, ok := firstResponse(late.messages(), 503, "INVITE", false); ok {
		t.Logf("INVITE during the grace period: 503, Retry-After %q", r.Header("Retry-After"))
	}
	select {
	case <-cr.done:
		t.Fatalf("callrec exited (%v) while a call was still up, %v after SIGTERM", cr.waitErr, time.Since(sigterm))
	default:
	}

	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	exited, code := cr.waitExit(grace + 10*time.Second)
	if code != 0 {
		t.Errorf("callrec exited with status %d after SIGTERM, want 0", code)
	}
	if t.Failed() {
		return
	}
	if byes := requests(stranger.messages(), "BYE", false); len(byes) > 0 {
		t.Errorf("callrec sent the stranger a BYE during the grace period: %s", stranger.summary())
	}
	bye := byeTime(t, stranger, true)
	t.Logf("SIGTERM → stranger's BYE %v → callrec exited %v later (%v after SIGTERM)",
		bye.Sub(sigterm).Round(time.Millisecond), exited.Sub(bye).Round(time.Millisecond), exited.Sub(sigterm).Round(time.Millisecond))
	if d := exited.Sub(bye); d > 5*time.Second {
		t.Errorf("callrec exited %v after the last call ended, want within a few seconds", d)
	}
	if d := exited.Sub(sigterm); d >= grace || strings.Contains(cr.log.String(), "shutdown grace period over") {
		t.Errorf("callrec exited %v after SIGTERM: it waited for the grace period (%v) instead of the last call", d, grace)
	}

	recs, err := cr.calls()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("want 1 call record (the call refused with 503 makes none), have %d: %v", len(recs), recs)
	}
	rec := recs[0]
	t.Logf("call record: %v", rec)
	if rec.Status != "completed" || rec.RecordingState != "complete" || rec.AnsweredAt == nil || rec.EndedAt == nil {
		t.Errorf("call record %v: want status completed, recording_state complete, answered_at and ended_at set", rec)
	}
	b := bridged(t, trunk)
	w := checkRecording(t, cr, rec, b, 5)
	sameLength(t, w, b)
}

// TestShutdownGraceExpires: with shutdown_grace 2 s, a bridged call still
// up when the grace period ends is hung up by callrec on both legs, its
// recording is finalised, and callrec exits 0.
func TestShutdownGraceExpires(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	cr := startCallrec(t, config{Extra: "shutdown_grace: \"2s\"\n"})
	tn := makeTones(t)
	stranger, trunk := strangerBridged(t, cr, tn, awaitBye(40000))

	sigterm := time.Now()
	cr.signal(syscall.SIGTERM)
	stranger.mustPass(15 * time.Second)
	trunk.mustPass(15 * time.Second)
	exited, code := cr.waitExit(15 * time.Second)
	if code != 0 {
		t.Errorf("callrec exited with status %d after SIGTERM, want 0", code)
	}
	if t.Failed() {
		return
	}
	for _, s := range []*sipp{stranger, trunk} {
		at := byeTime(t, s, false)
		d := at.Sub(sigterm)
		t.Logf("%s got BYE %v after SIGTERM", s.opts.Name, d.Round(time.Millisecond))
		if d < grace-300*time.Millisecond || d > grace+2*time.Second {
			t.Errorf("%s got BYE %v after SIGTERM, want about the grace period (%v)", s.opts.Name, d, grace)
		}
		if sent := requests(s.messages(), "BYE", true); len(sent) > 0 {
			t.Errorf("%s sent a BYE itself: %s", s.opts.Name, s.summary())
		}
	}
	t.Logf("callrec exited %v after SIGTERM", exited.Sub(sigterm).Round(time.Millisecond))
	if d := exited.Sub(sigterm); d > grace+5*time.Second {
		t.Errorf("callrec exited %v after SIGTERM, want soon after the %v grace period", d, grace)
	}
	cr.waitLog(time.Second, "shutdown grace period over: hanging up active calls")

	recs, err := cr.calls()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("want 1 call record, have %d: %v", len(recs), recs)
	}
	rec := recs[0]
	t.Logf("call record: %v", rec)
	if rec.Status != "completed" || rec.RecordingState != "complete" || rec.EndedAt == nil {
		t.Errorf("call record %v: want status completed, recording_state complete, ended_at set", rec)
	}
	b := bridged(t, trunk)
	sameLength(t, checkRecording(t, cr, rec, b, 1.2), b)
}

// TestCrashRecovery: callrec is killed (SIGKILL) during a recorded call.
// The spool file stays behind; on restart with the same config the call is
// closed as interrupted and its recording, its header repaired, is stored
// as partial. A new call then works normally.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	stranger, trunk := strangerBridged(t, cr, tn, awaitBye(60000))

	recs, err := cr.calls()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != "active" {
		t.Fatalf("want one active call record during the call, have %v", recs)
	}
	id := fmt.Sprint(recs[0].ID)
	spool := filepath.Join(cr.cfg.DataDir, "spool", id+".wav")
	// Kill callrec once the spool file holds at least 2.5 s of audio
	// (16-bit stereo, 8 kHz) beyond what its header, rewritten every 2 s,
	// says: a header that needs repair. With 32 KiB writes that is about
	// 3–4 s after the recording started.
	const bytesPerSec = 8000 * 2 * 2
	var before wavHeader
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h, err := readWAVHeader(spool)
		if err == nil && h.FileSize-44 >= 5*bytesPerSec/2 && h.DataSize < h.FileSize-44 {
			before = h
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool file %s did not hold 2.5 s of audio beyond its header's count within 15 s (%+v, %v)", spool, h, err)
		}
	}
	cr.signal(syscall.SIGKILL)
	cr.waitExit(5 * time.Second)
	stranger.kill()
	trunk.kill()

	hdr, err := readWAVHeader(spool)
	if err != nil {
		t.Fatalf("spool file after SIGKILL: %v", err)
	}
	t.Logf("spool %s after SIGKILL: %+v: %.2f s of audio in the file, the header says %.2f s", spool, hdr,
		float64(hdr.FileSize-44)/bytesPerSec, float64(hdr.DataSize)/bytesPerSec)

	cr2 := cr.restart()
	var rec callRecord
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		recs, err := cr2.calls()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Status != "active" {
			rec = recs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart the call was not closed within 15 s: %v", recs)
		}
	}
	t.Logf("recovered call record: %v", rec)
	if fmt.Sprint(rec.ID) != id || rec.Status != "interrupted" || rec.RecordingState != "partial" || rec.EndedAt == nil {
		t.Errorf("call record %v: want id %s, status interrupted, recording_state partial, ended_at set", rec, id)
	}
	path := cr2.recordingPath(rec)
	h, err := readWAVHeader(path)
	if err != nil {
		t.Fatalf("recovered recording: %v", err)
	}
	if h.DataOffset+h.DataSize != h.FileSize || h.RIFFSize != h.FileSize-8 {
		t.Errorf("recovered recording %s: header says RIFF %d, data %d at %d; file is %d bytes: want data to run to the end",
			path, h.RIFFSize, h.DataSize, h.DataOffset, h.FileSize)
	}
	w, err := readWAV(path)
	if err != nil {
		t.Fatalf("recovered recording: %v", err)
	}
	d := w.Duration()
	t.Logf("recovered recording %s: %d ch, %d Hz, %.2f s", path, w.Channels, w.SampleRate, d)
	if w.Channels != 2 || w.SampleRate != 8000 || w.Bits != 16 {
		t.Errorf("recovered recording: %d channels, %d Hz, %d bits; want 2, 8000, 16", w.Channels, w.SampleRate, w.Bits)
	}
	if inSpool := float64(before.FileSize-44) / bytesPerSec; d < 2 || d > 4.5 || d < inSpool-0.01 {
		t.Errorf("recovered recording lasts %.2f s; want 2–4.5 s and no less than the %.2f s seen in the spool before the kill",
			d, inSpool)
	}
	if len(w.Samples) == 2 {
		ch0, ch1 := analyseChannel(w.Samples[0]), analyseChannel(w.Samples[1])
		t.Logf("channel 0: %v; channel 1: %v", ch0, ch1)
		if ch0.ToneHit[ownerHz]*frameMS < 1000 || ch1.ToneHit[otherHz]*frameMS < 1000 {
			t.Errorf("recovered recording: want at least 1 s of the owner's tone on channel 0 and the stranger's on channel 1")
		}
	}
	cr2.waitLog(time.Second, "recovered partial recording of an interrupted call", "call_id="+id)

	// A new call works normally.
	trunk2 := startSIPp(t, sippOpts{Name: "trunk2", Port: cr2.TrunkPort(), Scenario: trunkScenario{Tone: tn.owner}.render(t)})
	stranger2 := call(t, cr2, "stranger2", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
		Steps: []step{pause(4000), hangup()},
	}, sippOpts{})
	stranger2.mustPass(callTimeout)
	trunk2.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	var next *callRecord
	for _, r := range cr2.finishedCalls(2) {
		if fmt.Sprint(r.ID) != id {
			next = &r
		}
	}
	if next == nil {
		t.Fatal("no record for the call after the restart")
	}
	if next.Status != "completed" || next.RecordingState != "complete" {
		t.Errorf("call after restart %v: want status completed, recording_state complete", *next)
	}
	checkRecording(t, cr2, *next, bridged(t, trunk2), 2)
}
