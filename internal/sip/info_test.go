package sip

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/callrec/callrec/internal/media/dtmf"
)

// sendInfo sends INFO with a body of content type ct in the call's
// dialog and returns the status.
func (c *call) sendInfo(t *testing.T, ct, body string) int {
	t.Helper()
	req := sip.NewRequest(sip.INFO, c.dlg.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	return res.StatusCode
}

// TestInfoDigits: INFO digits in both packages reach the leg's digit
// function once each, in order; one sent before a function is set is
// dropped; other INFO packages get 200 too and deliver nothing.
func TestInfoDigits(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	c, leg := establish(t, ts, phone)
	if code := c.sendInfo(t, dtmf.ContentTypeDTMFRelay, "Signal=9\r\nDuration=100\r\n"); code != 200 {
		t.Fatalf("INFO answered %d", code)
	}
	digits := make(chan byte, 16)
	leg.SetInfoDigits(func(d byte) { digits <- d })
	for _, m := range []struct{ ct, body string }{
		{dtmf.ContentTypeDTMFRelay, "Signal=1\r\nDuration=160\r\n"},
		{"application/media_control+xml", "<media_control/>"},
		{dtmf.ContentTypeDTMFRelay, "Signal=#\r\n"},
		{dtmf.ContentTypeDTMF, "5"},
		{dtmf.ContentTypeDTMFRelay, "garbage"},
	} {
		if code := c.sendInfo(t, m.ct, m.body); code != 200 {
			t.Errorf("INFO %s %q answered %d, want 200", m.ct, m.body, code)
		}
	}
	var got []byte
	for range 3 {
		got = append(got, recv(t, digits, "INFO digit"))
	}
	if string(got) != "1#5" {
		t.Errorf("digits %q, want \"1#5\"", got)
	}
	select {
	case d := <-digits:
		t.Errorf("extra digit %q", d)
	case <-time.After(100 * time.Millisecond):
	}
	c.bye(t)
}

// TestSendInfoDigit: SendInfoDigit sends INFO with application/dtmf-relay
// naming the digit and its duration in the dialog, on both leg kinds.
func TestSendInfoDigit(t *testing.T) {
	infos := make(chan *sip.Request, 4)
	infoHandler := map[sip.RequestMethod]func(*peer, *sip.Request, sip.ServerTransaction){
		sip.INFO: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			infos <- req
		},
	}
	check := func(t *testing.T, req *sip.Request, wantCallID string) {
		t.Helper()
		if v, _ := headerValue(req, "Content-Type"); v != dtmf.ContentTypeDTMFRelay {
			t.Errorf("INFO Content-Type %q", v)
		}
		if got, want := string(req.Body()), "Signal=7\r\nDuration=160\r\n"; got != want {
			t.Errorf("INFO body %q, want %q", got, want)
		}
		if callID(req) != wantCallID {
			t.Errorf("INFO Call-ID %q, want the call's %q", callID(req), wantCallID)
		}
	}
	t.Run("inbound", func(t *testing.T) {
		ts := startServer(t)
		phone := newPeer(t, "udp", peerHandlers{other: infoHandler})
		c, leg := establish(t, ts, phone)
		if err := leg.SendInfoDigit(context.Background(), '7', 160*time.Millisecond); err != nil {
			t.Fatalf("SendInfoDigit: %v", err)
		}
		check(t, recv(t, infos, "INFO"), leg.CallID())
		if err := leg.SendInfoDigit(context.Background(), 'x', time.Second); err == nil {
			t.Error("SendInfoDigit accepted 'x'")
		}
		c.bye(t)
	})
	t.Run("outbound", func(t *testing.T) {
		trunk := newPeer(t, "udp", peerHandlers{invite: trunkAnswers, other: infoHandler})
		ts := startServer(t, withTrunk(trunk))
		leg, err := dial(context.Background(), ts, waitFor, nil)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		trunk.established(t)
		if err := leg.SendInfoDigit(context.Background(), '7', 160*time.Millisecond); err != nil {
			t.Fatalf("SendInfoDigit: %v", err)
		}
		check(t, recv(t, infos, "INFO"), leg.CallID())
		_ = leg.Hangup(context.Background(), 0)
	})
}

// TestSendInfoDigitUnanswered: an unanswered leg has no dialog to send
// INFO in.
func TestSendInfoDigitUnanswered(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	phone.invite(ts, "+4930999", testSDP())
	leg := ts.nextLeg(t)
	if err := leg.SendInfoDigit(context.Background(), '1', 0); err == nil {
		t.Error("SendInfoDigit succeeded before the answer")
	}
	_ = leg.Reject(486, "")
}
