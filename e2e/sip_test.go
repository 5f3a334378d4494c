package e2e

// SIP behaviour: who may call (trunk.allowed_sources, codecs,
// max_concurrent_calls), surviving malformed SIP, answering OPTIONS, and
// re-INVITEs in a call.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSourceNotAllowed: an INVITE from 127.0.0.2, outside
// trunk.allowed_sources, calls no one and makes no call record, whether it
// claims to come from a stranger or from the owner. By default
// (sip.reject_untrusted "drop") it gets no response at all, not even a
// retransmission window's worth; with sip.reject_untrusted "403" SIPp gets
// its 403.
func TestSourceNotAllowed(t *testing.T) {
	t.Parallel()
	t.Run("drop", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{})
		sink := newSIPSink(t, cr.TrunkPort())
		u := udpFrom(t, "127.0.0.2")
		for i, from := range []string{strangerNum, ownerNumber} {
			invite := strings.ReplaceAll(rawSIP("INVITE", u.LocalAddr().String(), cr.SIPAddr(), i), "sip:"+strangerNum+"@", "sip:"+from+"@")
			sendTo(t, u, cr.SIPAddr(), invite)
		}
		if got := collect(u, quietWindow); len(got) > 0 {
			t.Errorf("INVITEs from 127.0.0.2 got %d responses, want none; first: %q", len(got), firstLine(got[0]))
		}
		sink.nothing(t)
		if recs, err := cr.calls(); err != nil || len(recs) != 0 {
			t.Errorf("call records: %v (%v), want none", recs, err)
		}
	})
	t.Run("403", func(t *testing.T) {
		t.Parallel()
		cr := startCallrec(t, config{}, "CALLREC_SIP_REJECT_UNTRUSTED=403")
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
		if recs, err := cr.calls(); err != nil || len(recs) != 0 {
			t.Errorf("call records: %v (%v), want none", recs, err)
		}
	})
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
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", ownerDialsOut(t, tn, "2125550123", 3000), sippOpts{})
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

// TestOptionsPing: an OPTIONS (a trunk's keep-alive) gets 200 with an
// Allow header listing INVITE, over UDP and TCP.
func TestOptionsPing(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "options-udp", true: "options-tcp"}[tcp]
		s := startSIPp(t, sippOpts{Name: name, Remote: cr.SIPAddr(), TCP: tcp, Scenario: optionsScenario(t)})
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
