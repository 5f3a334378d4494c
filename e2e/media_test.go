package e2e

// Media: PCMU↔PCMA transcoding between the two legs, and RTP from
// addresses that are not the call's peers kept out of the recording.

import (
	"math"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

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
