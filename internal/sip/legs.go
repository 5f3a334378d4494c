package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// InboundLeg is a call that arrived from the trunk.
type InboundLeg struct {
	s   *Server
	req *sip.Request
	tx  sip.ServerTransaction // the INVITE's
	dlg *sipgo.DialogServerSession

	final     chan struct{}
	finalOnce sync.Once

	// done is closed when the dialog ends, or when a CANCEL that crossed
	// our 200 OK left the call unanswered (sipgo then never ends the
	// dialog, as it had already marked it established).
	done     chan struct{}
	doneOnce sync.Once

	reofferSlot
	sessionState
	// rel sends provisional responses reliably; nil when the caller does
	// not support 100rel.
	rel *reliableProvisionals

	mu        sync.Mutex
	answered  bool
	cancelled bool // CANCEL won against Answer
	cause     string
}

// reofferSlot holds the function that answers in-dialog offers
// (re-INVITE, UPDATE) with our current session description.
type reofferSlot struct {
	mu sync.Mutex
	fn func(offer []byte) ([]byte, error)
}

// SetReoffer installs the function that answers in-dialog offers.
func (r *reofferSlot) SetReoffer(f func(offer []byte) ([]byte, error)) {
	r.mu.Lock()
	r.fn = f
	r.mu.Unlock()
}

func (r *reofferSlot) onReoffer(offer []byte) ([]byte, error) {
	r.mu.Lock()
	f := r.fn
	r.mu.Unlock()
	if f == nil {
		return nil, errors.New("no media session")
	}
	return f(offer)
}

func newInboundLeg(s *Server, req *sip.Request, tx sip.ServerTransaction, dlg *sipgo.DialogServerSession) *InboundLeg {
	l := &InboundLeg{s: s, req: req, tx: tx, dlg: dlg, final: make(chan struct{}), done: make(chan struct{})}
	l.terms = s.inboundTerms(req)
	if supports(req, "100rel") {
		l.rel = newReliableProvisionals(req, s.cfg.timing.t1)
	}
	context.AfterFunc(dlg.Context(), l.end)
	return l
}

func (l *InboundLeg) end() { l.doneOnce.Do(func() { close(l.done) }) }

// CallID is the SIP Call-ID of the leg.
func (l *InboundLeg) CallID() string { return callID(l.req) }

// From is the user part of the caller's From URI (the caller ID).
func (l *InboundLeg) From() string {
	if pai := l.req.GetHeader("P-Asserted-Identity"); pai != nil {
		var u sip.Uri
		v := pai.Value()
		if i, j := indexByte(v, '<'), indexByte(v, '>'); i >= 0 && j > i {
			v = v[i+1 : j]
		}
		if err := sip.ParseUri(v, &u); err == nil {
			if u.User != "" {
				return u.User
			}
			// tel: URIs (RFC 3966), common in P-Asserted-Identity, keep
			// the number as the scheme-specific part.
			if n, _, _ := strings.Cut(u.Raw(), ";"); u.Scheme == "tel" && n != "" {
				return n
			}
		}
	}
	return l.req.From().Address.User
}

// DisplayName is the caller's name as sent (P-Asserted-Identity's display
// name, else From's), unquoted but not cleaned: it may hold anything.
func (l *InboundLeg) DisplayName() string {
	if pai := l.req.GetHeader("P-Asserted-Identity"); pai != nil {
		v := strings.TrimSpace(pai.Value())
		if i := indexByte(v, '<'); i > 0 {
			if name := strings.Trim(strings.TrimSpace(v[:i]), `"`); name != "" {
				return name
			}
		}
	}
	if f := l.req.From(); f != nil {
		return f.DisplayName
	}
	return ""
}

// To is the dialled number: the Request-URI's user part, else To's.
func (l *InboundLeg) To() string {
	if u := l.req.Recipient.User; u != "" {
		return u
	}
	return l.req.To().Address.User
}

// Source is the signalling source address (ip:port).
func (l *InboundLeg) Source() string { return l.req.Source() }

// RemoteSDP is the SDP offer of the INVITE (may be empty).
func (l *InboundLeg) RemoteSDP() []byte { return l.req.Body() }

// Ringing sends 180 Ringing, reliably when the caller requires 100rel.
func (l *InboundLeg) Ringing() error {
	if l.rel != nil && l.rel.required {
		return l.rel.send(l, 180, "Ringing", nil)
	}
	return l.dlg.Respond(180, "Ringing", nil)
}

// Progress sends 183 Session Progress with an SDP answer (early media).
// To a caller that supports 100rel it goes reliably (RFC 3262): Progress
// first waits for the PRACK of the previous one, and a caller that never
// acknowledges it gets 500 and the leg ends.
func (l *InboundLeg) Progress(sdp []byte) error {
	if l.rel != nil {
		return l.rel.send(l, 183, "Session Progress", sdp, sip.NewHeader("Content-Type", "application/sdp"))
	}
	return l.dlg.Respond(183, "Session Progress", sdp, sip.NewHeader("Content-Type", "application/sdp"))
}

// Answer sends 200 OK with the SDP answer and waits for the ACK. It waits
// first for the PRACK of a reliable provisional response still
// unacknowledged. The 200 carries the session timer agreed (RFC 4028).
func (l *InboundLeg) Answer(sdp []byte) error {
	if l.rel != nil {
		if err := l.rel.awaitAcked(l); err != nil {
			return fmt.Errorf("answer: %w", err)
		}
	}
	l.mu.Lock()
	if l.answered {
		l.mu.Unlock()
		return nil
	}
	l.answered = true
	l.mu.Unlock()
	// Only now may the INVITE handler return: sipgo terminates the INVITE
	// transaction when it does, which would end a dialog not yet
	// established.
	defer l.finalOnce.Do(func() { close(l.final) })
	if err := l.respondAnswer(sdp); err != nil {
		if errors.Is(err, sip.ErrTransactionCanceled) {
			// The caller's CANCEL was taken after sipgo marked the dialog
			// established but before the 200 went out: the caller got
			// 487, and the dialog will never end by itself.
			l.mu.Lock()
			l.answered, l.cancelled = false, true
			l.mu.Unlock()
			l.end()
		}
		return fmt.Errorf("answer: %w", err)
	}
	l.startSession(sdp)
	return nil
}

// Answered reports whether a 200 OK was sent.
func (l *InboundLeg) Answered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// Reject sends a final error response (the leg was never answered) and
// returns at once: the leg is over (Done is closed) when the response is
// sent. It goes through the INVITE's transaction, which absorbs the ACK
// and retransmits the response to a caller that sends none; nothing waits
// for that (sipgo's dialog would, up to 32 s, holding the call).
func (l *InboundLeg) Reject(code int, reason string) error {
	if reason == "" {
		reason = statusText(code)
		if reason == "" {
			reason = "Call Rejected"
		}
	}
	defer l.end()
	defer l.finalOnce.Do(func() { close(l.final) })
	select {
	case <-l.tx.Done():
		// Cancelled (the caller got 487) or otherwise over.
		return l.tx.Err()
	default:
	}
	// The dialog's INVITE carries our To tag, as did any 18x before.
	res := sip.NewResponseFromRequest(l.dlg.InviteRequest, code, reason, nil)
	return l.tx.Respond(res)
}

// Hangup ends the leg: BYE (with a Reason header carrying code) when it
// was answered, else a final error response with code.
func (l *InboundLeg) Hangup(ctx context.Context, code int) error {
	select {
	case <-l.done:
		return nil
	default:
	}
	if !l.Answered() {
		if code < 300 {
			code = 480
		}
		return l.Reject(code, "")
	}
	cont := l.req.Contact()
	bye := sip.NewRequest(sip.BYE, cont.Address)
	bye.SetTransport(l.req.Transport())
	if dest := l.s.inDialogDestination(cont.Address, l.req.Source(), l.req.Transport()); dest != "" {
		bye.SetDestination(dest) // nat.go
	}
	if code >= 300 {
		bye.AppendHeader(reasonHeader(code))
	}
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	return l.dlg.WriteBye(ctx, bye)
}

// Done is closed when the leg has ended (BYE, CANCEL, final response).
func (l *InboundLeg) Done() <-chan struct{} { return l.done }

// Cancelled reports whether the caller cancelled before an answer.
func (l *InboundLeg) Cancelled() bool {
	l.mu.Lock()
	c := l.cancelled
	l.mu.Unlock()
	return c || errors.Is(context.Cause(l.dlg.Context()), sip.ErrTransactionCanceled)
}

// Cause is the BYE Reason header value the remote side gave, if any, or
// the Reason of callrec's own end of the leg: a session timer that ran
// out, a PRACK that never came.
func (l *InboundLeg) Cause() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// swapCause sets the cause and returns the one it replaces.
func (l *InboundLeg) swapCause(c string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := l.cause
	l.cause = c
	return prev
}

// DialRequest describes an outbound call through the trunk.
type DialRequest struct {
	// To is the destination in E.164 ("+" and digits).
	To string
	// CallerID is the number shown to the called party (E.164).
	CallerID string
	// SDP is our offer.
	SDP []byte
	// Timeout is how long the far end may ring.
	Timeout time.Duration
	// OnProgress is called for provisional responses (180, 183...), once
	// each (a reliable one's retransmissions are not passed on).
	OnProgress func(code int, sdp []byte)
	// OnEarlyMedia is called with the SDP of each 180/183 whose body
	// differs from the previous one (reliable or not): the far end's
	// early media (ringback, announcements) to play to our caller before
	// the answer. It runs on a goroutine of its own, in order, and never
	// holds up Dial. The answer's SDP (the leg's RemoteSDP) may differ
	// from the last early one.
	OnEarlyMedia func(sdp []byte)
}

// DialError is why an outbound call did not connect.
type DialError struct {
	// Code is the final SIP status (408 for a ring timeout, 487 when we
	// cancelled because the caller went away, 503 for transport errors).
	Code int
	// Reason is the response's reason phrase or the error text.
	Reason string
	// Cancelled is true when the dial was abandoned by our side.
	Cancelled bool
	// Timeout is true when nobody answered in time.
	Timeout bool
}

func (e *DialError) Error() string {
	return fmt.Sprintf("dial failed: %d %s", e.Code, e.Reason)
}

// OutboundLeg is an answered call placed through the trunk.
type OutboundLeg struct {
	s   *Server
	dlg *sipgo.DialogClientSession

	reofferSlot
	sessionState

	mu    sync.Mutex
	cause string
	done  chan struct{}
	once  sync.Once
}

var errRingTimeout = errors.New("ring timeout")

// Dial places a call through the trunk and waits for an answer, the ring
// timeout or ctx (cancelled when the caller hangs up), sending CANCEL when
// it gives up. It PRACKs reliable provisional responses and offers a
// session timer, retrying once with the larger Min-SE a 422 asks for. The
// returned leg is answered and acknowledged.
func (s *Server) Dial(ctx context.Context, r DialRequest) (*OutboundLeg, error) {
	host, portStr, err := net.SplitHostPort(s.cfg.TrunkAddress)
	if err != nil {
		return nil, &DialError{Code: 503, Reason: "bad trunk.address: " + err.Error()}
	}
	domain := s.cfg.TrunkDomain
	port := 0
	if domain == "" || domain == host {
		domain = host
		port, _ = strconv.Atoi(portStr)
	}
	if !validNumber(r.To) || !validNumber(r.CallerID) {
		return nil, &DialError{Code: 484, Reason: "Address Incomplete"}
	}
	// Its answer, and its requests in the dialog, come from where the
	// trunk's name points now.
	s.resolveTrunk(ctx)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, errRingTimeout)
	defer cancel()
	tracker := &provisionalTracker{}
	if r.OnEarlyMedia != nil {
		tracker.early = newEarlyMedia(r.OnEarlyMedia)
		defer tracker.early.close()
	}
	se, minSE := s.sessionSeconds()
	var dlg *sipgo.DialogClientSession
	for retried := false; ; retried = true {
		recipient := sip.Uri{Scheme: "sip", User: r.To, Host: domain, Port: port, UriParams: sip.NewParams()}
		recipient.UriParams.Add("user", "phone")
		req := sip.NewRequest(sip.INVITE, recipient)
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: r.CallerID, Host: domain}, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(16))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: r.To, Host: domain}, Params: sip.NewParams()})
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<sip:"+r.CallerID+"@"+domain+">"))
		transport := s.trunkTransport()
		req.AppendHeader(sip.HeaderClone(s.contactFor(transport)))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.AppendHeader(sip.NewHeader("Allow", allowMethods))
		req.AppendHeader(sip.NewHeader("Supported", supportedExtensions))
		req.AppendHeader(sip.NewHeader("Session-Expires", strconv.FormatUint(uint64(se), 10)))
		req.AppendHeader(sip.NewHeader("Min-SE", strconv.FormatUint(uint64(minSE), 10)))
		req.SetBody(r.SDP)
		req.SetDestination(s.cfg.TrunkAddress)
		req.SetTransport(transport)

		dlg, err = s.dialogFor(transport).WriteInvite(ctx, req)
		if err != nil {
			return nil, &DialError{Code: 503, Reason: "trunk unreachable: " + err.Error()}
		}
		err = dlg.WaitAnswer(wctx, sipgo.AnswerOptions{
			Username: s.cfg.Username,
			Password: s.cfg.Password,
			OnResponse: func(res *sip.Response) error {
				if res.IsProvisional() && res.StatusCode != 100 && tracker.take(ctx, s, dlg, res) && r.OnProgress != nil {
					r.OnProgress(res.StatusCode, res.Body())
				}
				return nil
			},
		})
		if larger, ok := retryMinSE(err, minSE); ok && !retried {
			se, minSE = max(se, larger), larger
			tracker.newDialog()
			continue
		}
		break
	}
	if err != nil {
		var resp *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &resp):
			return nil, &DialError{Code: resp.Res.StatusCode, Reason: resp.Res.Reason}
		case errors.Is(context.Cause(wctx), errRingTimeout):
			return nil, &DialError{Code: 408, Reason: "No Answer", Timeout: true}
		case ctx.Err() != nil:
			return nil, &DialError{Code: 487, Reason: "Request Terminated", Cancelled: true}
		default:
			return nil, &DialError{Code: 503, Reason: err.Error()}
		}
	}
	routeToSource(dlg) // a far end behind NAT (nat.go)
	leg := &OutboundLeg{s: s, dlg: dlg, done: make(chan struct{})}
	s.mu.Lock()
	s.outbnd[dlg.ID] = leg
	s.mu.Unlock()
	go func() {
		<-dlg.Context().Done()
		leg.markEnded("")
	}()
	if err := dlg.Ack(ctx); err != nil {
		leg.markEnded("ack failed")
		return nil, &DialError{Code: 503, Reason: "ACK failed: " + err.Error()}
	}
	leg.startSession(r.SDP)
	return leg, nil
}

func validNumber(n string) bool {
	if len(n) < 2 || len(n) > 16 || n[0] != '+' {
		return false
	}
	for _, c := range n[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RemoteSDP is the far end's SDP answer.
func (l *OutboundLeg) RemoteSDP() []byte { return l.dlg.InviteResponse.Body() }

// Source is where the far end's answer came from (ip:port).
func (l *OutboundLeg) Source() string { return l.dlg.InviteResponse.Source() }

// Ringing does nothing: an outbound leg is answered by the far end.
func (l *OutboundLeg) Ringing() error { return nil }

// Progress does nothing: an outbound leg is answered by the far end.
func (l *OutboundLeg) Progress([]byte) error { return nil }

// Answer does nothing: an outbound leg is answered when Dial returns it.
func (l *OutboundLeg) Answer([]byte) error { return nil }

// Answered is always true: Dial returns only answered legs.
func (l *OutboundLeg) Answered() bool { return true }

// Cancelled is always false: only a caller cancels, and we are the caller.
func (l *OutboundLeg) Cancelled() bool { return false }

// CallID is the SIP Call-ID of the leg.
func (l *OutboundLeg) CallID() string { return callID(l.dlg.InviteRequest) }

// Done is closed when the leg has ended.
func (l *OutboundLeg) Done() <-chan struct{} { return l.done }

// Cause is the BYE Reason the far end gave, if any, or the Reason of
// callrec's own end of the leg (a session timer that ran out or whose
// refresh failed).
func (l *OutboundLeg) Cause() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// setCause records a non-empty cause of the leg's end.
func (l *OutboundLeg) setCause(cause string) {
	if cause == "" {
		return
	}
	l.mu.Lock()
	l.cause = cause
	l.mu.Unlock()
}

func (l *OutboundLeg) markEnded(cause string) {
	l.once.Do(func() {
		l.mu.Lock()
		if cause != "" {
			l.cause = cause
		}
		l.mu.Unlock()
		l.s.mu.Lock()
		delete(l.s.outbnd, l.dlg.ID)
		l.s.mu.Unlock()
		close(l.done)
	})
}

// Hangup sends BYE (with a Reason header when code >= 300).
func (l *OutboundLeg) Hangup(ctx context.Context, code int) error {
	select {
	case <-l.done:
		return nil
	default:
	}
	defer l.markEnded("")
	target := l.dlg.InviteRequest.Recipient
	if c := l.dlg.InviteResponse.Contact(); c != nil {
		target = c.Address
	}
	bye := sip.NewRequest(sip.BYE, target)
	if code >= 300 {
		bye.AppendHeader(reasonHeader(code))
	}
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	return l.dlg.WriteBye(ctx, bye)
}

func reasonHeader(code int) sip.Header {
	text := statusText(code)
	return sip.NewHeader("Reason", fmt.Sprintf("SIP;cause=%d;text=%q", code, text))
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// statusText is the standard reason phrase for the statuses callrec sends.
func statusText(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 484:
		return "Address Incomplete"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return ""
}
