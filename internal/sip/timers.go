package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Session timer defaults (RFC 4028).
const (
	// DefaultSessionExpires is the session interval asked for and granted
	// when Config.SessionExpires is zero.
	DefaultSessionExpires = 1800 * time.Second
	// DefaultMinSE is the shortest session interval accepted when
	// Config.MinSE is zero.
	DefaultMinSE = 90 * time.Second
	// MinSEFloor is the shortest Min-SE RFC 4028 allows; a smaller
	// Config.MinSE is raised to it.
	MinSEFloor = 90 * time.Second
)

// supportedExtensions is the Supported header of our INVITEs, 200s and
// OPTIONS answers.
const supportedExtensions = "100rel, timer"

// timing holds the clocks of the retransmission and session timers. Only
// tests change them: the zero value means RFC 3261's T1 and real seconds.
type timing struct {
	// t1 is the first retransmission interval of reliable provisional
	// responses.
	t1 time.Duration
	// second is how long one second of Session-Expires and Min-SE lasts.
	second time.Duration
}

// withSessionDefaults fills in the session timer settings of cfg.
func withSessionDefaults(cfg Config) Config {
	if cfg.SessionExpires <= 0 {
		cfg.SessionExpires = DefaultSessionExpires
	}
	if cfg.MinSE <= 0 {
		cfg.MinSE = DefaultMinSE
	}
	cfg.MinSE = max(cfg.MinSE, MinSEFloor)
	cfg.SessionExpires = max(cfg.SessionExpires, cfg.MinSE)
	if cfg.timing.t1 <= 0 {
		cfg.timing.t1 = sip.T1
	}
	if cfg.timing.second <= 0 {
		cfg.timing.second = time.Second
	}
	return cfg
}

// sessionSeconds are our Session-Expires and Min-SE in whole seconds.
func (s *Server) sessionSeconds() (se, minSE uint32) {
	return uint32(s.cfg.SessionExpires / time.Second), uint32(s.cfg.MinSE / time.Second)
}

// maxDeltaSeconds bounds delta-seconds values we accept (about 136 years).
const maxDeltaSeconds = 1<<32 - 1

// parseDeltaSeconds reads RFC 3261 delta-seconds: decimal digits.
func parseDeltaSeconds(v string) (uint32, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 10 {
		return 0, fmt.Errorf("delta-seconds %q", v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("delta-seconds %q", v)
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > maxDeltaSeconds {
		return 0, fmt.Errorf("delta-seconds %q", v)
	}
	return uint32(n), nil
}

// parseSessionExpires reads a Session-Expires value ("1800;refresher=uac"):
// the interval and the refresher parameter ("uac", "uas" or "" when absent
// or unknown). Other parameters are ignored.
func parseSessionExpires(v string) (secs uint32, refresher string, err error) {
	first, params, _ := strings.Cut(v, ";")
	if secs, err = parseDeltaSeconds(first); err != nil {
		return 0, "", err
	}
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch r := strings.ToLower(strings.TrimSpace(val)); r {
			case "uac", "uas":
				refresher = r
			}
		}
	}
	return secs, refresher, nil
}

// parseMinSE reads a Min-SE value: delta-seconds, then parameters.
func parseMinSE(v string) (uint32, error) {
	first, _, _ := strings.Cut(v, ";")
	return parseDeltaSeconds(first)
}

// headerValue is the value of the first of m's headers called one of
// names (a full name and its compact form), or "".
func headerValue(m sip.Message, names ...string) (string, bool) {
	for _, n := range names {
		if hs := m.GetHeaders(n); len(hs) > 0 {
			return hs[0].Value(), true
		}
	}
	return "", false
}

// hasOptionTag reports whether one of m's headers called one of names
// (Supported and "k", or Require) lists the option tag.
func hasOptionTag(m sip.Message, tag string, names ...string) bool {
	for _, n := range names {
		for _, h := range m.GetHeaders(n) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), tag) {
					return true
				}
			}
		}
	}
	return false
}

// supports reports whether m says its sender supports (or requires) the
// extension named by tag.
func supports(m sip.Message, tag string) bool {
	return hasOptionTag(m, tag, "Supported", "k", "Require")
}

// allows reports whether m's Allow header lists method.
func allows(m sip.Message, method sip.RequestMethod) bool {
	return hasOptionTag(m, string(method), "Allow")
}

// sessionTerms is a dialog's session timer: its interval in seconds (0:
// none) and whether we are the refresher.
type sessionTerms struct {
	secs      uint32
	weRefresh bool
}

// sessionTooBrief reports whether an inbound INVITE asks for a session
// interval below our Min-SE, which it must be told in a 422.
func (s *Server) sessionTooBrief(req *sip.Request) (minSE uint32, tooBrief bool) {
	v, ok := headerValue(req, "Session-Expires", "x")
	if !ok {
		return 0, false
	}
	secs, _, err := parseSessionExpires(v)
	_, ours := s.sessionSeconds()
	if err != nil || secs >= ours {
		return 0, false
	}
	return ours, true
}

// inboundTerms settles the session timer of an inbound INVITE that is not
// too brief (RFC 4028 §9): the interval asked for, lowered to ours but
// never below either Min-SE, or ours when none was asked; the caller
// refreshes when it supports timers and did not ask us to.
func (s *Server) inboundTerms(req *sip.Request) sessionTerms {
	ourSE, ourMin := s.sessionSeconds()
	floor := ourMin
	if v, ok := headerValue(req, "Min-SE"); ok {
		if m, err := parseMinSE(v); err == nil {
			floor = max(floor, m)
		}
	}
	secs, refresher := ourSE, ""
	if v, ok := headerValue(req, "Session-Expires", "x"); ok {
		if asked, r, err := parseSessionExpires(v); err == nil {
			secs, refresher = min(asked, ourSE), r
		}
	}
	secs = max(secs, floor)
	callerTimer := supports(req, "timer")
	weRefresh := !callerTimer || refresher == "uas"
	return sessionTerms{secs: secs, weRefresh: weRefresh}
}

// sessionHeaders are the headers of a 2xx that grants terms to a request
// (its sender is the UAC): Session-Expires naming the refresher, and
// Require: timer when the request's sender supports timers.
func sessionHeaders(req *sip.Request, terms sessionTerms) []sip.Header {
	if terms.secs == 0 {
		return nil
	}
	refresher := "uac"
	if terms.weRefresh {
		refresher = "uas"
	}
	hdrs := []sip.Header{sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", terms.secs, refresher))}
	if supports(req, "timer") {
		hdrs = append(hdrs, sip.NewHeader("Require", "timer"))
	}
	return hdrs
}

// outboundTerms reads the session timer a 2xx to our INVITE settled: none
// without Session-Expires; we refresh unless it names the UAS.
func outboundTerms(res *sip.Response) sessionTerms {
	v, ok := headerValue(res, "Session-Expires", "x")
	if !ok {
		return sessionTerms{}
	}
	secs, refresher, err := parseSessionExpires(v)
	if err != nil || secs == 0 {
		return sessionTerms{}
	}
	return sessionTerms{secs: secs, weRefresh: refresher != "uas"}
}

// retryMinSE is the Min-SE a 422 to our INVITE asks for, when it asks for
// more than we offered.
func retryMinSE(err error, offered uint32) (uint32, bool) {
	var resp *sipgo.ErrDialogResponse
	if !errors.As(err, &resp) || resp.Res.StatusCode != 422 {
		return 0, false
	}
	v, ok := headerValue(resp.Res, "Min-SE")
	if !ok {
		return 0, false
	}
	m, perr := parseMinSE(v)
	if perr != nil || m <= offered {
		return 0, false
	}
	return m, true
}

// inDialogSender sends requests within a dialog: sipgo's client and
// server dialog sessions both are one.
type inDialogSender interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	WriteRequest(req *sip.Request) error
}

// sessionState is what both leg kinds keep about their confirmed dialog:
// how to send within it, the session timer, and the INFO digit handler.
// Its fields are guarded by mu; digit handler calls are serialised by
// deliverMu.
type sessionState struct {
	mu        sync.Mutex
	dialog    inDialogSender // nil until the dialog is confirmed
	target    sip.Uri        // the peer's Contact
	lastSDP   []byte         // our last session description
	terms     sessionTerms
	refreshed chan struct{} // signalled when the peer refreshes the session
	onDigit   func(digit byte)
	lastInfo  uint32 // CSeq of the last INFO whose digit was delivered
	infoSeen  bool

	deliverMu sync.Mutex
}

// confirm records how to reach the peer within the dialog and our session
// description, once the dialog is confirmed.
func (st *sessionState) confirm(d inDialogSender, target sip.Uri, sdp []byte, terms sessionTerms) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.dialog, st.target, st.lastSDP, st.terms = d, target, sdp, terms
	if st.refreshed == nil {
		st.refreshed = make(chan struct{}, 1)
	}
}

// noteSDP records the session description we last sent.
func (st *sessionState) noteSDP(sdp []byte) {
	if len(sdp) == 0 {
		return
	}
	st.mu.Lock()
	st.lastSDP = sdp
	st.mu.Unlock()
}

// refreshedBy notes a session refresh (re-INVITE or UPDATE) from the peer
// and returns the headers of our 2xx to it. The peer is the refresh's
// UAC: the refresher it names becomes the session's.
func (st *sessionState) refreshedBy(req *sip.Request) []sip.Header {
	st.mu.Lock()
	if st.terms.secs == 0 || st.refreshed == nil {
		st.mu.Unlock()
		return nil
	}
	if v, ok := headerValue(req, "Session-Expires", "x"); ok {
		if secs, refresher, err := parseSessionExpires(v); err == nil && secs >= uint32(MinSEFloor/time.Second) {
			st.terms = sessionTerms{secs: secs, weRefresh: refresher == "uas"}
		}
	}
	terms := st.terms
	st.mu.Unlock()
	select {
	case st.refreshed <- struct{}{}:
	default:
	}
	return sessionHeaders(req, terms)
}

// currentTerms is the session timer now.
func (st *sessionState) currentTerms() sessionTerms {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.terms
}

// sender is the dialog's sender and the peer's Contact, or nil before the
// dialog is confirmed.
func (st *sessionState) sender() (inDialogSender, sip.Uri) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.dialog, st.target
}

// sessionOf is the session state of the dialog an in-dialog request
// belongs to, or nil.
func (s *Server) sessionOf(req *sip.Request) *sessionState {
	if leg := s.inboundOf(req); leg != nil {
		return &leg.sessionState
	}
	if leg := s.outboundOf(req); leg != nil {
		return &leg.sessionState
	}
	return nil
}

// sessionExpiredReason is the Reason of the BYE that ends a session whose
// refresh did not arrive (RFC 4028 §10).
const sessionExpiredReason = `SIP;cause=408;text="Session timer expired"`

// sessionTimer runs one dialog's session timer on its own goroutine (run):
// as refresher it refreshes at half the interval; otherwise it expects a
// refresh and ends the session when none came in time.
type sessionTimer struct {
	st        *sessionState
	second    time.Duration // how long a second of the interval lasts
	t1        time.Duration
	useUpdate bool // the peer allows UPDATE
	done      <-chan struct{}
	// end ends the leg with cause; bye tells whether a BYE goes too.
	end func(cause string, bye bool)
}

// run is the timer's goroutine; it returns when done is closed or the
// session ended.
func (t *sessionTimer) run() {
	for {
		terms := t.st.currentTerms()
		if terms.secs == 0 {
			return
		}
		interval := time.Duration(terms.secs) * t.second
		wait := interval - min(32*t.second, interval/3)
		if terms.weRefresh {
			wait = interval / 2
		}
		timer := time.NewTimer(wait)
		select {
		case <-t.done:
			timer.Stop()
			return
		case <-t.st.refreshed:
			timer.Stop()
			continue
		case <-timer.C:
		}
		if !terms.weRefresh {
			t.end(sessionExpiredReason, true)
			return
		}
		if code, ended := t.refresh(terms); ended {
			t.end(fmt.Sprintf("SIP;cause=%d;text=%q", code, "Session refresh failed"), code != 481)
			return
		}
	}
}

// refresh sends one refresh: UPDATE without a body when the peer allows
// it, else a re-INVITE with our last session description. It reports
// whether the session is over (the refresh got 408 or 481, or no answer,
// which is a 408 too) and the status.
func (t *sessionTimer) refresh(terms sessionTerms) (code int, ended bool) {
	d, target := t.st.sender()
	if d == nil {
		return 0, false
	}
	method := sip.UPDATE
	if !t.useUpdate {
		method = sip.INVITE
	}
	req := sip.NewRequest(method, target)
	req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", terms.secs)))
	req.AppendHeader(sip.NewHeader("Supported", supportedExtensions))
	if method == sip.INVITE {
		t.st.mu.Lock()
		sdp := t.st.lastSDP
		t.st.mu.Unlock()
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(sdp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 64*t.t1)
	defer cancel()
	res, err := d.Do(ctx, req)
	if err != nil {
		select {
		case <-t.done:
			return 0, false
		default:
		}
		return 408, true
	}
	if method == sip.INVITE && res.IsSuccess() {
		_ = d.WriteRequest(sip.NewRequest(sip.ACK, target))
	}
	switch {
	case res.StatusCode == 408 || res.StatusCode == 481:
		return res.StatusCode, true
	case res.IsSuccess():
		t.st.mu.Lock()
		if v, ok := headerValue(res, "Session-Expires", "x"); ok {
			if secs, refresher, err := parseSessionExpires(v); err == nil && secs >= uint32(MinSEFloor/time.Second) {
				t.st.terms = sessionTerms{secs: secs, weRefresh: refresher != "uas"}
			}
		}
		t.st.mu.Unlock()
	}
	return res.StatusCode, false
}

// byeTimeout bounds the BYE that ends a session whose timer ran out.
const byeTimeout = 8 * time.Second

// startSession records the confirmed dialog of an answered inbound leg
// and starts its session timer, if one was agreed.
func (l *InboundLeg) startSession(sdp []byte) {
	terms := l.currentTerms()
	l.confirm(l.dlg, l.req.Contact().Address, sdp, terms)
	if terms.secs == 0 {
		return
	}
	t := &sessionTimer{st: &l.sessionState, second: l.s.cfg.timing.second, t1: l.s.cfg.timing.t1,
		useUpdate: allows(l.req, sip.UPDATE), done: l.done, end: l.endSession}
	go t.run()
}

// endSession ends an inbound leg whose session timer ran out, with a BYE
// carrying cause when bye is set.
func (l *InboundLeg) endSession(cause string, bye bool) {
	l.swapCause(cause)
	l.s.log.Info("SIP session timer ended the call", "sip_call_id", l.CallID(), "reason", cause)
	if bye {
		req := sip.NewRequest(sip.BYE, l.req.Contact().Address)
		req.SetTransport(l.req.Transport())
		req.AppendHeader(sip.NewHeader("Reason", cause))
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if err := l.dlg.WriteBye(ctx, req); err != nil {
			l.s.log.Debug("BYE at session expiry failed", "sip_call_id", l.CallID(), "err", err)
		}
		cancel()
	}
	l.end()
}

// startSession records the confirmed dialog of an outbound leg and starts
// the session timer its 2xx agreed, if any.
func (l *OutboundLeg) startSession(sdp []byte) {
	res := l.dlg.InviteResponse
	target := l.dlg.InviteRequest.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	terms := outboundTerms(res)
	l.confirm(l.dlg, target, sdp, terms)
	if terms.secs == 0 {
		return
	}
	t := &sessionTimer{st: &l.sessionState, second: l.s.cfg.timing.second, t1: l.s.cfg.timing.t1,
		useUpdate: allows(res, sip.UPDATE), done: l.done, end: l.endSession}
	go t.run()
}

// endSession ends an outbound leg whose session timer ran out, with a BYE
// carrying cause when bye is set.
func (l *OutboundLeg) endSession(cause string, bye bool) {
	l.setCause(cause)
	l.s.log.Info("SIP session timer ended the call", "sip_call_id", l.CallID(), "reason", cause)
	if bye {
		_, uri := l.sender()
		req := sip.NewRequest(sip.BYE, uri)
		req.AppendHeader(sip.NewHeader("Reason", cause))
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		if err := l.dlg.WriteBye(ctx, req); err != nil {
			l.s.log.Debug("BYE at session expiry failed", "sip_call_id", l.CallID(), "err", err)
		}
		cancel()
	}
	l.markEnded("")
}

// respondAnswer sends an inbound leg's 200 with sdp, saying what we
// support and the session timer agreed, and waits for the ACK.
func (l *InboundLeg) respondAnswer(sdp []byte) error {
	if sdp == nil {
		return errors.New("sdp not provided")
	}
	res := sip.NewSDPResponseFromRequest(l.dlg.InviteRequest, sdp)
	res.AppendHeader(sip.NewHeader("Supported", supportedExtensions))
	for _, h := range sessionHeaders(l.req, l.currentTerms()) {
		res.AppendHeader(h)
	}
	return l.dlg.WriteResponse(res)
}
