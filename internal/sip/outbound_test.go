package sip

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// trunkSDP is the trunk's answer to a dialled call.
func trunkSDP() []byte {
	return []byte("v=0\r\no=trunk 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\n")
}

// earlySDP is the trunk's early media (183).
func earlySDP() []byte {
	return []byte("v=0\r\no=trunk 7 6 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42002 RTP/AVP 0\r\n")
}

// withTrunk points the server at trunk for Dial and Register.
func withTrunk(trunk *peer) serverOpts {
	return func(c *Config) {
		c.TrunkAddress = trunk.addr
		c.TrunkTransport = map[string]string{"UDP": "udp", "TCP": "tcp"}[trunk.transport]
	}
}

func withCredentials(user, pass string) serverOpts {
	return func(c *Config) { c.Username, c.Password = user, pass }
}

// trunkAnswers is a trunk that answers at once with 200 and its SDP, and
// waits for the ACK.
func trunkAnswers(p *peer, req *sip.Request, tx sip.ServerTransaction) {
	trunkAnswersAfter(nil)(p, req, tx)
}

// trunkAnswersAfter is a trunk that sends 183 with early media and 180
// before its 200, each once the previous one was reported on seen (sipgo
// hands each response to its transaction on a goroutine of its own, so
// responses sent back to back may be taken out of order). With seen nil
// it answers at once.
func trunkAnswersAfter(seen <-chan int) func(*peer, *sip.Request, sip.ServerTransaction) {
	return func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
		dlg, err := p.uas.ReadInvite(req, tx)
		if err != nil {
			p.t.Errorf("trunk ReadInvite: %v", err)
			return
		}
		if seen != nil {
			_ = dlg.Respond(183, "Session Progress", earlySDP(), sip.NewHeader("Content-Type", "application/sdp"))
			<-seen
			_ = dlg.Respond(180, "Ringing", nil)
			<-seen
		}
		trunkAnswer(p, dlg)
	}
}

// trunkAnswer sends the trunk's 200 and waits for the ACK.
func trunkAnswer(p *peer, dlg *sipgo.DialogServerSession) {
	if err := dlg.RespondSDP(trunkSDP()); err != nil {
		p.t.Errorf("trunk 200: %v", err)
		return
	}
	p.dialogs <- dlg
}

// trunkRejects answers every INVITE with code.
func trunkRejects(code int, reason string) func(*peer, *sip.Request, sip.ServerTransaction) {
	return func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	}
}

// trunkRings sends 180 and rings until the INVITE is cancelled (sipgo
// answers the CANCEL and the INVITE's 487).
func trunkRings(p *peer, req *sip.Request, tx sip.ServerTransaction) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
	select {
	case <-tx.Done():
	case <-time.After(waitFor):
	}
}

// trunkChallenges asks for digest credentials (401, or 407 when proxy)
// and answers an INVITE that carries the right ones; wrong ones get 403.
func trunkChallenges(proxy bool) func(*peer, *sip.Request, sip.ServerTransaction) {
	return func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
		name := map[bool]string{false: "Authorization", true: "Proxy-Authorization"}[proxy]
		if req.GetHeader(name) == nil {
			challenge(req, tx, proxy)
			return
		}
		if msg := checkDigest(req, proxy); msg != "" {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		trunkAnswers(p, req, tx)
	}
}

// established waits until the trunk has the ACK for the call, and returns
// the trunk's side of the dialog; before that, a BYE could overtake the
// ACK.
func (p *peer) established(t *testing.T) *sipgo.DialogServerSession {
	t.Helper()
	recv(t, p.acks, "ACK at the trunk")
	return recv(t, p.dialogs, "trunk dialog")
}

type progress struct {
	code int
	sdp  string
}

// dial places a call through ts to +4930555 from +4930444.
func dial(ctx context.Context, ts *testServer, timeout time.Duration, onProgress func(int, []byte)) (*OutboundLeg, error) {
	return ts.Dial(ctx, DialRequest{To: "+4930555", CallerID: "+4930444", SDP: testSDP(), Timeout: timeout, OnProgress: onProgress})
}

// TestDialAnswered places a call that the trunk answers and checks the
// INVITE the trunk saw (numbers, user=phone, caller ID, offer), the
// provisional responses reported, the ACK, the leg, and hanging it up
// with a Reason.
func TestDialAnswered(t *testing.T) {
	tests := []struct {
		transport, domain string
	}{
		{"udp", ""},
		{"udp", "trunk.test"},
		{"tcp", ""},
	}
	for _, tc := range tests {
		t.Run(tc.transport+"/"+tc.domain, func(t *testing.T) {
			step := make(chan int, 2)
			trunk := newPeer(t, tc.transport, peerHandlers{invite: trunkAnswersAfter(step)})
			ts := startServer(t, withTrunk(trunk), func(c *Config) { c.TrunkDomain = tc.domain })
			var seen []progress
			leg, err := dial(context.Background(), ts, 0, func(code int, sdp []byte) {
				seen = append(seen, progress{code, string(sdp)})
				step <- code
			})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			inv := recv(t, trunk.invites, "INVITE at the trunk")
			wantHost := tc.domain
			if wantHost == "" {
				wantHost = "127.0.0.1"
			}
			ru := inv.Recipient
			if ru.User != "+4930555" || ru.Host != wantHost {
				t.Errorf("Request-URI %s, want +4930555@%s", ru.String(), wantHost)
			}
			if v, _ := ru.UriParams.Get("user"); v != "phone" {
				t.Errorf("Request-URI %s lacks user=phone", ru.String())
			}
			if to := inv.To(); to.Address.User != "+4930555" || to.Address.Host != wantHost {
				t.Errorf("To %s", to.Value())
			}
			if from := inv.From(); from.Address.User != "+4930444" || from.Address.Host != wantHost {
				t.Errorf("From %s", from.Value())
			}
			if pai := inv.GetHeader("P-Asserted-Identity"); pai == nil || pai.Value() != "<sip:+4930444@"+wantHost+">" {
				t.Errorf("P-Asserted-Identity %v", pai)
			}
			if ct := inv.Contact(); ct == nil || ct.Address.HostPort() != ts.addr {
				t.Errorf("Contact %v, want ours at %s", ct, ts.addr)
			}
			if string(inv.Body()) != string(testSDP()) {
				t.Errorf("INVITE body %q, want the offer", inv.Body())
			}
			if ct := inv.ContentType(); ct == nil || ct.Value() != "application/sdp" {
				t.Errorf("INVITE Content-Type %v", ct)
			}
			want := []progress{{183, string(earlySDP())}, {180, ""}}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("OnProgress saw %v, want %v", seen, want)
			}
			dlg := trunk.established(t)

			if string(leg.RemoteSDP()) != string(trunkSDP()) {
				t.Errorf("RemoteSDP %q, want the trunk's", leg.RemoteSDP())
			}
			if leg.Source() == "" {
				t.Error("Source() empty")
			}
			if leg.CallID() != inv.CallID().Value() {
				t.Errorf("CallID %q, want %q", leg.CallID(), inv.CallID().Value())
			}
			if !leg.Answered() || leg.Cancelled() {
				t.Errorf("Answered %v Cancelled %v", leg.Answered(), leg.Cancelled())
			}
			// The answering methods are no-ops on an outbound leg.
			if leg.Ringing() != nil || leg.Progress(nil) != nil || leg.Answer(nil) != nil {
				t.Error("answering methods of an outbound leg returned errors")
			}

			if err := leg.Hangup(context.Background(), 486); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			bye := recv(t, trunk.byes, "BYE at the trunk")
			if h := bye.GetHeader("Reason"); h == nil || h.Value() != `SIP;cause=486;text="Busy Here"` {
				t.Errorf("BYE Reason %v", h)
			}
			closed(t, leg.Done(), "leg Done after Hangup")
			closed(t, dlg.Context().Done(), "trunk dialog ended")
			if err := leg.Hangup(context.Background(), 486); err != nil {
				t.Errorf("second Hangup: %v", err)
			}
		})
	}
}

// TestTCPRequestsReachTheirPeer: with an inbound call up over TCP, an
// outbound call to a TCP trunk goes to the trunk (not down the phone's
// connection), and each leg's BYE reaches its own peer.
func TestTCPRequestsReachTheirPeer(t *testing.T) {
	trunk := newPeer(t, "tcp", peerHandlers{invite: trunkAnswers})
	ts := startServer(t, withTrunk(trunk))
	phone := newPeer(t, "tcp", peerHandlers{})
	_, in := establish(t, ts, phone)

	out, err := dial(context.Background(), ts, 0, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	trunk.established(t)
	if err := out.Hangup(context.Background(), 0); err != nil {
		t.Fatalf("outbound Hangup: %v", err)
	}
	recv(t, trunk.byes, "BYE at the trunk")
	if err := in.Hangup(context.Background(), 0); err != nil {
		t.Fatalf("inbound Hangup: %v", err)
	}
	recv(t, phone.byes, "BYE at the phone")
	if n := len(trunk.byes) + len(phone.byes); n != 0 {
		t.Errorf("%d stray BYEs", n)
	}
}

// TestDialHangupWithoutReason: a non-error code hangs up without Reason.
func TestDialHangupWithoutReason(t *testing.T) {
	trunk := newPeer(t, "udp", peerHandlers{invite: trunkAnswers})
	ts := startServer(t, withTrunk(trunk))
	leg, err := dial(context.Background(), ts, 0, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	trunk.established(t)
	if err := leg.Hangup(context.Background(), 0); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if h := recv(t, trunk.byes, "BYE").GetHeader("Reason"); h != nil {
		t.Errorf("unexpected Reason %s", h.Value())
	}
	closed(t, leg.Done(), "leg Done")
}

// TestDialRejected: a final error response from the trunk is returned as
// a DialError with its code and reason.
func TestDialRejected(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
	}{{486, "Busy Here"}, {404, "Not Found"}, {603, "Decline"}, {503, "Service Unavailable"}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			trunk := newPeer(t, "udp", peerHandlers{invite: trunkRejects(tc.code, tc.reason)})
			ts := startServer(t, withTrunk(trunk))
			leg, err := dial(context.Background(), ts, 0, nil)
			de := dialError(t, leg, err)
			if de.Code != tc.code || de.Reason != tc.reason || de.Timeout || de.Cancelled {
				t.Fatalf("DialError %+v, want code %d %q", de, tc.code, tc.reason)
			}
		})
	}
}

func dialError(t *testing.T, leg *OutboundLeg, err error) *DialError {
	t.Helper()
	if err == nil {
		_ = leg.Hangup(context.Background(), 0)
		t.Fatal("Dial succeeded")
	}
	var de *DialError
	if !errors.As(err, &de) {
		t.Fatalf("Dial error %T %v, want *DialError", err, err)
	}
	if de.Error() == "" {
		t.Error("empty DialError text")
	}
	return de
}

// TestDialDigest: a 401 or 407 challenge is answered with the configured
// credentials and the call goes through; a trunk that refuses them, or no
// password to answer with, ends the dial with the trunk's code.
func TestDialDigest(t *testing.T) {
	tests := []struct {
		name     string
		proxy    bool
		user     string
		pass     string
		wantCode int // 0: answered
		invites  int
	}{
		{name: "401", user: testUser, pass: testPass, invites: 2},
		{name: "407", proxy: true, user: testUser, pass: testPass, invites: 2},
		{name: "wrong password", user: testUser, pass: "nope", wantCode: 403, invites: 2},
		{name: "no password", wantCode: 401, invites: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trunk := newPeer(t, "udp", peerHandlers{invite: trunkChallenges(tc.proxy)})
			ts := startServer(t, withTrunk(trunk), withCredentials(tc.user, tc.pass))
			leg, err := dial(context.Background(), ts, 0, nil)
			first := recv(t, trunk.invites, "first INVITE")
			var second *sip.Request
			if tc.invites > 1 {
				second = recv(t, trunk.invites, "authenticated INVITE")
			}
			if tc.wantCode != 0 {
				if de := dialError(t, leg, err); de.Code != tc.wantCode {
					t.Fatalf("DialError %+v, want code %d", de, tc.wantCode)
				}
			} else {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				if msg := checkDigest(second, tc.proxy); msg != "" {
					t.Errorf("authenticated INVITE: %s", msg)
				}
				if string(leg.RemoteSDP()) != string(trunkSDP()) {
					t.Errorf("RemoteSDP %q", leg.RemoteSDP())
				}
				trunk.established(t)
				defer leg.Hangup(context.Background(), 0)
			}
			if second != nil {
				if second.CallID().Value() != first.CallID().Value() || second.From().Value() != first.From().Value() {
					t.Error("authenticated INVITE is not the same call (Call-ID / From tag)")
				}
				if second.CSeq().SeqNo <= first.CSeq().SeqNo {
					t.Errorf("authenticated INVITE CSeq %d, first %d", second.CSeq().SeqNo, first.CSeq().SeqNo)
				}
			}
			if n := len(trunk.invites); n != 0 {
				t.Errorf("%d more INVITEs than expected", n)
			}
		})
	}
}

// TestDialRingTimeout: nobody answers within the ring timeout: CANCEL is
// sent and the dial fails with 408, Timeout set.
func TestDialRingTimeout(t *testing.T) {
	trunk := newPeer(t, "udp", peerHandlers{invite: trunkRings})
	ts := startServer(t, withTrunk(trunk))
	leg, err := dial(context.Background(), ts, 200*time.Millisecond, nil)
	de := dialError(t, leg, err)
	if de.Code != 408 || !de.Timeout || de.Cancelled {
		t.Fatalf("DialError %+v, want 408 with Timeout", de)
	}
	c := recv(t, trunk.cancels, "CANCEL at the trunk")
	inv := recv(t, trunk.invites, "INVITE")
	if c.CallID().Value() != inv.CallID().Value() {
		t.Error("CANCEL for another call")
	}
}

// TestDialAbandoned: the caller goes away (ctx cancelled) while the far
// end rings: CANCEL is sent and the dial fails with 487, Cancelled set.
func TestDialAbandoned(t *testing.T) {
	trunk := newPeer(t, "udp", peerHandlers{invite: trunkRings})
	ts := startServer(t, withTrunk(trunk))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leg, err := dial(ctx, ts, time.Minute, func(code int, _ []byte) {
		if code == 180 {
			cancel()
		}
	})
	de := dialError(t, leg, err)
	if de.Code != 487 || !de.Cancelled || de.Timeout {
		t.Fatalf("DialError %+v, want 487 with Cancelled", de)
	}
	recv(t, trunk.cancels, "CANCEL at the trunk")
}

// TestDialInvalid: numbers that are not E.164 and a bad trunk address are
// refused without sending anything (the trunk would answer 500).
func TestDialInvalid(t *testing.T) {
	tests := []struct {
		name, to, from string
		trunkAddr      string
		wantCode       int
	}{
		{name: "empty number", to: "", from: "+4930444", wantCode: 484},
		{name: "plus only", to: "+", from: "+4930444", wantCode: 484},
		{name: "no plus", to: "4930555", from: "+4930444", wantCode: 484},
		{name: "space", to: "+49 30555", from: "+4930444", wantCode: 484},
		{name: "letters", to: "+4930abc", from: "+4930444", wantCode: 484},
		{name: "too long", to: "+1234567890123456", from: "+4930444", wantCode: 484},
		{name: "bad caller ID", to: "+4930555", from: "anonymous", wantCode: 484},
		{name: "bad trunk address", to: "+4930555", from: "+4930444", trunkAddr: "nowhere", wantCode: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trunk := newPeer(t, "udp", peerHandlers{invite: trunkRejects(500, "Server Internal Error")})
			opts := []serverOpts{withTrunk(trunk)}
			if tc.trunkAddr != "" {
				opts = append(opts, func(c *Config) { c.TrunkAddress = tc.trunkAddr })
			}
			ts := startServer(t, opts...)
			leg, err := ts.Dial(context.Background(), DialRequest{To: tc.to, CallerID: tc.from, SDP: testSDP()})
			if de := dialError(t, leg, err); de.Code != tc.wantCode {
				t.Fatalf("DialError %+v, want %d", de, tc.wantCode)
			}
			if n := len(trunk.invites); n != 0 {
				t.Errorf("trunk got %d INVITEs", n)
			}
		})
	}
}

// TestDialValidNumbers: the shortest and longest E.164 numbers pass.
func TestDialValidNumbers(t *testing.T) {
	for _, n := range []string{"+1", "+123456789012345"} {
		if !validNumber(n) {
			t.Errorf("validNumber(%q) = false", n)
		}
	}
}

// TestOutboundRemoteBye: the far end's BYE ends the leg, with its Reason
// in Cause() as soon as Done() is closed (the runtime reads it then). Each
// case runs several calls, as the order that matters is decided by the
// scheduler.
func TestOutboundRemoteBye(t *testing.T) {
	for _, reason := range []string{"", `Q.850;cause=16;text="Normal call clearing"`} {
		t.Run(fmt.Sprintf("reason %q", reason), func(t *testing.T) {
			trunk := newPeer(t, "udp", peerHandlers{invite: trunkAnswers})
			ts := startServer(t, withTrunk(trunk))
			for range 10 {
				outboundRemoteBye(t, ts, trunk, reason)
			}
		})
	}
}

func outboundRemoteBye(t *testing.T, ts *testServer, trunk *peer, reason string) {
	t.Helper()
	leg, err := dial(context.Background(), ts, 0, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	dlg := trunk.established(t)
	bye := sip.NewRequest(sip.BYE, dlg.InviteRequest.Contact().Address)
	if reason != "" {
		bye.AppendHeader(sip.NewHeader("Reason", reason))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := dlg.WriteBye(ctx, bye); err != nil {
		t.Fatalf("trunk BYE: %v", err)
	}
	closed(t, leg.Done(), "leg Done after the remote BYE")
	if got := leg.Cause(); got != reason {
		t.Errorf("Cause() = %q, want %q", got, reason)
	}
	if err := leg.Hangup(context.Background(), 0); err != nil {
		t.Errorf("Hangup after remote BYE: %v", err)
	}
}

// TestOutboundReoffer: re-INVITE and UPDATE from the far end of an
// outbound call are answered like those in inbound dialogs.
func TestOutboundReoffer(t *testing.T) {
	offer := []byte("v=0\r\no=trunk 7 8 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42004 RTP/AVP 0\r\n")
	tests := []struct {
		name     string
		method   sip.RequestMethod
		body     []byte
		reoffer  func([]byte) ([]byte, error)
		wantCode int
		wantBody []byte
	}{
		{name: "re-INVITE", method: sip.INVITE, body: offer, reoffer: echoReoffer, wantCode: 200, wantBody: answerSDP()},
		{name: "UPDATE", method: sip.UPDATE, body: offer, reoffer: echoReoffer, wantCode: 200, wantBody: answerSDP()},
		{name: "re-INVITE refused", method: sip.INVITE, body: offer, reoffer: failReoffer, wantCode: 488},
		{name: "UPDATE without media session", method: sip.UPDATE, body: offer, wantCode: 488},
		{name: "UPDATE without SDP", method: sip.UPDATE, reoffer: failReoffer, wantCode: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trunk := newPeer(t, "udp", peerHandlers{invite: trunkAnswers})
			ts := startServer(t, withTrunk(trunk))
			leg, err := dial(context.Background(), ts, 0, nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			dlg := trunk.established(t)
			offers := make(chan []byte, 1)
			if tc.reoffer != nil {
				leg.SetReoffer(func(o []byte) ([]byte, error) {
					offers <- o
					return tc.reoffer(o)
				})
			}
			res := trunkInDialog(t, dlg, tc.method, tc.body)
			checkReofferAnswer(t, res, tc.wantCode, tc.wantBody, ts.addr)
			if tc.reoffer != nil && tc.body != nil {
				if got := recv(t, offers, "the offer"); string(got) != string(tc.body) {
					t.Errorf("reoffer got %q", got)
				}
			}
			if isClosed(leg.Done()) {
				t.Fatal("in-dialog request ended the call")
			}
			if err := leg.Hangup(context.Background(), 0); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
		})
	}
}

// trunkInDialog sends method from the trunk in its dialog with callrec and
// returns the final response (a 2xx to re-INVITE is acknowledged).
func trunkInDialog(t *testing.T, dlg *sipgo.DialogServerSession, method sip.RequestMethod, body []byte) *sip.Response {
	t.Helper()
	target := dlg.InviteRequest.Contact().Address
	req := sip.NewRequest(method, target)
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("trunk %s: %v", method, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		if err := dlg.WriteRequest(sip.NewRequest(sip.ACK, target)); err != nil {
			t.Fatalf("trunk ACK: %v", err)
		}
	}
	return res
}
