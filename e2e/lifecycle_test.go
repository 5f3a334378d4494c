package e2e

// Lifecycle tests: graceful shutdown (SIGTERM, grace period), crash
// recovery (SIGKILL, restart), re-INVITE during a call, digest
// authentication and registration with the trunk, and OPTIONS pings.
// Helpers and scenarios are in lifecycle_helpers_test.go.

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

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

// sameLength checks that a recording that starts when the call is bridged
// lasts as long as the trunk leg was bridged.
func sameLength(t *testing.T, w *wavFile, bridged time.Duration) {
	t.Helper()
	if d := w.Duration() - bridged.Seconds(); d < -0.5 || d > 0.5 {
		t.Errorf("recording lasts %.2f s, the trunk leg was bridged %.2f s; want the same within 0.5 s", w.Duration(), bridged.Seconds())
	}
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

// TestReinvite: during a bridged call the stranger sends a re-INVITE in
// the dialog (CSeq 2). callrec answers 200 with its SDP on the same media
// port as before, and the call goes on and ends normally, the stranger's
// audio still recorded. Three offers:
//   - refresh: same address and port, new session version, a=sendrecv;
//   - new-port: the phone moves its media to a new port and sends from it
//     (a Go socket takes over from SIPp's stream): callrec must send its
//     RTP there and take the phone's RTP from there;
//   - new-port-old-source: the SDP names a new port but the phone keeps
//     sending from the old one (SIPp's rtp_stream does).
func TestReinvite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		move string // "", "symmetric", "old-source"
		bug  string // a known callrec bug: skip the recording checks
	}{
		{name: "refresh"},
		{name: "new-port", move: "symmetric"},
		{name: "new-port-old-source", move: "old-source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cr := startCallrec(t, config{})
			tn := makeTones(t)
			trunk := startTrunk(t, cr, trunkScenario{Tone: tn.owner})
			mp := freePorts(t, 4, false)
			rePort := mp
			var sink *rtpSink
			switch tc.move {
			case "symmetric":
				sink = newRTPSink(t)
				rePort = sink.Port()
			case "old-source":
				rePort = mp + 2 // SIPp binds it too, and never sends from it
			}
			reSDP := strings.Replace(sdp([]codec{pcmu, pcma}, 101, rePort), "o=- 1 1 ", "o=- 1 2 ", 1)
			stranger := startSIPp(t, sippOpts{Name: "stranger", Remote: cr.SIPAddr(), MediaPort: mp,
				Scenario: reinviteCaller{
					From: strangerNum, To: serviceNumber, Tone: tn.other,
					SDP: sdp([]codec{pcmu, pcma}, 101, mp), ReSDP: reSDP,
					BeforeMS: 3000, AfterMS: 4000, PauseStream: tc.move == "symmetric",
				}.render(t)})
			if sink != nil {
				// Once callrec has answered the re-INVITE, the phone's audio
				// comes from the new port.
				stranger.waitMessage(20*time.Second, "200 to the re-INVITE", func(m sipMsg) bool {
					return !m.Sent && m.Status == 200 && strings.HasPrefix(m.Header("CSeq"), "2 ")
				})
				_, port := sdpAudio(firstOK(t, stranger, "1").Body)
				go sink.sendTone(otherHz, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, stranger.done)
			}
			stranger.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}

			first, re := firstOK(t, stranger, "1"), firstOK(t, stranger, "2")
			_, port1 := sdpAudio(first.Body)
			ip2, port2 := sdpAudio(re.Body)
			t.Logf("callrec's media: %d in the first 200, %s:%d in the re-INVITE's 200", port1, ip2, port2)
			if port1 == 0 || port2 != port1 || ip2 != "127.0.0.1" {
				t.Errorf("re-INVITE answered with media %s:%d, want callrec's same port %d; SDP:\n%s", ip2, port2, port1, re.Body)
			}
			if !strings.Contains(re.Header("Content-Type"), "application/sdp") {
				t.Errorf("re-INVITE's 200 has Content-Type %q, want application/sdp", re.Header("Content-Type"))
			}
			if len(requests(trunk.messages(), "BYE", false)) != 1 {
				t.Errorf("the stranger hung up, but the trunk got no BYE: %s", trunk.summary())
			}
			if sink != nil {
				var got []rtpPacket
				for _, p := range sink.packets() {
					if p.From.Port == port1 {
						got = append(got, p)
					}
				}
				st := analyseChannel(pcmuSamples(got))
				t.Logf("new media port got %d RTP packets from callrec's port %d: %v", len(got), port1, st)
				if len(got) < 150 || st.ToneHit[ownerHz]*frameMS < 2500 { // 4 s of talk at 50 packets/s
					t.Errorf("after the re-INVITE callrec sent %d RTP packets to the new port (%v); want the owner's %d Hz tone there for the last 4 s",
						len(got), st, ownerHz)
				}
			}

			rec := cr.oneCall()
			if rec.Status != "completed" || rec.RecordingState != "complete" {
				t.Errorf("call record %v: want status completed, recording_state complete", rec)
			}
			if tc.bug != "" {
				t.Skip(tc.bug)
			}
			w := checkRecording(t, cr, rec, bridged(t, trunk), 5)
			// The stranger talks on after the re-INVITE: the last 3 s of
			// channel 1 must carry its tone.
			n := len(w.Samples[1])
			tail := analyseChannel(w.Samples[1][max(0, n-3*8000):])
			t.Logf("channel 1, last 3 s: %v", tail)
			if tail.share(otherHz) < 0.7 {
				t.Errorf("after the re-INVITE the stranger's audio is missing from the recording: last 3 s of channel 1: %v", tail)
			}
		})
	}
}

// firstOK is the 200 the phone received for its INVITE with CSeq number
// cseq.
func firstOK(t *testing.T, s *sipp, cseq string) sipMsg {
	t.Helper()
	for _, m := range s.messages() {
		if !m.Sent && m.Status == 200 && m.CSeq == "INVITE" && strings.HasPrefix(m.Header("CSeq"), cseq+" ") {
			return m
		}
	}
	t.Fatalf("sipp %s got no 200 to INVITE CSeq %s: %s", s.opts.Name, cseq, s.summary())
	return sipMsg{}
}

// TestTrunkDigestAuth: with trunk.username and trunk.password set, the
// trunk answers callrec's INVITE with 401; callrec sends it again with an
// Authorization the trunk verifies (SIPp verifyauth), and the call is
// bridged and recorded.
func TestTrunkDigestAuth(t *testing.T) {
	t.Parallel()
	for _, qop := range []bool{false, true} {
		t.Run(fmt.Sprintf("qop=%v", qop), func(t *testing.T) {
			t.Parallel()
			tn := makeTones(t)
			cfg := config{TrunkPort: freePorts(t, 1, true)}
			trunk := startSIPp(t, sippOpts{Name: "trunk", Port: cfg.TrunkPort, Scenario: authPeer{
				Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: qop, Tone: tn.owner,
			}.render(t, authTrunkTemplate)})
			cr := startCallrecEnv(t, cfg, "CALLREC_TRUNK_USERNAME="+trunkUser, "CALLREC_TRUNK_PASSWORD="+trunkPass)
			stranger := call(t, cr, "stranger", callerScenario{
				From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
				Steps: []step{pause(4000), hangup()},
			}, sippOpts{})
			stranger.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}
			invs := requests(trunk.messages(), "INVITE", false)
			if len(invs) != 2 {
				t.Fatalf("trunk got %d INVITEs, want 2 (challenged, then authenticated): %s", len(invs), trunk.summary())
			}
			if a := invs[0].Header("Authorization"); a != "" {
				t.Errorf("first INVITE already carries Authorization %q", a)
			}
			auth := invs[1].Header("Authorization")
			t.Logf("Authorization: %s", auth)
			for _, want := range []string{"Digest ", `username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, `nonce="` + trunkNonce + `"`, "response="} {
				if !strings.Contains(auth, want) {
					t.Errorf("second INVITE's Authorization %q lacks %s", auth, want)
				}
			}
			if strings.Contains(invs[1].Raw, trunkPass) {
				t.Error("the password appears in clear in the INVITE")
			}
			if invs[0].Header("Call-ID") != invs[1].Header("Call-ID") || invs[0].Header("CSeq") == invs[1].Header("CSeq") {
				t.Errorf("authenticated INVITE: Call-ID %q CSeq %q after %q %q; want the same Call-ID and a new CSeq",
					invs[1].Header("Call-ID"), invs[1].Header("CSeq"), invs[0].Header("Call-ID"), invs[0].Header("CSeq"))
			}
			if got := uriUser(invs[1].URI); got != ownerNumber {
				t.Errorf("authenticated INVITE to %q, want the owner %q", got, ownerNumber)
			}
			rec := cr.oneCall()
			if rec.Status != "completed" || rec.AnsweredAt == nil || rec.RecordingState != "complete" {
				t.Errorf("call record %v: want status completed, answered_at set, recording_state complete", rec)
			}
			checkRecording(t, cr, rec, bridged(t, trunk), 2)
		})
	}
}

// TestTrunkRegister: with trunk.register, callrec REGISTERs with the
// trunk as trunk.username, answers the 401 challenge, and takes the 60 s
// the registrar grants; its Contact is its SIP listen address.
func TestTrunkRegister(t *testing.T) {
	t.Parallel()
	cfg := config{TrunkPort: freePorts(t, 1, true), SIPPort: freePorts(t, 1, true)}
	reg := startSIPp(t, sippOpts{Name: "registrar", Port: cfg.TrunkPort, Scenario: authPeer{
		Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: true,
	}.render(t, registrarTemplate)})
	start := time.Now()
	cr := startCallrecEnv(t, cfg,
		"CALLREC_TRUNK_USERNAME="+trunkUser, "CALLREC_TRUNK_PASSWORD="+trunkPass,
		"CALLREC_TRUNK_REGISTER=true", "CALLREC_TRUNK_REGISTER_EXPIRY=60s")
	// 20 s: room for one failed attempt and callrec's 5 s back-off (see
	// the end of the test), and a second one.
	reg.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}
	msgs := reg.messages()
	firstREGISTER := msgs[0].Time.Sub(start)
	t.Logf("registrar: %s; first REGISTER %v after callrec started, 200 %v later",
		reg.summary(), firstREGISTER.Round(time.Millisecond), msgs[len(msgs)-1].Time.Sub(msgs[0].Time).Round(time.Millisecond))
	line := cr.waitLog(5*time.Second, "registered with trunk")
	if !strings.Contains(line, "expires=1m0s") {
		t.Errorf("callrec logged %q; want the 60 s the registrar granted", line)
	}
	regs := requests(reg.messages(), "REGISTER", false)
	if len(regs) != 2 {
		t.Fatalf("registrar got %d REGISTERs, want 2 (challenged, then authenticated): %s", len(regs), reg.summary())
	}
	for i, r := range regs {
		for _, h := range []string{"To", "From"} {
			if got := uriUser(r.Header(h)); got != trunkUser {
				t.Errorf("REGISTER %d: %s %q has user %q, want trunk.username %q", i+1, h, r.Header(h), got, trunkUser)
			}
		}
		contact := r.Header("Contact")
		if !strings.Contains(contact, "@"+cr.SIPAddr()) && !strings.Contains(contact, "sip:"+cr.SIPAddr()) {
			t.Errorf("REGISTER %d: Contact %q does not point at callrec's SIP address %s", i+1, contact, cr.SIPAddr())
		}
		if e := r.Header("Expires"); e != "60" {
			t.Errorf("REGISTER %d: Expires %q, want 60 (trunk.register_expiry)", i+1, e)
		}
		if !strings.HasPrefix(r.URI, "sip:127.0.0.1") {
			t.Errorf("REGISTER %d: Request-URI %q, want the trunk's domain", i+1, r.URI)
		}
	}
	auth := regs[1].Header("Authorization")
	t.Logf("REGISTER: %s; Authorization: %s", regs[1].Header("Contact"), auth)
	for _, want := range []string{`username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, `nonce="` + trunkNonce + `"`, "qop=auth", "nc=", "cnonce="} {
		if !strings.Contains(auth, want) {
			t.Errorf("second REGISTER's Authorization %q lacks %s", auth, want)
		}
	}
	if regs[0].Header("Call-ID") != regs[1].Header("Call-ID") {
		t.Errorf("the authenticated REGISTER has a new Call-ID %q (was %q); RFC 3261 §10.2 wants the same", regs[1].Header("Call-ID"), regs[0].Header("Call-ID"))
	}
	if ok, found := firstResponse(reg.messages(), 200, "REGISTER", true); !found || ok.Header("Expires") != "60" {
		t.Errorf("registrar's 200: %q", ok.Raw)
	}

	// callrec should register as it starts, not after a failed attempt and
	// a 5 s back-off.
	if firstREGISTER > 2*time.Second {
		t.Errorf("the first REGISTER reached the trunk %v after callrec started, want at once", firstREGISTER)
	}
	for _, line := range strings.Split(cr.log.String(), "\n") {
		if strings.Contains(line, "registration with trunk failed") {
			t.Errorf("callrec: %s", line)
		}
	}
}

// TestOptionsPing: an OPTIONS (a trunk's keep-alive) gets 200 with an
// Allow header listing INVITE, over UDP and TCP.
func TestOptionsPing(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "options-udp", true: "options-tcp"}[tcp]
		s := startSIPp(t, sippOpts{Name: name, Remote: cr.SIPAddr(), TCP: tcp, Scenario: optionsScenario})
		s.mustPass(10 * time.Second)
		res, ok := firstResponse(s.messages(), 200, "OPTIONS", false)
		if !ok {
			t.Errorf("%s: no 200 to OPTIONS: %s", name, s.summary())
			continue
		}
		allow := strings.Join(res.Headers["allow"], ", ")
		t.Logf("%s: 200, Allow: %s, Accept: %s", name, allow, res.Header("Accept"))
		methods := map[string]bool{}
		for _, m := range strings.Split(allow, ",") {
			methods[strings.ToUpper(strings.TrimSpace(m))] = true
		}
		for _, m := range []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"} {
			if !methods[m] {
				t.Errorf("%s: Allow %q lacks %s", name, allow, m)
			}
		}
	}
	cr.alive()
}
