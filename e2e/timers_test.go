package e2e

// The SIP session timer (RFC 4028) with a SIPp caller. Both tests are
// long (about 50 s and 65 s: RFC 4028 allows no session interval under
// 90 s) and place one call each.

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// longCall bounds a session timer test's call: SIPp's own global timeout
// and the wait for its scenario to end.
const longCall = 120 * time.Second

// trunkLong fills in trunk-long.sipp.tmpl: a trunk that answers at once
// and awaits callrec's BYE for AwaitByeMS.
type trunkLong struct {
	Tone       string
	AwaitByeMS int
}

func (s trunkLong) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	data := struct {
		trunkLong
		SDP string
	}{s, sdp([]codec{pcmu}, 0, 0)}
	if err := scenarioTemplates.ExecuteTemplate(&b, "trunk-long.sipp.tmpl", data); err != nil {
		t.Fatalf("SIPp scenario trunk-long: %v", err)
	}
	return b.String()
}

// TestSessionRefreshedByCallrec (long: about 50 s): a stranger asks for
// a 90 s session that callrec refreshes (refresher=uas) and allows
// UPDATE: the 200 grants it and requires timer, callrec refreshes with
// UPDATE at half the interval, and the call goes on until the stranger
// hangs up.
func TestSessionRefreshedByCallrec(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startSIPp(t, sippOpts{Timeout: longCall, Name: "trunk", Port: cr.TrunkPort(), Scenario: trunkLong{Tone: tn.owner, AwaitByeMS: 100000}.render(t)})
	stranger := startSIPp(t, sippOpts{Timeout: longCall, Name: "stranger", Remote: cr.SIPAddr(), Scenario: extCaller{
		From: strangerNum, To: serviceNumber, AllowUpdate: true, SessionExpires: "90;refresher=uas", AnswerRefreshMS: 80000,
	}.render(t)})
	stranger.mustPass(longCall)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	msgs := stranger.messages()
	ok := firstOK(t, stranger, "1")
	if got := ok.Header("Session-Expires"); got != "90;refresher=uas" {
		t.Errorf("200 Session-Expires %q, want 90;refresher=uas", got)
	}
	if !strings.Contains(ok.Header("Require"), "timer") {
		t.Errorf("200 Require %q, want timer", ok.Header("Require"))
	}
	updates := requests(msgs, "UPDATE", false)
	if len(updates) != 1 {
		t.Fatalf("the stranger got %d UPDATEs, want one refresh: %s", len(updates), stranger.summary())
	}
	if got := updates[0].Header("Session-Expires"); got != "90;refresher=uac" {
		t.Errorf("refresh Session-Expires %q, want 90;refresher=uac", got)
	}
	if !updates[0].Time.After(ok.Time) {
		t.Errorf("the refresh came before the answer")
	}
	if rec := cr.oneCall(); rec.Status != "completed" {
		t.Errorf("call record %v: want completed", rec)
	}
}

// TestSessionExpiresWithoutRefresh (long: about 65 s): a stranger asks
// for a 90 s session it is to refresh (refresher=uac) and never does:
// callrec ends the call with BYE, Reason 408 "Session timer expired",
// and hangs up the owner's leg too.
func TestSessionExpiresWithoutRefresh(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	tn := makeTones(t)
	trunk := startSIPp(t, sippOpts{Timeout: longCall, Name: "trunk", Port: cr.TrunkPort(), Scenario: trunkLong{Tone: tn.owner, AwaitByeMS: 100000}.render(t)})
	stranger := startSIPp(t, sippOpts{Timeout: longCall, Name: "stranger", Remote: cr.SIPAddr(), Scenario: extCaller{
		From: strangerNum, To: serviceNumber, SessionExpires: "90", AwaitByeMS: 100000,
	}.render(t)})
	stranger.mustPass(longCall)
	trunk.mustPass(10 * time.Second)
	if t.Failed() {
		return
	}
	msgs := stranger.messages()
	ok := firstOK(t, stranger, "1")
	if got := ok.Header("Session-Expires"); got != "90;refresher=uac" {
		t.Errorf("200 Session-Expires %q, want 90;refresher=uac", got)
	}
	byes := requests(msgs, "BYE", false)
	if len(byes) != 1 {
		t.Fatalf("the stranger got %d BYEs, want 1: %s", len(byes), stranger.summary())
	}
	if got, want := byes[0].Header("Reason"), `SIP;cause=408;text="Session timer expired"`; got != want {
		t.Errorf("BYE Reason %q, want %q", got, want)
	}
	if !byes[0].Time.After(ok.Time) {
		t.Errorf("the BYE came before the answer")
	}
	if n := len(requests(trunk.messages(), "BYE", false)); n != 1 {
		t.Errorf("the trunk got %d BYEs, want 1", n)
	}
	cr.waitLog(10*time.Second, "SIP session timer ended the call")
}
