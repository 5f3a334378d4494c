package e2e

// callrec behind an SBC: Kamailio (testdata/kamailio/sbc.cfg.tmpl) relays
// the SIP between callrec and the trunk and phones, and rtpengine anchors
// the media, so callrec only ever sees rtpengine's addresses in SDP and
// RTP, as behind a real provider's or PBX's border controller.

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// sbcMediaIP is rtpengine's media address: another loopback address than
// the peers' 127.0.0.1, so SDP and RTP show who sent them.
const sbcMediaIP = "127.0.0.3"

// sbcSetup is callrec behind a started SBC, and the trunk's port.
type sbcSetup struct {
	cr        *callrec
	sbc       *sbc
	trunkPort int
	srtp      bool // rtpengine speaks SRTP toward callrec
}

// startBehindSBC starts rtpengine, Kamailio (flags for rtpengine toward
// callrec and toward the far side) and callrec with its trunk.address on
// Kamailio's near port; extra is more top-level YAML for callrec.
func startBehindSBC(t *testing.T, towardCallrec, towardFar, extra string) sbcSetup {
	t.Helper()
	requireCallrec(t)
	cfg := config{SIPPort: freePorts(t, 1, true), TrunkPort: freePorts(t, 1, true), Extra: extra}
	trunkPort := freePorts(t, 1, false)
	s := startSBC(t, kamailioSBC{
		FarPort: freePorts(t, 1, false), NearPort: cfg.TrunkPort,
		CallrecAddr:   fmt.Sprintf("127.0.0.1:%d", cfg.SIPPort),
		TrunkAddr:     fmt.Sprintf("127.0.0.1:%d", trunkPort),
		TowardCallrec: towardCallrec, TowardFar: towardFar,
	}, sbcMediaIP)
	return sbcSetup{cr: startCallrec(t, cfg), sbc: s, trunkPort: trunkPort, srtp: towardCallrec == sbcSRTPTowardCallrec}
}

// checkAnchored fails the test unless the SDP body names one of
// rtpengine's media ports, in plain RTP/AVP without keys (what the SIPp
// side gets, also when callrec's side is SRTP).
func (s sbcSetup) checkAnchored(t *testing.T, what, body string) {
	t.Helper()
	if !strings.Contains(body, " RTP/AVP ") || strings.Contains(body, "a=crypto:") {
		t.Errorf("%s is not plain RTP/AVP without a=crypto (srtp toward callrec: %v):\n%s", what, s.srtp, body)
	}
	ip, port := sdpAudio(body)
	if !s.sbc.relayed(ip, port) {
		t.Errorf("%s names %s:%d, want one of rtpengine's %s:%d–%d (media not anchored):\n%s",
			what, ip, port, s.sbc.media.IP, s.sbc.media.PortMin, s.sbc.media.PortMax, body)
	}
}

// checkEar checks what a Go media endpoint got: RTP only from rtpengine,
// carrying the other side's tone hz for all but 2.5 s of the bridged time.
func (s sbcSetup) checkEar(t *testing.T, name string, ear *rtpSink, hz int, b time.Duration) {
	t.Helper()
	pkts := ear.packets()
	for _, p := range pkts {
		if p.From.IP.String() != s.sbc.media.IP {
			t.Errorf("%s got RTP from %v, want only rtpengine's %s", name, p.From, s.sbc.media.IP)
			break
		}
	}
	hits, _ := toneFrames(g711Samples(pkts), float64(hz))
	heard := float64(hits*frameMS) / 1000
	t.Logf("%s got %d RTP packets; the other side's %d Hz for %.2f s of %.2f s bridged", name, len(pkts), hz, heard, b.Seconds())
	if want := b.Seconds() - 2.5; heard < want {
		t.Errorf("%s heard the other side's %d Hz tone for %.2f s; bridged %.2f s, want at least %.2f s", name, hz, heard, b.Seconds(), want)
	}
}

// sbcCallIn: a stranger calls in through the SBC and callrec calls the
// owner out through it. Both phones' media are Go sockets sending their
// tone to the address their SDP answer named (rtpengine's).
func sbcCallIn(t *testing.T, s sbcSetup) {
	strangerEar, ownerEar := newRTPSink(t), newRTPSink(t)
	trunk := startSIPp(t, sippOpts{Name: "trunk", Port: s.trunkPort,
		Scenario: trunkScenario{}.renderSDP(t, sdp([]codec{pcmu}, 0, ownerEar.Port()))})
	stranger := startSIPp(t, sippOpts{Name: "stranger", Remote: s.sbc.FarAddr(), Scenario: callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Codecs: []codec{pcmu},
		SDPPort: strangerEar.Port(), Steps: []step{pause(8000), hangup()},
	}.render(t)})
	early := stranger.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
		return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
	})
	go strangerEar.sendTone(otherHz, sdpTarget(t, early.Body), stranger.done)
	inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
		return !m.Sent && m.Method == "INVITE"
	})
	go ownerEar.sendTone(ownerHz, sdpTarget(t, inv.Body), trunk.done)
	stranger.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	s.checkAnchored(t, "the stranger's 183 (callrec's answer, through the SBC)", early.Body)
	s.checkAnchored(t, "the trunk's INVITE (callrec's offer, through the SBC)", inv.Body)
	b := bridged(t, trunk)
	s.checkEar(t, "stranger", strangerEar, ownerHz, b)
	s.checkEar(t, "trunk", ownerEar, otherHz, b)
	rec := s.cr.oneCall()
	if rec.Status != "completed" || rec.RecordingState != "complete" {
		t.Errorf("call record %v: want status completed, recording_state complete", rec)
	}
	checkRecording(t, s.cr, rec, b, math.Max(2, b.Seconds()-3))
}

// sbcDialOut: the owner calls in through the SBC, types the number (RFC
// 4733 through rtpengine) and is bridged to the trunk through it; SIPp
// streams both tones.
func sbcDialOut(t *testing.T, s sbcSetup) {
	tn := makeTones(t)
	trunk := startSIPp(t, sippOpts{Name: "trunk", Port: s.trunkPort, Scenario: trunkScenario{Tone: tn.other}.render(t)})
	owner := startSIPp(t, sippOpts{Name: "owner", Remote: s.sbc.FarAddr(), Scenario: ownerDialsOut(t, tn, "2125550123", 5000).render(t)})
	owner.mustPass(callTimeout)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	inv := trunkINVITE(t, trunk)
	checkOutboundINVITE(t, inv, "+12125550123")
	s.checkAnchored(t, "the trunk's INVITE (callrec's offer)", inv.Body)
	s.checkAnchored(t, "the owner's 200 (callrec's answer)", firstOK(t, owner, "1").Body)
	rec := s.cr.oneCall()
	if rec.Direction != "outbound" || rec.Status != "completed" || rec.RecordingState != "complete" {
		t.Errorf("call record %v: want outbound, completed, recording complete", rec)
	}
	b := bridged(t, trunk)
	checkRecording(t, s.cr, rec, b, math.Max(2, b.Seconds()-3))
}

// TestSBC: a call in each direction through Kamailio and rtpengine. The
// SDP callrec sends out reaches the peers rewritten to rtpengine's
// address, the RTP the peers get comes from rtpengine, and the recording
// has each side's tone on its channel.
func TestSBC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(*testing.T, sbcSetup)
	}{{"call-in", sbcCallIn}, {"dial-out", sbcDialOut}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startBehindSBC(t, "replace-origin", "replace-origin", "")
			tc.run(t, s)
			s.checkSDPSeenByCallrec(t)
		})
	}
}

// TestSBCSRTP: rtpengine speaks SRTP (RTP/SAVP with SDES a=crypto) toward
// callrec and plain RTP toward the SIPp side, so callrec with media.srtp
// "required" meets another real media stack's SRTP: with "required" a
// call only completes if callrec's side negotiated SRTP; audio must get
// through decrypted both ways.
func TestSBCSRTP(t *testing.T) {
	t.Parallel()
	requireConfigKey(t, "media.srtp")
	for _, tc := range []struct {
		name string
		run  func(*testing.T, sbcSetup)
	}{{"call-in", sbcCallIn}, {"dial-out", sbcDialOut}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startBehindSBC(t, sbcSRTPTowardCallrec, sbcSRTPTowardFar, "media:\n  srtp: required\n")
			tc.run(t, s)
			s.checkSDPSeenByCallrec(t)
		})
	}
}

// checkSDPSeenByCallrec checks what callrec was given: it takes RTP only
// from the address the peer's SDP named (symmetric RTP), and every packet
// reaching it came from rtpengine, so a call whose recording carries both
// tones (checked before) with no packet dropped as foreign was given
// rtpengine's address. Its "media" log lines say so per leg.
func (s sbcSetup) checkSDPSeenByCallrec(t *testing.T) {
	t.Helper()
	if t.Failed() {
		return
	}
	var legs int
	for _, line := range strings.Split(s.cr.log.String(), "\n") {
		if !strings.Contains(line, "msg=media ") {
			continue
		}
		legs++
		if strings.Contains(line, " received=0 ") || !strings.Contains(line, " foreign_dropped=0 ") {
			t.Errorf("callrec's media on a leg behind the SBC: %s; want packets received from rtpengine and none dropped as foreign", line)
		}
	}
	if legs != 2 {
		t.Errorf("callrec logged media figures for %d legs, want 2", legs)
	}
}
