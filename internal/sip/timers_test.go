package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestSessionIntervalTooSmall: an INVITE asking for a session interval
// below our Min-SE gets 422 with our Min-SE and no call; one at or above
// it is admitted.
func TestSessionIntervalTooSmall(t *testing.T) {
	tests := []struct {
		name    string
		minSE   time.Duration
		asked   string
		want    int
		wantMin string
	}{
		{"below the RFC floor", 0, "60", 422, "90"},
		{"below ours", 120 * time.Second, "90;refresher=uac", 422, "120"},
		{"a small configured Min-SE is raised to 90", 30 * time.Second, "45", 422, "90"},
		{"at ours", 0, "90", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.MinSE = tc.minSE })
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", tc.asked))
			if tc.want == 200 {
				leg := ts.nextLeg(t)
				answer(leg, answerSDP())
			}
			code, err := c.final(t)
			if err != nil || code != tc.want {
				t.Fatalf("INVITE answered %d (%v), want %d", code, err, tc.want)
			}
			if tc.want == 422 {
				if n := ts.h.admits.Load(); n != 0 {
					t.Errorf("Admit called %d times for a 422", n)
				}
				return
			}
			c.ack(t)
			c.bye(t)
		})
	}
}

// TestSessionExpiresNegotiated: the 200 grants the interval asked for
// (lowered to ours), names the refresher — the caller when it supports
// timers and did not ask otherwise, else us — and requires timer only of
// a caller that supports it.
func TestSessionExpiresNegotiated(t *testing.T) {
	tests := []struct {
		name        string
		hdrs        []sip.Header
		want        string
		wantRequire bool
	}{
		{"caller supports timer", []sip.Header{sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "600")}, "600;refresher=uac", true},
		{"caller asks us to refresh", []sip.Header{sip.NewHeader("Supported", "100rel, timer"), sip.NewHeader("Session-Expires", "600;refresher=uas")}, "600;refresher=uas", true},
		{"longer than ours", []sip.Header{sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "7200")}, "1800;refresher=uac", true},
		{"no timer support", nil, "1800;refresher=uas", false},
		{"caller's Min-SE above ours", []sip.Header{sip.NewHeader("Min-SE", "2000")}, "2000;refresher=uas", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			c := phone.invite(ts, "+4930999", testSDP(), tc.hdrs...)
			leg := ts.nextLeg(t)
			answer(leg, answerSDP())
			if code, err := c.final(t); err != nil || code != 200 {
				t.Fatalf("INVITE answered %d (%v), want 200", code, err)
			}
			res := c.dlg.InviteResponse
			if v, _ := headerValue(res, "Session-Expires"); v != tc.want {
				t.Errorf("Session-Expires %q, want %q", v, tc.want)
			}
			if got := hasOptionTag(res, "timer", "Require"); got != tc.wantRequire {
				t.Errorf("Require: timer %v, want %v", got, tc.wantRequire)
			}
			c.ack(t)
			c.bye(t)
		})
	}
}

// refreshCounter is a phone's answer to callrec's session refreshes: it
// records each and answers 200 keeping callrec the refresher.
func refreshCounter(got chan<- *sip.Request) func(*peer, *sip.Request, sip.ServerTransaction) {
	return func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
		var res *sip.Response
		if req.Method == sip.INVITE {
			res = sip.NewSDPResponseFromRequest(req, testSDP())
		} else {
			res = sip.NewResponseFromRequest(req, 200, "OK", nil)
		}
		if v, ok := headerValue(req, "Session-Expires"); ok {
			res.AppendHeader(sip.NewHeader("Session-Expires", v))
		}
		_ = tx.Respond(res)
		got <- req
	}
}

// TestSessionRefresher: as refresher callrec refreshes the session at
// half the interval, with UPDATE when the caller allows it and with a
// re-INVITE carrying our last SDP otherwise; the call stays up.
func TestSessionRefresher(t *testing.T) {
	for _, method := range []sip.RequestMethod{sip.UPDATE, sip.INVITE} {
		t.Run(string(method), func(t *testing.T) {
			ts := startServer(t, fastTimers)
			refreshes := make(chan *sip.Request, 16)
			hs := peerHandlers{other: map[sip.RequestMethod]func(*peer, *sip.Request, sip.ServerTransaction){sip.UPDATE: refreshCounter(refreshes)}}
			hdrs := []sip.Header{sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90;refresher=uas")}
			if method == sip.UPDATE {
				hdrs = append(hdrs, sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, UPDATE"))
			} else {
				hs.invite = refreshCounter(refreshes)
			}
			phone := newPeer(t, "udp", hs)
			c := phone.invite(ts, "+4930999", testSDP(), hdrs...)
			leg := ts.nextLeg(t)
			answered := answer(leg, answerSDP())
			if code, err := c.final(t); err != nil || code != 200 {
				t.Fatalf("INVITE answered %d (%v), want 200", code, err)
			}
			c.ack(t)
			recv(t, answered, "Answer")
			for i := range 3 {
				req := recv(t, refreshes, "session refresh")
				if req.Method != method {
					t.Fatalf("refresh %d is %s, want %s", i, req.Method, method)
				}
				if v, _ := headerValue(req, "Session-Expires"); v != "90;refresher=uac" {
					t.Errorf("refresh Session-Expires %q, want 90;refresher=uac", v)
				}
				if method == sip.INVITE && string(req.Body()) != string(answerSDP()) {
					t.Errorf("re-INVITE body %q, want our answer", req.Body())
				}
				if method == sip.UPDATE && len(req.Body()) != 0 {
					t.Errorf("UPDATE has a body %q", req.Body())
				}
			}
			if isClosed(leg.Done()) {
				t.Fatalf("leg ended although refreshed (cause %q)", leg.Cause())
			}
			c.bye(t)
			closed(t, leg.Done(), "leg end")
		})
	}
}

// TestSessionExpires: when the caller is the refresher and its refresh
// does not come, callrec sends BYE with Reason 408 "Session timer
// expired" and the leg ends saying so; a refresh the caller sends before
// is answered with the session's terms.
func TestSessionExpires(t *testing.T) {
	ts := startServer(t, fastTimers)
	phone := newPeer(t, "udp", peerHandlers{})
	c := phone.invite(ts, "+4930999", testSDP(), sip.NewHeader("Supported", "timer"), sip.NewHeader("Session-Expires", "90"))
	leg := ts.nextLeg(t)
	answered := answer(leg, answerSDP())
	if code, err := c.final(t); err != nil || code != 200 {
		t.Fatalf("INVITE answered %d (%v), want 200", code, err)
	}
	c.ack(t)
	recv(t, answered, "Answer")
	res := c.inDialog(t, sip.UPDATE, nil)
	if v, _ := headerValue(res, "Session-Expires"); res.StatusCode != 200 || v != "90;refresher=uac" {
		t.Errorf("refresh answered %d with Session-Expires %q, want 200 and 90;refresher=uac", res.StatusCode, v)
	}
	bye := recv(t, phone.byes, "BYE at session expiry")
	if v, _ := headerValue(bye, "Reason"); v != sessionExpiredReason {
		t.Errorf("BYE Reason %q, want %q", v, sessionExpiredReason)
	}
	closed(t, leg.Done(), "leg end")
	if got := leg.Cause(); got != sessionExpiredReason {
		t.Errorf("Cause %q, want %q", got, sessionExpiredReason)
	}
}

// TestDialSessionTimer: a 422 to our INVITE is retried once with the
// larger Min-SE; the 200 makes us refresher, and a refresh answered 481
// ends the leg with that cause.
func TestDialSessionTimer(t *testing.T) {
	updates := make(chan *sip.Request, 8)
	trunk := newPeer(t, "udp", peerHandlers{
		invite: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
			if v, _ := headerValue(req, "Min-SE"); v != "120" {
				res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
				res.AppendHeader(sip.NewHeader("Min-SE", "120"))
				_ = tx.Respond(res)
				return
			}
			dlg, err := p.uas.ReadInvite(req, tx)
			if err != nil {
				p.t.Errorf("trunk ReadInvite: %v", err)
				return
			}
			res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, trunkSDP())
			res.AppendHeader(sip.NewHeader("Session-Expires", "120;refresher=uac"))
			res.AppendHeader(sip.NewHeader("Require", "timer"))
			res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, UPDATE"))
			if err := dlg.WriteResponse(res); err != nil {
				p.t.Errorf("trunk 200: %v", err)
				return
			}
			p.dialogs <- dlg
		},
		other: map[sip.RequestMethod]func(*peer, *sip.Request, sip.ServerTransaction){
			sip.UPDATE: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				updates <- req
			},
		},
	})
	ts := startServer(t, withTrunk(trunk), fastTimers)
	leg, err := dial(context.Background(), ts, waitFor, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	first := recv(t, trunk.invites, "first INVITE")
	second := recv(t, trunk.invites, "retried INVITE")
	if v, _ := headerValue(first, "Session-Expires"); v != "1800" {
		t.Errorf("first Session-Expires %q", v)
	}
	if v, _ := headerValue(second, "Session-Expires"); v != "1800" {
		t.Errorf("retried Session-Expires %q, want ours (above the Min-SE asked)", v)
	}
	trunk.established(t)
	upd := recv(t, updates, "refresh UPDATE")
	if v, _ := headerValue(upd, "Session-Expires"); v != "120;refresher=uac" {
		t.Errorf("UPDATE Session-Expires %q", v)
	}
	closed(t, leg.Done(), "leg end after 481")
	if !strings.Contains(leg.Cause(), "cause=481") {
		t.Errorf("Cause %q, want the 481", leg.Cause())
	}
}

// TestDialSessionTimerPeerRefreshes: when the 200 names the UAS as
// refresher, we expect its refreshes and end the call when they stop.
func TestDialSessionTimerPeerRefreshes(t *testing.T) {
	trunk := newPeer(t, "udp", peerHandlers{
		invite: func(p *peer, req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := p.uas.ReadInvite(req, tx)
			if err != nil {
				return
			}
			res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, trunkSDP())
			res.AppendHeader(sip.NewHeader("Session-Expires", "90;refresher=uas"))
			if err := dlg.WriteResponse(res); err == nil {
				p.dialogs <- dlg
			}
		},
	})
	ts := startServer(t, withTrunk(trunk), fastTimers)
	leg, err := dial(context.Background(), ts, waitFor, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	dlg := trunk.established(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req := sip.NewRequest(sip.UPDATE, ts.uri("callrec"))
	req.AppendHeader(sip.NewHeader("Session-Expires", "90;refresher=uac"))
	res, err := dlg.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("trunk's refresh: %v %v", res, err)
	}
	if v, _ := headerValue(res, "Session-Expires"); v != "90;refresher=uac" {
		t.Errorf("refresh answered with Session-Expires %q", v)
	}
	bye := recv(t, trunk.byes, "BYE at session expiry")
	if v, _ := headerValue(bye, "Reason"); v != sessionExpiredReason {
		t.Errorf("BYE Reason %q", v)
	}
	closed(t, leg.Done(), "leg end")
	if leg.Cause() != sessionExpiredReason {
		t.Errorf("Cause %q", leg.Cause())
	}
}
