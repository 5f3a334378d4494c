package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// errLegEnded is returned by what waits on an inbound leg that ended.
var errLegEnded = errors.New("leg ended")

// prackTimeoutCause is an inbound leg's Cause when the caller never
// acknowledged a reliable provisional response and got a 5xx for it.
const prackTimeoutCause = `SIP;cause=500;text="Provisional response not acknowledged"`

// reliableProvisionals sends an inbound leg's provisional responses
// reliably (RFC 3262) to a caller that supports 100rel: each carries
// Require: 100rel and an RSeq, and is retransmitted (T1, doubling) until
// the matching PRACK arrives; after 64*T1 without one the INVITE is
// rejected with 500. One is unacknowledged at a time: slot holds a token
// meanwhile. Its other fields are guarded by mu.
type reliableProvisionals struct {
	// required is set when the caller sent Require: 100rel: then every
	// provisional goes reliably, 180 included.
	required bool
	t1       time.Duration
	slot     chan struct{}

	mu        sync.Mutex
	rseq      uint32 // of the last one sent
	pending   *pendingProvisional
	lastAcked uint32
}

// pendingProvisional is a reliable provisional response awaiting PRACK.
type pendingProvisional struct {
	rseq, cseq uint32
	acked      chan struct{}
}

func newReliableProvisionals(req *sip.Request, t1 time.Duration) *reliableProvisionals {
	return &reliableProvisionals{
		required: hasOptionTag(req, "100rel", "Require"),
		t1:       t1,
		slot:     make(chan struct{}, 1),
		// RFC 3262 §3: the first RSeq is chosen at random, below 2**31.
		rseq: rand.Uint32N(1 << 30),
	}
}

// send sends one reliable provisional response on l, after the previous
// one was acknowledged (or the leg ended), and returns once it went out
// the first time; its retransmissions run on their own goroutine.
func (r *reliableProvisionals) send(l *InboundLeg, code int, reason string, body []byte, hdrs ...sip.Header) error {
	select {
	case r.slot <- struct{}{}:
	case <-l.done:
		return errLegEnded
	}
	r.mu.Lock()
	r.rseq++
	p := &pendingProvisional{rseq: r.rseq, cseq: l.dlg.InviteRequest.CSeq().SeqNo, acked: make(chan struct{})}
	r.pending = p
	r.mu.Unlock()
	res := sip.NewResponseFromRequest(l.dlg.InviteRequest, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Require", "100rel"))
	res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(p.rseq), 10)))
	if err := l.dlg.WriteResponse(res); err != nil {
		r.mu.Lock()
		r.pending = nil
		r.mu.Unlock()
		<-r.slot
		return err
	}
	go r.retransmit(l, res, p)
	return nil
}

// retransmit resends res until p is acknowledged, the leg ends or its
// final response went, or 64*T1 passed; then the INVITE gets 500.
func (r *reliableProvisionals) retransmit(l *InboundLeg, res *sip.Response, p *pendingProvisional) {
	defer func() { <-r.slot }()
	limit := 64 * r.t1
	interval, elapsed := r.t1, time.Duration(0)
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-p.acked:
			return
		case <-l.done:
			return
		case <-timer.C:
		}
		elapsed += interval
		if elapsed >= limit {
			break
		}
		if err := l.tx.Respond(res); err != nil {
			return
		}
		interval = min(2*interval, limit-elapsed)
		timer.Reset(interval)
	}
	select {
	case <-p.acked:
		return
	default:
	}
	l.s.log.Info("caller never acknowledged a reliable provisional response; rejecting the call",
		"sip_call_id", l.CallID(), "rseq", p.rseq)
	l.swapCause(prackTimeoutCause)
	_ = l.Reject(500, "Provisional Response Not Acknowledged")
}

// ack takes a PRACK's RAck: it reports whether it names the pending
// provisional response (which is then acknowledged) or the last one
// acknowledged (a repeated PRACK).
func (r *reliableProvisionals) ack(rseq, cseq uint32, method string) bool {
	if !strings.EqualFold(method, string(sip.INVITE)) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.pending; p != nil && p.rseq == rseq && p.cseq == cseq {
		close(p.acked)
		r.pending, r.lastAcked = nil, rseq
		return true
	}
	return r.lastAcked != 0 && r.lastAcked == rseq
}

// awaitAcked waits until no reliable provisional response of l awaits its
// PRACK: a 2xx must not go before one whose SDP is unacknowledged.
func (r *reliableProvisionals) awaitAcked(l *InboundLeg) error {
	r.mu.Lock()
	p := r.pending
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.acked:
		return nil
	case <-l.done:
		return errLegEnded
	}
}

// parseRAck reads a RAck value: "response-num CSeq-num Method".
func parseRAck(v string) (rseq, cseq uint32, method string, err error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", fmt.Errorf("RAck %q: want three fields", v)
	}
	if rseq, err = parseDeltaSeconds(f[0]); err != nil {
		return 0, 0, "", fmt.Errorf("RAck %q: response number", v)
	}
	if cseq, err = parseDeltaSeconds(f[1]); err != nil {
		return 0, 0, "", fmt.Errorf("RAck %q: CSeq number", v)
	}
	if !isToken(f[2]) {
		return 0, 0, "", fmt.Errorf("RAck %q: method", v)
	}
	return rseq, cseq, f[2], nil
}

// handlePrack answers a PRACK: 200 when it acknowledges a reliable
// provisional response of one of our inbound legs, else 481.
func (s *Server) handlePrack(req *sip.Request, tx sip.ServerTransaction) {
	leg := s.inboundOf(req)
	v, _ := headerValue(req, "RAck")
	rseq, cseq, method, err := parseRAck(v)
	if leg == nil || leg.rel == nil || err != nil || !leg.rel.ack(rseq, cseq, method) {
		s.refuse(req, reasonNoDialog)
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(tx, req, 200, "OK")
}

// provisionalTracker follows the provisional responses to one outbound
// INVITE: it PRACKs reliable ones once each and hands early media on. It
// is used only by the goroutine that waits for the answer.
type provisionalTracker struct {
	reliableSeen bool
	lastRSeq     uint32
	pracks       uint32 // PRACKs sent: the next one's CSeq is the INVITE's plus one more
	lastSDP      []byte
	early        *earlyMedia // nil: nobody listens
}

// newDialog forgets the reliable responses of a previous INVITE: RSeq
// numbers are counted per dialog.
func (p *provisionalTracker) newDialog() { p.reliableSeen, p.lastRSeq, p.pracks = false, 0, 0 }

// take handles one provisional response (not 100) on dlg and reports
// whether it is new (not a retransmission of a reliable one). It runs in
// WaitAnswer's OnResponse, where dlg may be used.
func (p *provisionalTracker) take(ctx context.Context, s *Server, dlg *sipgo.DialogClientSession, res *sip.Response) bool {
	if hasOptionTag(res, "100rel", "Require") {
		v, _ := headerValue(res, "RSeq")
		rseq, err := parseDeltaSeconds(v)
		if err != nil {
			return false // unusable: RFC 3262 §4 says to discard it
		}
		if p.reliableSeen && rseq <= p.lastRSeq {
			return false
		}
		p.reliableSeen, p.lastRSeq = true, rseq
		p.pracks++
		s.sendPrack(ctx, dlg, res, rseq, dlg.InviteRequest.CSeq().SeqNo+p.pracks)
	}
	if body := res.Body(); len(body) > 0 && string(body) != string(p.lastSDP) {
		p.lastSDP = body
		if p.early != nil {
			p.early.push(body)
		}
	}
	return true
}

// sendPrack acknowledges the reliable provisional response res with a
// PRACK of CSeq seq. It is built here rather than through the dialog:
// sipgo's dialog would give the ACK of the 2xx the CSeq of the last
// request sent (the PRACK) instead of the INVITE's. Its answer is awaited
// on a goroutine of its own.
func (s *Server) sendPrack(ctx context.Context, dlg *sipgo.DialogClientSession, res *sip.Response, rseq, seq uint32) {
	inv := dlg.InviteRequest
	target := inv.Recipient
	if c := res.Contact(); c != nil {
		target = c.Address
	}
	prack := sip.NewRequest(sip.PRACK, target)
	prack.AppendHeader(sip.HeaderClone(inv.From()))
	prack.AppendHeader(sip.HeaderClone(res.To()))
	prack.AppendHeader(sip.HeaderClone(inv.CallID()))
	prack.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.PRACK})
	mf := sip.MaxForwardsHeader(70)
	prack.AppendHeader(&mf)
	prack.AppendHeader(sip.HeaderClone(s.contactFor(s.trunkTransport())))
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		prack.AppendHeader(sip.NewHeader("Route", rrs[i].Value()))
	}
	if r := prack.Route(); r != nil {
		prack.SetDestination(r.Address.HostPort())
	} else {
		prack.SetDestination(inv.Destination())
	}
	prack.AppendHeader(sip.NewHeader("RAck", fmt.Sprintf("%d %d %s", rseq, inv.CSeq().SeqNo, inv.CSeq().MethodName)))
	prack.SetTransport(inv.Transport())
	prack.SetBody(nil)
	tx, err := dlg.UA.Client.TransactionRequest(ctx, prack, sipgo.ClientRequestAddVia)
	if err != nil {
		s.log.Debug("PRACK failed", "sip_call_id", callID(inv), "err", err)
		return
	}
	go func() {
		defer tx.Terminate()
		for {
			select {
			case r := <-tx.Responses():
				if r.IsProvisional() {
					continue
				}
				if !r.IsSuccess() {
					s.log.Debug("PRACK refused", "sip_call_id", callID(inv), "status", r.StatusCode)
				}
				return
			case <-tx.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}

// earlyMedia hands the far end's early session descriptions to the dial's
// OnEarlyMedia, in order, on a goroutine of its own so that a slow
// callback never holds up the dial. queue and closed are guarded by mu.
type earlyMedia struct {
	fn   func(sdp []byte)
	wake chan struct{}

	mu     sync.Mutex
	queue  [][]byte
	closed bool
}

// newEarlyMedia starts the goroutine that calls fn; close stops it once
// what was pushed has been delivered.
func newEarlyMedia(fn func(sdp []byte)) *earlyMedia {
	e := &earlyMedia{fn: fn, wake: make(chan struct{}, 1)}
	go e.run()
	return e
}

func (e *earlyMedia) push(sdp []byte) {
	e.mu.Lock()
	e.queue = append(e.queue, sdp)
	e.mu.Unlock()
	e.signal()
}

func (e *earlyMedia) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.signal()
}

func (e *earlyMedia) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *earlyMedia) run() {
	for range e.wake {
		e.mu.Lock()
		batch, closed := e.queue, e.closed
		e.queue = nil
		e.mu.Unlock()
		for _, sdp := range batch {
			e.fn(sdp)
		}
		if closed {
			e.mu.Lock()
			empty := len(e.queue) == 0
			e.mu.Unlock()
			if empty {
				return
			}
		}
	}
}
