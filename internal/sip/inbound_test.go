package sip

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// answerSDP is the session description callrec answers with.
func answerSDP() []byte {
	return []byte("v=0\r\no=callrec 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n")
}

// establish calls the server from phone and answers the call, returning
// both ends once the dialog is confirmed.
func establish(t *testing.T, ts *testServer, phone *peer) (*call, *InboundLeg) {
	t.Helper()
	c := phone.invite(ts, "+4930999", testSDP())
	leg := ts.nextLeg(t)
	answered := answer(leg, answerSDP())
	if code, err := c.final(t); err != nil || code != 200 {
		t.Fatalf("INVITE answered %d (%v), want 200", code, err)
	}
	c.ack(t)
	if err := recv(t, answered, "Answer to return"); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	return c, leg
}

// TestInboundAnswer walks an inbound call through 180 (Ringing), 183 with
// early-media SDP (Progress) and 200 with the SDP answer (Answer, which
// returns once the caller's ACK is in), over UDP and TCP.
func TestInboundAnswer(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, transport, peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP())
			leg := ts.nextLeg(t)

			if err := leg.Ringing(); err != nil {
				t.Fatalf("Ringing: %v", err)
			}
			if res := c.provisionalCode(t); res.StatusCode != 180 {
				t.Fatalf("got %d, want 180", res.StatusCode)
			}
			if err := leg.Progress(answerSDP()); err != nil {
				t.Fatalf("Progress: %v", err)
			}
			res := c.provisionalCode(t)
			if res.StatusCode != 183 || string(res.Body()) != string(answerSDP()) {
				t.Fatalf("got %d with body %q, want 183 with the SDP", res.StatusCode, res.Body())
			}
			if ct := res.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("183 Content-Type = %v", ct)
			}
			if leg.Answered() {
				t.Fatal("Answered() before Answer")
			}

			answered := answer(leg, answerSDP())
			if code, err := c.final(t); err != nil || code != 200 {
				t.Fatalf("INVITE answered %d (%v), want 200", code, err)
			}
			ok := c.dlg.InviteResponse
			if string(ok.Body()) != string(answerSDP()) {
				t.Errorf("200 body %q, want the SDP answer", ok.Body())
			}
			if ct := ok.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("200 Content-Type = %v", ct)
			}
			if ct := ok.Contact(); ct == nil || ct.Address.HostPort() != ts.addr {
				t.Errorf("200 Contact = %v, want one at %s", ct, ts.addr)
			}
			select {
			case err := <-answered:
				t.Fatalf("Answer returned (%v) before the ACK", err)
			default:
			}
			c.ack(t)
			if err := recv(t, answered, "Answer to return"); err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if !leg.Answered() || leg.Cancelled() {
				t.Errorf("after answer: Answered %v Cancelled %v", leg.Answered(), leg.Cancelled())
			}
			if err := leg.Answer(answerSDP()); err != nil {
				t.Errorf("second Answer: %v", err)
			}
			if isClosed(leg.Done()) {
				t.Fatal("Done() closed on an established call")
			}
			if err := leg.Hangup(context.Background(), 0); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			recv(t, phone.byes, "BYE at the phone")
			closed(t, leg.Done(), "leg Done after Hangup")
		})
	}
}

// TestInboundHangupUnanswered: hanging up a call not yet answered sends
// the final error response with the code given (480 for none or a
// non-error code) and ends the leg.
func TestInboundHangupUnanswered(t *testing.T) {
	tests := []struct {
		code, want int
		reason     string
	}{
		{0, 480, "Temporarily Unavailable"},
		{200, 480, "Temporarily Unavailable"},
		{486, 486, "Busy Here"},
		{603, 603, "Decline"},
		{404, 404, "Not Found"},
		{499, 499, "Call Rejected"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP())
			leg := ts.nextLeg(t)
			if err := leg.Ringing(); err != nil {
				t.Fatalf("Ringing: %v", err)
			}
			if err := leg.Hangup(context.Background(), tc.code); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if code, err := c.final(t); err != nil || code != tc.want {
				t.Fatalf("final response %d (%v), want %d", code, err, tc.want)
			}
			if got := c.dlg.InviteResponse.Reason; got != tc.reason {
				t.Errorf("reason phrase %q, want %q", got, tc.reason)
			}
			closed(t, leg.Done(), "leg Done after rejecting")
			if leg.Answered() || leg.Cancelled() {
				t.Errorf("rejected leg: Answered %v Cancelled %v", leg.Answered(), leg.Cancelled())
			}
			if err := leg.Hangup(context.Background(), tc.code); err != nil {
				t.Errorf("second Hangup: %v", err)
			}
		})
	}
}

// TestInboundHangupAnswered: hanging up an answered call sends BYE with an
// RFC 3326 Reason carrying the code and its text (none for a non-error
// code), and ends the leg.
func TestInboundHangupAnswered(t *testing.T) {
	tests := []struct {
		code   int
		reason string // want; "" means no Reason header
	}{
		{0, ""},
		{200, ""},
		{480, `SIP;cause=480;text="Temporarily Unavailable"`},
		{487, `SIP;cause=487;text="Request Terminated"`},
		{503, `SIP;cause=503;text="Service Unavailable"`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c, leg := establish(t, ts, phone)
			if err := leg.Hangup(context.Background(), tc.code); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			bye := recv(t, phone.byes, "BYE at the phone")
			if got := bye.CallID().Value(); got != c.dlg.InviteRequest.CallID().Value() {
				t.Errorf("BYE Call-ID %q, want the call's", got)
			}
			h := bye.GetHeader("Reason")
			switch {
			case tc.reason == "" && h != nil:
				t.Errorf("unexpected Reason: %s", h.Value())
			case tc.reason != "" && (h == nil || h.Value() != tc.reason):
				t.Errorf("Reason = %v, want %s", h, tc.reason)
			}
			closed(t, leg.Done(), "leg Done after Hangup")
			if err := leg.Hangup(context.Background(), tc.code); err != nil {
				t.Errorf("second Hangup: %v", err)
			}
		})
	}
}

// TestInboundRemoteBye: the caller's BYE ends the leg, and its Reason is
// readable through Cause() as soon as Done() is closed (the runtime reads
// it then). Each case runs several calls, as the order that matters is
// decided by the scheduler.
func TestInboundRemoteBye(t *testing.T) {
	for _, reason := range []string{"", `Q.850;cause=16;text="Normal call clearing"`} {
		t.Run(fmt.Sprintf("reason %q", reason), func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			for range 10 {
				inboundRemoteBye(t, ts, phone, reason)
			}
		})
	}
}

func inboundRemoteBye(t *testing.T, ts *testServer, phone *peer, reason string) {
	t.Helper()
	c, leg := establish(t, ts, phone)
	var hdrs []sip.Header
	if reason != "" {
		hdrs = append(hdrs, sip.NewHeader("Reason", reason))
	}
	c.bye(t, hdrs...) // returns on the 200
	closed(t, leg.Done(), "leg Done after the remote BYE")
	if got := leg.Cause(); got != reason {
		t.Errorf("Cause() = %q, want %q", got, reason)
	}
	if err := leg.Hangup(context.Background(), 0); err != nil {
		t.Errorf("Hangup after remote BYE: %v", err)
	}
}

// TestInboundCancel: CANCEL before the answer ends the leg as cancelled
// and the caller gets 487, whether or not the call was ringing.
func TestInboundCancel(t *testing.T) {
	for _, ringing := range []bool{false, true} {
		t.Run(fmt.Sprintf("ringing=%v", ringing), func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP())
			leg := ts.nextLeg(t)
			if ringing {
				if err := leg.Ringing(); err != nil {
					t.Fatalf("Ringing: %v", err)
				}
				c.provisionalCode(t)
			} else {
				// CANCEL needs a provisional response first; the server's
				// 100 Trying is it.
				if res := recv(t, c.provisional, "100 Trying"); res.StatusCode != 100 {
					t.Fatalf("first provisional %d, want 100", res.StatusCode)
				}
			}
			if res := phone.cancel(c); res.StatusCode != 200 {
				t.Fatalf("CANCEL answered %d, want 200", res.StatusCode)
			}
			if code, err := c.final(t); err != nil || code != 487 {
				t.Fatalf("INVITE final %d (%v), want 487", code, err)
			}
			closed(t, leg.Done(), "leg Done after CANCEL")
			if !leg.Cancelled() {
				t.Error("Cancelled() false after CANCEL")
			}
			if leg.Answered() {
				t.Error("Answered() true after CANCEL")
			}
			// What the runtime does next must be harmless.
			if err := leg.Answer(answerSDP()); err == nil {
				t.Error("Answer after CANCEL succeeded")
			}
			if err := leg.Hangup(context.Background(), 0); err != nil {
				t.Errorf("Hangup after CANCEL: %v", err)
			}
		})
	}
}

// TestInboundCancelAfterAnswer: a CANCEL that arrives once the 200 is out
// (before or after the ACK) changes nothing: the call stays up and ends
// normally.
func TestInboundCancelAfterAnswer(t *testing.T) {
	for _, afterAck := range []bool{false, true} {
		t.Run(fmt.Sprintf("afterAck=%v", afterAck), func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP())
			leg := ts.nextLeg(t)
			answered := answer(leg, answerSDP())
			if code, err := c.final(t); err != nil || code != 200 {
				t.Fatalf("INVITE answered %d (%v)", code, err)
			}
			if afterAck {
				c.ack(t)
				if err := recv(t, answered, "Answer"); err != nil {
					t.Fatalf("Answer: %v", err)
				}
			}
			// The INVITE transaction is over (or accepted): either answer is
			// right, a 487 or a torn-down call is not.
			if res := phone.cancel(c); res.StatusCode != 200 && res.StatusCode != 481 {
				t.Fatalf("CANCEL answered %d", res.StatusCode)
			}
			if !afterAck {
				c.ack(t)
				if err := recv(t, answered, "Answer"); err != nil {
					t.Fatalf("Answer: %v", err)
				}
			}
			if isClosed(leg.Done()) || leg.Cancelled() {
				t.Fatalf("CANCEL after 200 ended the call: Done %v Cancelled %v", isClosed(leg.Done()), leg.Cancelled())
			}
			c.bye(t)
			closed(t, leg.Done(), "leg Done after BYE")
		})
	}
}

// TestInboundCancelRacesAnswer sends CANCEL and the 200 at the same time,
// repeatedly: whichever wins, both ends must agree and the leg must end.
func TestInboundCancelRacesAnswer(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	for i := range 20 {
		c := phone.invite(ts, "+4930999", testSDP())
		leg := ts.nextLeg(t)
		if err := leg.Ringing(); err != nil {
			t.Fatalf("Ringing: %v", err)
		}
		c.provisionalCode(t)
		cancelled := make(chan *sip.Response, 1)
		go func() { cancelled <- phone.cancel(c) }()
		answered := answer(leg, answerSDP())
		code, err := c.final(t)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		recv(t, cancelled, "CANCEL response")
		switch code {
		case 200:
			c.ack(t)
			if err := recv(t, answered, "Answer"); err != nil {
				t.Fatalf("round %d: caller got 200 but Answer failed: %v", i, err)
			}
			c.bye(t)
			closed(t, leg.Done(), "leg Done after BYE")
		case 487:
			if err := recv(t, answered, "Answer"); err == nil {
				t.Fatalf("round %d: caller got 487 but Answer succeeded", i)
			}
			closed(t, leg.Done(), "leg Done after CANCEL won")
			if !leg.Cancelled() || leg.Answered() {
				t.Fatalf("round %d: CANCEL won but Cancelled %v Answered %v", i, leg.Cancelled(), leg.Answered())
			}
		default:
			t.Fatalf("round %d: INVITE final %d", i, code)
		}
	}
}

// TestUnmatchedCancel: a CANCEL for no pending INVITE gets 481.
func TestUnmatchedCancel(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	if res := phone.do(phone.request(sip.CANCEL, ts.uri("+4930999"))); res.StatusCode != 481 {
		t.Fatalf("CANCEL answered %d, want 481", res.StatusCode)
	}
}

// TestInboundReoffer: re-INVITE and UPDATE in an inbound dialog are
// answered with what the reoffer function returns, and refused with 488
// when it fails or none is installed; an UPDATE without SDP is just
// acknowledged.
func TestInboundReoffer(t *testing.T) {
	offer := []byte("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n")
	tests := []struct {
		name     string
		method   sip.RequestMethod
		body     []byte
		reoffer  func([]byte) ([]byte, error) // nil: none installed
		wantCode int
		wantBody []byte
	}{
		{name: "re-INVITE", method: sip.INVITE, body: offer, reoffer: echoReoffer, wantCode: 200, wantBody: answerSDP()},
		{name: "UPDATE", method: sip.UPDATE, body: offer, reoffer: echoReoffer, wantCode: 200, wantBody: answerSDP()},
		{name: "re-INVITE refused", method: sip.INVITE, body: offer, reoffer: failReoffer, wantCode: 488},
		{name: "UPDATE refused", method: sip.UPDATE, body: offer, reoffer: failReoffer, wantCode: 488},
		{name: "re-INVITE without media session", method: sip.INVITE, body: offer, wantCode: 488},
		{name: "UPDATE without SDP", method: sip.UPDATE, reoffer: failReoffer, wantCode: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c, leg := establish(t, ts, phone)
			offers := make(chan []byte, 1)
			if tc.reoffer != nil {
				leg.SetReoffer(func(o []byte) ([]byte, error) {
					offers <- o
					return tc.reoffer(o)
				})
			}
			res := c.inDialog(t, tc.method, tc.body)
			checkReofferAnswer(t, res, tc.wantCode, tc.wantBody, ts.addr)
			if tc.reoffer != nil && tc.body != nil {
				if got := recv(t, offers, "the offer"); string(got) != string(tc.body) {
					t.Errorf("reoffer got %q, want the offer sent", got)
				}
			}
			if isClosed(leg.Done()) {
				t.Fatal("in-dialog request ended the call")
			}
			c.bye(t)
			closed(t, leg.Done(), "leg Done after BYE")
		})
	}
}

func echoReoffer([]byte) ([]byte, error) { return answerSDP(), nil }

func failReoffer([]byte) ([]byte, error) { return nil, errors.New("codec not supported") }

func checkReofferAnswer(t *testing.T, res *sip.Response, wantCode int, wantBody []byte, ourAddr string) {
	t.Helper()
	if res.StatusCode != wantCode {
		t.Fatalf("answered %d %s, want %d", res.StatusCode, res.Reason, wantCode)
	}
	if wantBody == nil {
		return
	}
	if string(res.Body()) != string(wantBody) {
		t.Errorf("body %q, want %q", res.Body(), wantBody)
	}
	if ct := res.ContentType(); ct == nil || ct.Value() != "application/sdp" {
		t.Errorf("Content-Type = %v", ct)
	}
	if ct := res.Contact(); ct == nil || ct.Address.HostPort() != ourAddr {
		t.Errorf("Contact = %v, want ours at %s", ct, ourAddr)
	}
}

// TestInDialogUnknown: requests for a dialog the server does not have are
// answered 481.
func TestInDialogUnknown(t *testing.T) {
	tests := []struct {
		name   string
		method sip.RequestMethod
		body   []byte
	}{
		{"re-INVITE", sip.INVITE, testSDP()},
		{"UPDATE with SDP", sip.UPDATE, testSDP()},
		{"UPDATE without SDP", sip.UPDATE, nil},
		{"BYE", sip.BYE, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			req := phone.outOfDialog(tc.method, ts.uri("callrec"))
			if tc.body != nil {
				req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				req.SetBody(tc.body)
			}
			if res := phone.do(req); res.StatusCode != 481 {
				t.Fatalf("answered %d %s, want 481", res.StatusCode, res.Reason)
			}
		})
	}
}

// TestDrainKeepsCalls: draining refuses new calls but leaves those in
// progress alone: their re-INVITEs are answered and they end normally.
func TestDrainKeepsCalls(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	c, leg := establish(t, ts, phone)
	leg.SetReoffer(echoReoffer)
	ts.Drain()

	req := phone.request(sip.INVITE, ts.uri("+4930999"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(testSDP())
	if res := phone.do(req); res.StatusCode != 503 {
		t.Fatalf("new INVITE while draining answered %d, want 503", res.StatusCode)
	}
	res := c.inDialog(t, sip.INVITE, testSDP())
	checkReofferAnswer(t, res, 200, answerSDP(), ts.addr)
	if err := leg.Hangup(context.Background(), 503); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	recv(t, phone.byes, "BYE at the phone")
	closed(t, leg.Done(), "leg Done")
}
