package runtime

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/wav"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// bridgeFlow bridges a stranger's call to the owner, records it (owner on
// LEG-B), and hangs up the other leg when one hangs up.
func bridgeFlow(maxSeconds int, then ...callflow.Action) *script {
	return newScript(func(ev callflow.Event) []callflow.Action {
		switch {
		case ev.InvocationEventType == callflow.NewInboundCall:
			return []callflow.Action{bridgeTo("+15550111", maxSeconds), record(callflow.LegB)}
		case ev.InvocationEventType == callflow.ActionSuccessful && ev.ActionData.Type == callflow.ActionStartCallRecording:
			return then
		case ev.InvocationEventType == callflow.Hangup:
			other := callflow.LegA
			if ev.ActionData.Parameters.ParticipantTag == callflow.LegA {
				other = callflow.LegB
			}
			return []callflow.Action{hangup(other)}
		}
		return nil
	})
}

func TestBridgeRecordAndHangUp(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)

	// The stranger's leg was answered when the owner answered, and the
	// trunk got our offer with every codec.
	if got := a.seen(); !slices.Equal(got, []string{"200"}) {
		t.Errorf("LEG-A saw %v, want a 200", got)
	}
	req := r.dialer.requests[0]
	if req.To != "+15550111" || req.CallerID != "+15550100" || !strings.Contains(string(req.SDP), "PCMU") || !strings.Contains(string(req.SDP), "PCMA") {
		t.Errorf("dial request %+v", req)
	}
	// Audio flows both ways through the bridge.
	portA := a.localPort(t)
	offer, _ := sdp.Parse(req.SDP)
	for range 25 {
		pa.send(t, portA)
		pb.send(t, offer.Port)
	}
	if _, err := pb.recv(waitFor); err != nil {
		t.Errorf("LEG-B got nothing from LEG-A: %v", err)
	}
	if _, err := pa.recv(waitFor); err != nil {
		t.Errorf("LEG-A got nothing from LEG-B: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // let the recorder take the audio

	a.end() // the stranger hangs up
	wait(t, ended, "the end of the call")
	if got := b.hangupCodes(); !slices.Equal(got, []int{0}) {
		t.Errorf("LEG-B hung up with %v, want once", got)
	}
	if got := a.hangupCodes(); len(got) != 0 {
		t.Errorf("LEG-A, which hung up itself, was hung up again: %v", got)
	}
	c := r.only(t)
	if c.Status != store.StatusCompleted || c.AnsweredAt == nil || c.RecordingState != store.RecordingComplete || c.HangupCause != "other party hung up" {
		t.Errorf("call record %+v", c)
	}
	select {
	case id := <-r.queued:
		if id != c.ID {
			t.Errorf("queued %s, want %s", id, c.ID)
		}
	default:
		t.Error("processing not queued")
	}
	path, _ := r.bs.LocalPath(c.RecordingKey)
	info, err := wav.Stat(path)
	if err != nil || info.Format.Channels != 2 || info.Duration <= 0 {
		t.Errorf("recording %+v, %v", info, err)
	}
	if c.RecordingDurationMS <= 0 {
		t.Errorf("recording duration %d ms", c.RecordingDurationMS)
	}
}

func TestPauseResumeStop(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	flow := bridgeFlow(0,
		act(callflow.ActionPauseCallRecording), pause(300),
		act(callflow.ActionResumeCallRecording), pause(300),
		act(callflow.ActionStopCallRecording))
	r := newRig(t, flow, answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStopCallRecording)
	// Stopped by the owner: stored before the call ends.
	c := r.only(t)
	if c.RecordingState != store.RecordingStopped || c.Status != store.StatusActive {
		t.Errorf("after stop: %+v", c)
	}
	if _, err := r.bs.Stat(context.Background(), c.RecordingKey); err != nil {
		t.Errorf("stopped recording not stored: %v", err)
	}
	b.end()
	wait(t, ended, "the end of the call")
	c = r.only(t)
	if c.Status != store.StatusCompleted || c.RecordingState != store.RecordingStopped || len(c.Pauses) != 1 || c.Pauses[0].End == nil {
		t.Errorf("call record %+v", c)
	}
	if d := c.Pauses[0].End.Sub(c.Pauses[0].Start); d < 250*time.Millisecond {
		t.Errorf("pause of %v, want the 300 ms the flow paused for", d)
	}
	select {
	case <-r.queued:
	default:
		t.Error("a stopped recording's processing was not queued")
	}
	// The flow heard LEG-B hang up, then that its own Hangup of LEG-A
	// went through.
	n := len(flow.events)
	if n < 2 || flow.events[n-2].InvocationEventType != callflow.Hangup || flow.events[n-1].ActionData.Type != callflow.ActionHangup {
		t.Errorf("last events %+v", flow.events[max(n-2, 0):])
	}
}

// TestHangupWhileDialling: the stranger hangs up while the owner's phone
// rings: the dial is cancelled and the flow hears HANGUP, not a failure.
func TestHangupWhileDialling(t *testing.T) {
	pa := newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	dialling := make(chan struct{})
	r := newRig(t, bridgeFlow(0), func(ctx context.Context, req sip.DialRequest) (Leg, error) {
		req.OnProgress(180, nil)
		close(dialling)
		<-ctx.Done()
		return nil, &sip.DialError{Code: 487, Reason: "Request Terminated", Cancelled: true}
	})
	ended := r.call(a)
	wait(t, dialling, "the dial")
	a.cancelled = false
	a.end()
	wait(t, ended, "the end of the call")
	var types []string
	for _, ev := range r.flow.events {
		types = append(types, string(ev.InvocationEventType))
	}
	if got := strings.Join(types, " "); got != "NEW_INBOUND_CALL HANGUP" {
		t.Errorf("flow events %q", got)
	}
	if got := a.seen(); !slices.Equal(got, []string{"180"}) {
		t.Errorf("LEG-A saw %v, want 180 ringing", got)
	}
	c := r.only(t)
	if c.Status != store.StatusUnanswered || c.AnsweredAt != nil || c.RecordingState != store.RecordingNone {
		t.Errorf("call record %+v", c)
	}
}

// TestHangupAsTheOwnerAnswers: the stranger hangs up just as the dial
// succeeds: the new leg is still hung up, once, and nothing leaks.
func TestHangupAsTheOwnerAnswers(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), func(ctx context.Context, _ sip.DialRequest) (Leg, error) {
		a.end() // gone while the answer is on its way
		time.Sleep(50 * time.Millisecond)
		return b, nil
	})
	ended := r.call(a)
	wait(t, ended, "the end of the call")
	if got := b.hangupCodes(); len(got) != 1 {
		t.Errorf("LEG-B hung up %d times, want once", len(got))
	}
	if r.e.Active() != 0 {
		t.Errorf("%d calls active after the end", r.e.Active())
	}
}

func TestDialFailureReachesTheFlow(t *testing.T) {
	pa := newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	var failed *callflow.ActionData
	flow := newScript(func(ev callflow.Event) []callflow.Action {
		switch ev.InvocationEventType {
		case callflow.NewInboundCall:
			return []callflow.Action{bridgeTo("+15550111", 0), record(callflow.LegB)}
		case callflow.ActionFailed:
			failed = ev.ActionData
			return []callflow.Action{{Type: callflow.ActionHangup, Parameters: callflow.Parameters{ParticipantTag: callflow.LegA, SipResponseCode: "486"}}}
		}
		return nil
	})
	r := newRig(t, flow, func(context.Context, sip.DialRequest) (Leg, error) {
		return nil, &sip.DialError{Code: 486, Reason: "Busy Here"}
	})
	wait(t, r.call(a), "the end of the call")
	if failed == nil || failed.ErrorType != callflow.ErrCallDestinationBusy || failed.SipResponseCode != 486 || failed.Type != callflow.ActionCallAndBridge {
		t.Errorf("ACTION_FAILED data %+v", failed)
	}
	if got := a.hangupCodes(); !slices.Equal(got, []int{486}) {
		t.Errorf("LEG-A hung up with %v, want 486", got)
	}
	if c := r.only(t); c.SIPStatus != 486 || c.Status != store.StatusUnanswered {
		t.Errorf("call record %+v", c)
	}
}

func TestReinvite(t *testing.T) {
	pa, pb, moved := newPeer(t), newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)

	// LEG-A moves its media to another port.
	answer, err := a.offer(moved.sdp(2))
	if err != nil {
		t.Fatalf("re-INVITE refused: %v", err)
	}
	d, err := sdp.Parse(answer)
	if err != nil || d.Port != a.localPort(t) || len(d.Codecs) != 1 || d.Codecs[0].Name != "PCMU" {
		t.Errorf("re-INVITE answer %+v, %v", d, err)
	}
	// Audio from LEG-B now goes to the new port.
	offer, _ := sdp.Parse(r.dialer.requests[0].SDP)
	for range 10 {
		pb.send(t, offer.Port)
	}
	if _, err := moved.recv(waitFor); err != nil {
		t.Errorf("nothing reached the new port: %v", err)
	}
	// Hold and unhold: the answer's direction follows RFC 3264 §6.1.
	for i, tt := range []struct{ offer, answer string }{
		{"sendonly", "recvonly"}, {"inactive", "inactive"}, {"recvonly", "sendonly"}, {"sendrecv", "sendrecv"},
	} {
		answer, err := a.offer(moved.sdpDir(10+i, tt.offer))
		if err != nil {
			t.Fatalf("%s re-INVITE: %v", tt.offer, err)
		}
		if d, err := sdp.Parse(answer); err != nil || d.Direction != tt.answer {
			t.Errorf("answer to %s: %+v, %v; want %s", tt.offer, d, err, tt.answer)
		}
	}
	// An offer without a common codec is refused; the call goes on.
	if _, err := a.offer([]byte("v=0\r\nnot sdp")); err == nil {
		t.Error("a bad re-INVITE offer was accepted")
	}
	// LEG-B (we offered) re-offers too.
	if _, err := b.offer(pb.sdp(2)); err != nil {
		t.Errorf("LEG-B re-INVITE: %v", err)
	}
	b.end()
	wait(t, ended, "the end of the call")
	if _, err := a.offer(moved.sdp(3)); !errors.Is(err, errCallOver) {
		t.Errorf("re-INVITE after the call: %v, want errCallOver", err)
	}
}

func TestMaxCallDuration(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(1), answeredBy(b))
	wait(t, r.call(a), "the end of the call at max_call_seconds")
	if len(a.hangupCodes()) != 1 || len(b.hangupCodes()) != 1 {
		t.Errorf("hang-ups A %v B %v, want one each", a.hangupCodes(), b.hangupCodes())
	}
	for _, ev := range r.flow.events {
		if ev.InvocationEventType == callflow.Hangup {
			t.Error("the flow heard a HANGUP for a hang-up of ours")
		}
	}
	if c := r.only(t); c.HangupCause != "max_call_seconds reached" || c.Status != store.StatusCompleted || c.RecordingState != store.RecordingComplete {
		t.Errorf("call record %+v", c)
	}
}

func TestShutdownHangsUpCalls(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace
	r.e.Shutdown(ctx)
	wait(t, ended, "the end of the call")
	if c := r.only(t); c.HangupCause != "callrec shut down" || c.RecordingState != store.RecordingComplete || c.EndedAt == nil {
		t.Errorf("call record %+v", c)
	}
	if len(a.hangupCodes()) != 1 || len(b.hangupCodes()) != 1 {
		t.Errorf("hang-ups A %v B %v, want one each", a.hangupCodes(), b.hangupCodes())
	}
}

func TestBadOfferIsRefused(t *testing.T) {
	a := newFakeLeg("leg-a", []byte("this is not SDP"), false)
	r := newRig(t, newScript(func(callflow.Event) []callflow.Action { return nil }), answeredBy(nil))
	wait(t, r.call(a), "the end of the call")
	if got := a.hangupCodes(); !slices.Equal(got, []int{488}) {
		t.Errorf("LEG-A answered %v, want 488", got)
	}
	if len(r.flow.events) != 0 {
		t.Errorf("the flow heard of a refused call: %v", r.flow.events)
	}
	// Refused before it began: no call record, and the slot is free.
	list, err := r.st.ListCalls(context.Background(), store.ListOptions{})
	if err != nil || len(list) != 0 {
		t.Errorf("call records %v, %v; want none", list, err)
	}
	if r.e.Active() != 0 {
		t.Errorf("%d slots taken after the refusal", r.e.Active())
	}
}

// TestEarlyMediaThenBridge: prompts as early media (183, once), then the
// 200 when the owner answers.
func TestEarlyMediaThenBridge(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	prompt := func() callflow.Action {
		return callflow.Action{Type: callflow.ActionPlayAudio, Parameters: callflow.Parameters{
			ParticipantTag: callflow.LegA, EarlyMedia: true, AudioSource: &callflow.AudioSource{Type: "S3", Key: callflow.PromptConnecting}}}
	}
	flow := newScript(func(ev callflow.Event) []callflow.Action {
		switch ev.InvocationEventType {
		case callflow.NewInboundCall:
			return []callflow.Action{prompt(), prompt(), bridgeTo("+15550111", 0)}
		case callflow.ActionSuccessful:
			return []callflow.Action{hangup(callflow.LegB), hangup(callflow.LegA)}
		}
		return nil
	})
	r := newRig(t, flow, func(_ context.Context, req sip.DialRequest) (Leg, error) {
		req.OnProgress(180, nil) // no ringback over the prompts
		return b, nil
	})
	go func() {
		for range 200 {
			if _, err := pa.recv(waitFor); err != nil {
				return
			}
		}
	}()
	wait(t, r.call(a), "the end of the call")
	if got := a.seen(); !slices.Equal(got, []string{"183", "200", "hangup 0"}) {
		t.Errorf("LEG-A saw %v", got)
	}
}

func TestCallerOf(t *testing.T) {
	long := strings.Repeat("9", 3000)
	for _, tt := range []struct {
		from, name          string
		number, raw, wantNm string
	}{
		{"+14155550199", "Jane Doe", "+14155550199", "", "Jane Doe"},
		{"4155550199", "", "4155550199", "", ""},
		{"anonymous", "\"Anonymous\"", "", "anonymous", "\"Anonymous\""},
		{"+15550199\u202e1234", "Eve\u202e", "", "+15550199\u202e1234", "Eve"},
		{"'; DROP TABLE calls; --", "x\x00y", "", "'; DROP TABLE calls; --", "x y"},
		{"%2B1555", "", "", "%2B1555", ""},
		{long, strings.Repeat("n", 100), "", long[:maxRawCaller] + "…", strings.Repeat("n", 64) + "…"},
	} {
		c := callerOf(tt.from, tt.name)
		if c.number != tt.number || c.raw != tt.raw || c.name != tt.wantNm {
			t.Errorf("callerOf(%q, %q) = %+v, want number %q raw %q name %q", tt.from, tt.name, c, tt.number, tt.raw, tt.wantNm)
		}
	}
}

// TestCallerIDNotANumber: a caller ID that is not a number leaves the
// party unknown, the raw value and the cleaned name on the record.
func TestCallerIDNotANumber(t *testing.T) {
	pa, pb := newPeer(t), newPeer(t)
	a := newFakeLeg("leg-a", pa.sdp(1), false)
	a.from, a.name = "+15550199\u202e1234", "Mallory\u202e"
	b := newFakeLeg("leg-b", pb.sdp(1), true)
	r := newRig(t, bridgeFlow(0), answeredBy(b))
	ended := r.call(a)
	r.flow.until(t, callflow.ActionSuccessful, callflow.ActionStartCallRecording)
	b.end()
	wait(t, ended, "the end of the call")
	if c := r.only(t); c.Party != "" || c.PartyRaw != a.from || c.PartyName != "Mallory" {
		t.Errorf("call record party %q raw %q name %q", c.Party, c.PartyRaw, c.PartyName)
	}
}
