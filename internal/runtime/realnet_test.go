package runtime

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// keepSending sends a packet to port every 20 ms until the test ends or
// stop is closed.
func keepSending(t *testing.T, p *peer, port func() int, stop <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if n := port(); n > 0 {
					p.sendTo(n)
				}
			}
		}
	}()
}

// offeredPort is the RTP port of the runtime's offer to the trunk (LEG-B's
// stream), 0 before it dialled.
func (r *rig) offeredPort() int {
	r.dialer.mu.Lock()
	defer r.dialer.mu.Unlock()
	if len(r.dialer.requests) == 0 {
		return 0
	}
	d, err := sdp.Parse(r.dialer.requests[0].SDP)
	if err != nil {
		return 0
	}
	return d.Port
}

// TestMediaTimeoutHangsUp: a bridged leg whose peer sends no RTP for
// media.timeout ends the call: both legs are hung up, the recording is
// finished, and the record says why.
func TestMediaTimeoutHangsUp(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRigIn(t, t.TempDir(), bridgeFlow(0), answeredBy(b), func(c *Config) { c.MediaTimeout = 400 * time.Millisecond })
	stop := make(chan struct{})
	defer close(stop)
	// The owner (LEG-B) keeps talking; the caller (LEG-A) goes silent.
	keepSending(t, pb, r.offeredPort, stop)
	wait(t, r.call(a), "the end of the call at media.timeout")
	if len(a.hangupCodes()) != 1 || len(b.hangupCodes()) != 1 {
		t.Errorf("hang-ups A %v B %v, want one each", a.hangupCodes(), b.hangupCodes())
	}
	c := r.only(t)
	if !strings.Contains(c.HangupCause, "no media from") || !strings.Contains(c.HangupCause, "media.timeout") {
		t.Errorf("hangup cause %q, want the media timeout named", c.HangupCause)
	}
	// LEG-B's peer kept talking: its figures are on the record, LEG-A's
	// (which sent nothing) are not.
	if len(c.Quality) != 1 || c.Quality[0].PacketsReceived == 0 {
		t.Errorf("quality %+v: want one leg with packets", c.Quality)
	}
	if c.RecordingState != store.RecordingComplete || c.Status != store.StatusCompleted {
		t.Errorf("call record %+v", c)
	}
}

// TestMediaTimeoutSparesHold: a leg whose peer put the call on hold
// (inactive, or sendonly: RFC 3264 §8.4's two ways, and a phone holding
// with sendonly often sends no music at all) sends nothing and is not
// timed out; the call lives until a hang-up.
func TestMediaTimeoutSparesHold(t *testing.T) {
	for _, dir := range []string{"inactive", "sendonly"} {
		t.Run(dir, func(t *testing.T) {
			pa, pb := newPeer(t), newPeer(t)
			a := newFakeLeg("leg-a", pa.sdp(1), false)
			b := newFakeLeg("leg-b", pb.sdp(1), true)
			r := newRigIn(t, t.TempDir(), bridgeFlow(0), answeredBy(b), func(c *Config) { c.MediaTimeout = 300 * time.Millisecond })
			stop := make(chan struct{})
			defer close(stop)
			stopA := make(chan struct{})
			keepSending(t, pb, r.offeredPort, stop)
			keepSending(t, pa, func() int { return a.localPort(nil) }, stopA)
			ended := r.call(a)
			r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
			if _, err := a.offer(pa.sdpDir(2, dir)); err != nil {
				t.Fatal(err)
			}
			close(stopA)
			// LEG-A's peer is on hold: its silence for three timeouts ends nothing.
			select {
			case <-ended:
				t.Fatalf("the call ended while on hold (%s): %+v", dir, r.only(t))
			case <-time.After(1200 * time.Millisecond):
			}
			a.end()
			wait(t, ended, "the end of the call")
			if c := r.only(t); strings.Contains(c.HangupCause, "media") {
				t.Errorf("hangup cause %q after a hold", c.HangupCause)
			}
		})
	}
}

// TestInfoDigitsReachTheFlow: digits a peer sends in SIP INFO are digits
// like any other, and reach the bridged leg as RFC 4733 events.
func TestInfoDigitsReachTheFlow(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	flow := newScript(func(ev callflow.Event) []callflow.Action {
		switch {
		case ev.InvocationEventType == callflow.NewInboundCall:
			return []callflow.Action{bridgeTo("+15550111", 0), {Type: callflow.ActionReceiveDigits, Parameters: callflow.Parameters{ParticipantTag: callflow.LegB, InputDigitsRegex: "[0-9*#]"}}}
		case ev.InvocationEventType == callflow.Hangup:
			return []callflow.Action{hangup(callflow.LegA)}
		}
		return nil
	})
	r := newRig(t, flow, answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionReceiveDigits)
	b.sendInfo('5')
	ev := r.flow.until(t, callflow.DigitsReceived, callflow.ActionReceiveDigits)
	if ev.ActionData.ReceivedDigits != "5" {
		t.Errorf("digits %q, want 5", ev.ActionData.ReceivedDigits)
	}
	// LEG-A negotiated telephone-event 101: the digit reaches it as events.
	var events int
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && events == 0 {
		p, err := pa.recv(500 * time.Millisecond)
		if err != nil {
			continue
		}
		if p.PayloadType == 101 {
			events++
		}
	}
	if events == 0 {
		t.Error("the INFO digit did not reach LEG-A as RFC 4733 events")
	}
	b.end()
	wait(t, ended, "the end of the call")
}

// g722SDP is an offer of G.722 (and PCMU) from p.
func g722SDP(p *peer) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 9 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", p.port()))
}

// TestWidebandRecording: two G.722 legs are recorded at 16 kHz, and our
// offer names G.722 first.
func TestWidebandRecording(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", g722SDP(pa), false)
	b := newFakeLeg("leg-b", g722SDP(pb), true)
	var offer []byte
	r := newRig(t, bridgeFlow(0), func(_ context.Context, req sip.DialRequest) (Leg, error) {
		offer = req.SDP
		return b, nil
	})
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
	d, err := sdp.Parse(offer)
	if err != nil || len(d.Codecs) == 0 || d.Codecs[0].Name != "G722" {
		t.Fatalf("our offer %q (%v): want G722 first", offer, err)
	}
	b.end()
	wait(t, ended, "the end of the call")
	c := r.only(t)
	path, ok := r.bs.LocalPath(c.RecordingKey)
	if !ok {
		t.Fatal("no local recording")
	}
	info, err := wav.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format.SampleRate != 16000 || info.Format.Channels != 2 {
		t.Errorf("recording %d Hz, %d channels; want 16000 stereo", info.Format.SampleRate, info.Format.Channels)
	}
}

// savpSDP is an RTP/SAVP offer from p with one crypto line.
func savpSDP(p *peer, c srtp.Crypto) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:%s\r\na=sendrecv\r\n", p.port(), c.String()))
}

// TestSRTPLegIsRecordedDecrypted: an SRTP caller is answered with RTP/SAVP
// and a key of ours; what it sends encrypted is recorded decrypted; a
// plain offer under media.srtp: required is refused with 488.
func TestSRTPLegIsRecordedDecrypted(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	theirs, err := srtp.NewCrypto(1, srtp.AESCM128SHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	a := newFakeLeg("leg-a", savpSDP(pa, theirs), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
	a.mu.Lock()
	answer := a.local
	a.mu.Unlock()
	d, err := sdp.Parse(answer)
	if err != nil || !d.Encrypted() || len(d.Crypto) != 1 {
		t.Fatalf("answer to an SRTP offer: %q (%v)", answer, err)
	}
	ours, err := srtp.ParseCrypto(d.Crypto[0])
	if err != nil || ours.Tag != 1 || ours.Suite != srtp.AESCM128SHA1_80 {
		t.Fatalf("our crypto line %q: %v", d.Crypto[0], err)
	}
	sess, err := srtp.NewSession(theirs, ours)
	if err != nil {
		t.Fatal(err)
	}
	// The caller sends a loud tone, encrypted, for a second.
	enc, _ := codec.NewEncoder(codec.PCMU)
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = 12000
		if i%20 < 10 {
			pcm[i] = -12000
		}
	}
	payload := enc.Encode(nil, pcm)
	for i := 0; i < 50; i++ {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 99}, Payload: payload}
		plain, _ := pkt.Marshal()
		sealed, err := sess.EncryptRTP(nil, plain)
		if err != nil {
			t.Fatal(err)
		}
		pa.conn.WriteToUDP(sealed, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: d.Port})
		time.Sleep(20 * time.Millisecond)
	}
	b.end()
	wait(t, ended, "the end of the call")
	c := r.only(t)
	if len(c.Quality) == 0 || !slices.ContainsFunc(c.Quality, func(q store.LegQuality) bool { return q.Encrypted && q.PacketsReceived >= 40 }) {
		t.Errorf("quality %+v: want the encrypted leg with its packets counted", c.Quality)
	}
	path, _ := r.bs.LocalPath(c.RecordingKey)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, samples, err := wav.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	var loud int
	for i := 1; i < len(samples); i += 2 { // channel 1: LEG-A, the other party
		if samples[i] > 8000 || samples[i] < -8000 {
			loud++
		}
	}
	if loud < 8000*6/10 {
		t.Errorf("%d loud samples on the caller's channel, want the decrypted tone (≥ %d)", loud, 8000*6/10)
	}

	// media.srtp: required refuses a plain offer.
	plain := newFakeLeg("leg-p", newPeer(t).sdp(1), false)
	rr := newRigIn(t, t.TempDir(), bridgeFlow(0), answeredBy(nil), func(c *Config) { c.SRTP = SRTPRequired })
	wait(t, rr.call(plain), "the refusal")
	if got := plain.hangupCodes(); !slices.Equal(got, []int{488}) {
		t.Errorf("a plain offer under srtp required got %v, want 488", got)
	}
}
