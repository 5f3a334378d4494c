package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fastTimers makes T1 and a second of session interval 10 ms, so that
// retransmissions and session timers run their course within a test.
func fastTimers(c *Config) {
	c.timing = timing{t1: 10 * time.Millisecond, second: 10 * time.Millisecond}
}

// prack acknowledges the reliable provisional response res of call c with
// a PRACK of CSeq seq, and returns its final response.
func (p *peer) prack(c *call, res *sip.Response, seq uint32) *sip.Response {
	p.t.Helper()
	rseq := res.GetHeader("RSeq")
	if rseq == nil {
		p.t.Fatalf("%d without RSeq", res.StatusCode)
	}
	return p.prackRAck(c, res, seq, fmt.Sprintf("%s %d INVITE", rseq.Value(), c.dlg.InviteRequest.CSeq().SeqNo))
}

// prackRAck sends a PRACK with the given RAck in the early dialog of res.
func (p *peer) prackRAck(c *call, res *sip.Response, seq uint32, rack string) *sip.Response {
	p.t.Helper()
	inv := c.dlg.InviteRequest
	req := sip.NewRequest(sip.PRACK, res.Contact().Address)
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(res.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.PRACK})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("RAck", rack))
	req.SetTransport(p.transport)
	return p.do(req)
}

// next183 waits for the next 183 the call received.
func (c *call) next183(t *testing.T) *sip.Response {
	t.Helper()
	for {
		if res := c.provisionalCode(t); res.StatusCode == 183 {
			return res
		}
	}
}

// count183 counts the 183s that arrive within d (a window, not a measure
// of speed).
func (c *call) count183(d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case res := <-c.provisional:
			if res.StatusCode == 183 {
				n++
			}
		case <-deadline:
			return n
		}
	}
}

// TestReliableProgress: to a caller that supports 100rel, Progress sends
// 183 with Require: 100rel and an RSeq, retransmitted until the PRACK
// (answered 200) arrives; a second Progress waits for that PRACK and
// takes the next RSeq; the 200 follows and says what callrec supports.
func TestReliableProgress(t *testing.T) {
	ts := startServer(t, fastTimers)
	phone := newPeer(t, "udp", peerHandlers{})
	c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader("Supported", "100rel, timer"))
	leg := ts.nextLeg(t)
	if err := leg.Progress(answerSDP()); err != nil {
		t.Fatalf("Progress: %v", err)
	}
	first := c.next183(t)
	if !hasOptionTag(first, "100rel", "Require") || first.GetHeader("RSeq") == nil {
		t.Fatalf("183 without Require: 100rel and RSeq:\n%s", first)
	}
	if string(first.Body()) != string(answerSDP()) {
		t.Errorf("183 body %q", first.Body())
	}
	second := make(chan error, 1)
	go func() { second <- leg.Progress(answerSDP()) }()
	// Retransmissions of the first, and nothing newer, until the PRACK.
	for range 2 {
		again := c.next183(t)
		if got, want := again.GetHeader("RSeq").Value(), first.GetHeader("RSeq").Value(); got != want {
			t.Fatalf("183 with RSeq %s before the PRACK of RSeq %s", got, want)
		}
	}
	if res := phone.prack(c, first, 2); res.StatusCode != 200 {
		t.Fatalf("PRACK answered %d, want 200", res.StatusCode)
	}
	if err := recv(t, second, "second Progress"); err != nil {
		t.Fatalf("second Progress: %v", err)
	}
	var next *sip.Response
	for next = c.next183(t); next.GetHeader("RSeq").Value() == first.GetHeader("RSeq").Value(); next = c.next183(t) {
	}
	rseq1, _ := parseDeltaSeconds(first.GetHeader("RSeq").Value())
	rseq2, _ := parseDeltaSeconds(next.GetHeader("RSeq").Value())
	if rseq2 != rseq1+1 {
		t.Errorf("second 183 RSeq %d, want %d", rseq2, rseq1+1)
	}
	if res := phone.prack(c, next, 3); res.StatusCode != 200 {
		t.Fatalf("second PRACK answered %d, want 200", res.StatusCode)
	}
	// Acknowledged: what came before the PRACK's answer aside, at most one
	// retransmission already on its way comes in the next 64*T1, where
	// there would have been several.
	for len(c.provisional) > 0 {
		<-c.provisional
	}
	if n := c.count183(640 * time.Millisecond); n > 1 {
		t.Errorf("%d more 183s after the PRACK", n)
	}
	answered := answer(leg, answerSDP())
	if code, err := c.final(t); err != nil || code != 200 {
		t.Fatalf("INVITE answered %d (%v), want 200", code, err)
	}
	if !hasOptionTag(c.dlg.InviteResponse, "100rel", "Supported") || !hasOptionTag(c.dlg.InviteResponse, "timer", "Supported") {
		t.Errorf("200 Supported %v, want 100rel and timer", c.dlg.InviteResponse.GetHeader("Supported"))
	}
	c.ack(t)
	if err := recv(t, answered, "Answer"); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	c.bye(t)
	closed(t, leg.Done(), "leg end")
}

// TestPrackUnknown: a PRACK for no dialog of ours, or for no reliable
// provisional response we sent, gets 481.
func TestPrackUnknown(t *testing.T) {
	ts := startServer(t, fastTimers)
	phone := newPeer(t, "udp", peerHandlers{})
	req := phone.outOfDialog(sip.PRACK, ts.uri("+4930999"))
	req.AppendHeader(sip.NewHeader("RAck", "1 1 INVITE"))
	if res := phone.do(req); res.StatusCode != 481 {
		t.Errorf("PRACK outside a dialog answered %d, want 481", res.StatusCode)
	}

	c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader("Supported", "100rel"))
	leg := ts.nextLeg(t)
	if err := leg.Progress(answerSDP()); err != nil {
		t.Fatalf("Progress: %v", err)
	}
	res := c.next183(t)
	inv := c.dlg.InviteRequest.CSeq().SeqNo
	rseq, _ := parseDeltaSeconds(res.GetHeader("RSeq").Value())
	for i, rack := range []string{
		fmt.Sprintf("%d %d INVITE", rseq+1, inv), // not sent
		fmt.Sprintf("%d %d INVITE", rseq, inv+5), // other request
		fmt.Sprintf("%d %d BYE", rseq, inv),      // other method
		"junk",
	} {
		if got := phone.prackRAck(c, res, uint32(2+i), rack); got.StatusCode != 481 {
			t.Errorf("PRACK with RAck %q answered %d, want 481", rack, got.StatusCode)
		}
	}
	if got := phone.prack(c, res, 10); got.StatusCode != 200 {
		t.Errorf("matching PRACK answered %d, want 200", got.StatusCode)
	}
	_ = leg.Reject(486, "")
}

// TestPrackNeverComes: a caller that requires 100rel but never PRACKs
// the 183 gets it retransmitted, then 500 (RFC 3262 §3), and the leg
// ends saying why; an Answer waiting for the PRACK fails.
func TestPrackNeverComes(t *testing.T) {
	ts := startServer(t, fastTimers)
	phone := newPeer(t, "udp", peerHandlers{})
	c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader("Require", "100rel"))
	leg := ts.nextLeg(t)
	if err := leg.Progress(answerSDP()); err != nil {
		t.Fatalf("Progress: %v", err)
	}
	answered := answer(leg, answerSDP())
	code, err := c.final(t)
	if err != nil || code != 500 {
		t.Fatalf("INVITE answered %d (%v), want 500", code, err)
	}
	closed(t, leg.Done(), "leg end")
	if err := recv(t, answered, "Answer"); err == nil {
		t.Error("Answer succeeded for a caller that never sent PRACK")
	}
	if got := leg.Cause(); got != prackTimeoutCause {
		t.Errorf("Cause %q, want %q", got, prackTimeoutCause)
	}
	n := 0
	for len(c.provisional) > 0 {
		if res := <-c.provisional; res.StatusCode == 183 {
			n++
		}
	}
	if n < 3 {
		t.Errorf("183 sent %d times, want it retransmitted", n)
	}
}

// TestRingingReliableWhenRequired: with Require: 100rel even 180 goes
// reliably; with Supported only it does not.
func TestRingingReliableWhenRequired(t *testing.T) {
	for _, hdr := range []string{"Require", "Supported"} {
		t.Run(hdr, func(t *testing.T) {
			ts := startServer(t, fastTimers)
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader(hdr, "100rel"))
			leg := ts.nextLeg(t)
			if err := leg.Ringing(); err != nil {
				t.Fatalf("Ringing: %v", err)
			}
			res := c.provisionalCode(t)
			if reliable := res.GetHeader("RSeq") != nil; reliable != (hdr == "Require") {
				t.Errorf("180 reliable %v with %s: 100rel", reliable, hdr)
			}
			if hdr == "Require" {
				phone.prack(c, res, 2)
			}
			_ = leg.Reject(486, "")
		})
	}
}

// TestDialPracksAndEarlyMedia: our INVITE offers 100rel and timer; a
// reliable 183 is PRACKed once (its retransmission is neither PRACKed
// nor reported again), and OnEarlyMedia gets each distinct early SDP
// once, in order, whether its response was reliable or not.
func TestDialPracksAndEarlyMedia(t *testing.T) {
	pracks := make(chan *sip.Request, 8)
	seen := make(chan int, 8)
	otherSDP := strings.Replace(string(earlySDP()), "42002", "42004", 1)
	trunk := newPeer(t, "udp", peerHandlers{
		invite: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := p.uas.ReadInvite(req, tx)
			if err != nil {
				p.t.Errorf("trunk ReadInvite: %v", err)
				return
			}
			ct := sip.NewHeader("Content-Type", "application/sdp")
			reliable := sip.NewResponseFromRequest(dlg.InviteRequest, 183, "Session Progress", earlySDP())
			reliable.AppendHeader(ct)
			reliable.AppendHeader(sip.NewHeader("Require", "100rel"))
			reliable.AppendHeader(sip.NewHeader("RSeq", "7"))
			_ = dlg.WriteResponse(reliable)
			<-seen
			<-pracks
			_ = dlg.WriteResponse(reliable.Clone()) // a retransmission
			_ = dlg.Respond(180, "Ringing", earlySDP(), ct)
			<-seen
			_ = dlg.Respond(183, "Session Progress", []byte(otherSDP), ct)
			<-seen
			trunkAnswer(p, dlg)
		},
		other: map[sip.RequestMethod]func(*peer, *sip.Request, sip.ServerTransaction){
			sip.PRACK: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
				pracks <- req
				pracks <- req // one for the trunk's script, one for the test
			},
		},
	})
	ts := startServer(t, withTrunk(trunk), fastTimers)
	early := make(chan string, 8)
	var progress []int
	leg, err := ts.Dial(context.Background(), DialRequest{To: "+4930555", CallerID: "+4930444", SDP: testSDP(), Timeout: waitFor,
		OnProgress:   func(code int, _ []byte) { progress = append(progress, code); seen <- code },
		OnEarlyMedia: func(sdp []byte) { early <- string(sdp) },
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	inv := recv(t, trunk.invites, "INVITE at the trunk")
	for _, tag := range []string{"100rel", "timer"} {
		if !hasOptionTag(inv, tag, "Supported") {
			t.Errorf("INVITE Supported %v, want %s", inv.GetHeader("Supported"), tag)
		}
	}
	if v, _ := headerValue(inv, "Session-Expires"); v != "1800" {
		t.Errorf("INVITE Session-Expires %q, want 1800", v)
	}
	if v, _ := headerValue(inv, "Min-SE"); v != "90" {
		t.Errorf("INVITE Min-SE %q, want 90", v)
	}
	if !allows(inv, sip.PRACK) {
		t.Errorf("INVITE Allow %v, want PRACK", inv.GetHeader("Allow"))
	}
	prack := recv(t, pracks, "PRACK")
	if got, want := prack.GetHeader("RAck").Value(), fmt.Sprintf("7 %d INVITE", inv.CSeq().SeqNo); got != want {
		t.Errorf("RAck %q, want %q", got, want)
	}
	if got := recv(t, early, "first early media"); got != string(earlySDP()) {
		t.Errorf("first early SDP %q", got)
	}
	if got := recv(t, early, "second early media"); got != otherSDP {
		t.Errorf("second early SDP %q", got)
	}
	trunk.established(t)
	if fmt.Sprint(progress) != "[183 180 183]" {
		t.Errorf("OnProgress got %v, want [183 180 183]", progress)
	}
	select {
	case p := <-pracks:
		t.Errorf("second PRACK: %s", p.GetHeader("RAck").Value())
	case sdp := <-early:
		t.Errorf("early media again: %q", sdp)
	case <-time.After(200 * time.Millisecond):
	}
	_ = leg.Hangup(context.Background(), 0)
}
