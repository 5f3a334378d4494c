package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/recorder"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// supportedCodecs are the audio codecs callrec speaks, in our preference.
var supportedCodecs = []string{"PCMU", "PCMA"}

// leg is one participant of a call.
type leg struct {
	tag       string
	direction string
	from, to  string
	start     time.Time
	in        *sip.InboundLeg
	out       *sip.OutboundLeg
	st        *stream.Stream
	local     sdp.Local

	mu        sync.Mutex
	collect   chan byte      // digits for a running PlayAudioAndGetDigits
	armed     *regexp.Regexp // ReceiveDigits filter
	early     bool           // 183 sent
	gone      bool           // hung up (reported or by us)
	connected bool
}

func (l *leg) done() <-chan struct{} {
	if l.in != nil {
		return l.in.Done()
	}
	return l.out.Done()
}

func (l *leg) callID() string {
	if l.in != nil {
		return l.in.CallID()
	}
	return l.out.CallID()
}

func (l *leg) isGone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gone
}

// call is one transaction: LEG-A and, once bridged, LEG-B.
type call struct {
	e   *Engine
	id  string
	log *slog.Logger
	ctx context.Context

	legs    map[string]*leg
	attrs   map[string]string
	seq     int
	hangups chan *leg
	digits  chan callflow.Event

	rec      *recorder.Recorder
	recOwner string
	bridged  bool
	// stoppedEarly: the owner stopped the recording; it is already stored.
	stoppedEarly bool
	maxTimer     *time.Timer
	causeMu      sync.Mutex // endCause is also set by the max_call_seconds timer
	endCause     string
	sipStatus    int
	record       store.Call
	recordMu     sync.Mutex
	cancelCall   context.CancelFunc
}

func newCall(e *Engine, in *sip.InboundLeg) *call {
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(e.ctx)
	c := &call{
		e:          e,
		id:         id,
		log:        e.log.With("call_id", id),
		ctx:        ctx,
		cancelCall: cancel,
		legs:       map[string]*leg{},
		attrs:      map[string]string{},
		hangups:    make(chan *leg, 4),
		digits:     make(chan callflow.Event, 32),
	}
	a := &leg{
		tag:       callflow.LegA,
		direction: callflow.DirectionInbound,
		from:      normaliseCaller(in.From()),
		to:        normaliseCaller(in.To()),
		start:     time.Now(),
		in:        in,
		connected: true,
	}
	c.legs[callflow.LegA] = a
	return c
}

func (c *call) run() {
	defer c.cancelCall()
	a := c.legs[callflow.LegA]
	c.log.Info("new inbound call", "from", a.from, "to", a.to, "source", a.in.Source(), "sip_call_id", a.in.CallID())
	now := time.Now().UTC()
	c.record = store.Call{
		ID:             c.id,
		Direction:      callflow.CallInbound,
		OwnerNumber:    c.e.cfg.OwnerNumber,
		ServiceNumber:  c.e.cfg.ServiceNumber,
		Party:          a.from,
		StartedAt:      now,
		Status:         store.StatusActive,
		RecordingState: store.RecordingNone,
	}
	if err := c.e.cfg.Store.InsertCall(c.ctx, &c.record); err != nil {
		c.log.Error("call record not saved; refusing call", "err", err)
		_ = a.in.Reject(503, "Service Unavailable")
		return
	}
	if err := c.setupInboundMedia(a); err != nil {
		var nc *codecError
		code := 503
		if errors.As(err, &nc) {
			code = 488
		}
		c.log.Warn("inbound call refused", "err", err, "sip_status", code)
		_ = a.in.Reject(code, "")
		c.setCause(err.Error(), true)
		c.sipStatus = code
		c.finish(store.StatusFailed)
		return
	}
	defer c.releaseMedia()
	c.watch(a)

	ev := c.event(callflow.NewInboundCall, nil)
	for {
		resp := c.e.cfg.Handler.Handle(ev)
		if resp.TransactionAttributes != nil {
			c.attrs = resp.TransactionAttributes
		}
		c.syncRecordFromAttrs()
		if c.allGone() {
			break
		}
		next, ok := c.execute(resp.Actions)
		if !ok {
			break
		}
		ev = next
	}
	c.hangupAll(0)
	status := store.StatusCompleted
	if !c.bridged {
		switch c.attrs[callflow.AttrOutcome] {
		case callflow.OutcomeRejectedPIN, callflow.OutcomeInvalidNumber, callflow.OutcomeDestinationNotAllowed, callflow.OutcomeNoDigits:
			status = store.StatusRejected
		case callflow.OutcomeUnavailable, callflow.OutcomeError:
			status = store.StatusFailed
		default:
			status = store.StatusUnanswered
		}
	}
	c.finish(status)
}

// setCause records why the call ended; unless force, only the first
// cause counts.
func (c *call) setCause(cause string, force bool) {
	c.causeMu.Lock()
	defer c.causeMu.Unlock()
	if force || c.endCause == "" {
		c.endCause = cause
	}
}

func (c *call) cause() string {
	c.causeMu.Lock()
	defer c.causeMu.Unlock()
	return c.endCause
}

// codecError marks an offer without a codec in common (488).
type codecError struct{ err error }

func (e *codecError) Error() string { return e.err.Error() }

func (c *call) setupInboundMedia(a *leg) error {
	offer, err := sdp.Parse(a.in.RemoteSDP())
	if err != nil {
		return &codecError{fmt.Errorf("SDP offer: %w", err)}
	}
	sel, err := sdp.Negotiate(offer, supportedCodecs)
	if err != nil {
		return &codecError{fmt.Errorf("SDP offer: %w", err)}
	}
	conn, err := c.e.cfg.Ports.Listen()
	if err != nil {
		return err
	}
	a.st = stream.New(conn, c.log.With("leg", a.tag))
	params, err := streamParams(offer, sel)
	if err != nil {
		c.e.cfg.Ports.Release(conn)
		a.st = nil
		return &codecError{err}
	}
	a.st.SetParams(params)
	a.local = sdp.Local{
		SessionID:      rand.Uint64() >> 1,
		SessionVersion: 1,
		Address:        c.e.cfg.MediaAddress.String(),
		Port:           a.st.LocalPort(),
		Codecs:         []sdp.Codec{sel.Codec},
		TelephoneEvent: sel.TelephoneEvent,
		Direction:      "sendrecv",
	}
	c.startStream(a)
	a.in.SetReoffer(func(body []byte) ([]byte, error) { return c.reoffer(a, body) })
	return nil
}

func streamParams(d *sdp.Description, sel sdp.Selection) (stream.Params, error) {
	cd, ok := codec.ByName(sel.Codec.Name)
	if !ok {
		return stream.Params{}, fmt.Errorf("codec %s not supported", sel.Codec.Name)
	}
	addr, err := netip.ParseAddr(d.Address)
	if err != nil {
		return stream.Params{}, fmt.Errorf("SDP connection address %q: %w", d.Address, err)
	}
	if d.Direction == "inactive" || d.Direction == "sendonly" {
		// The peer does not want to receive: do not send to it.
		addr = netip.IPv4Unspecified()
	}
	return stream.Params{
		Remote:         netip.AddrPortFrom(addr, uint16(d.Port)),
		Codec:          cd,
		PayloadType:    sel.Codec.PayloadType,
		TelephoneEvent: sel.TelephoneEvent,
	}, nil
}

// reoffer answers a re-INVITE/UPDATE: follow the peer's new address and
// answer with our current description (same codec when still offered).
func (c *call) reoffer(l *leg, body []byte) ([]byte, error) {
	if len(body) > 0 {
		offer, err := sdp.Parse(body)
		if err != nil {
			return nil, err
		}
		sel, err := sdp.Negotiate(offer, supportedCodecs)
		if err != nil {
			return nil, err
		}
		params, err := streamParams(offer, sel)
		if err != nil {
			return nil, err
		}
		if l.in != nil {
			l.local.Codecs = []sdp.Codec{sel.Codec}
			l.local.TelephoneEvent = sel.TelephoneEvent
		} else {
			params.OfferedTelephoneEvent = offeredEventPT
		}
		l.st.SetParams(params)
	}
	l.local.SessionVersion++
	return sdp.Build(l.local)
}

func (c *call) startStream(l *leg) {
	st := l.st
	tag := l.tag
	st.SetHandlers(stream.Handlers{
		OnAudio: func(pcm []int16) { c.onAudio(tag, pcm) },
		OnDigit: func(d byte) { c.onDigit(l, d) },
	})
	go st.Run(c.ctx)
}

func (c *call) onAudio(tag string, pcm []int16) {
	c.recordMu.Lock()
	rec, owner := c.rec, c.recOwner
	c.recordMu.Unlock()
	if rec == nil {
		return
	}
	ch := 1
	if tag == owner {
		ch = 0
	}
	rec.Write(ch, pcm)
}

func (c *call) onDigit(l *leg, d byte) {
	l.mu.Lock()
	collect, armed := l.collect, l.armed
	l.mu.Unlock()
	c.log.Debug("digit received", "leg", l.tag, "digit", string(d))
	if collect != nil {
		select {
		case collect <- d:
		default:
		}
		return
	}
	if armed != nil && armed.MatchString(string(d)) {
		ev := c.event(callflow.DigitsReceived, &callflow.ActionData{
			Type:           callflow.ActionReceiveDigits,
			Parameters:     callflow.Parameters{CallID: l.callID(), ParticipantTag: l.tag},
			ReceivedDigits: string(d),
		})
		select {
		case c.digits <- ev:
		default:
			c.log.Warn("digit dropped: too many pending", "digit", string(d))
		}
	}
}

func (c *call) watch(l *leg) {
	go func() {
		select {
		case <-l.done():
			c.hangups <- l
		case <-c.ctx.Done():
		}
	}()
}

func (c *call) allGone() bool {
	for _, l := range c.legs {
		if !l.isGone() {
			return false
		}
	}
	return true
}

// event builds the next invocation.
func (c *call) event(t callflow.InvocationEventType, ad *callflow.ActionData) callflow.Event {
	c.recordMu.Lock()
	c.seq++
	seq := c.seq
	c.recordMu.Unlock()
	attrs := make(map[string]string, len(c.attrs))
	for k, v := range c.attrs {
		attrs[k] = v
	}
	return callflow.Event{
		SchemaVersion:       callflow.SchemaVersion,
		Sequence:            seq,
		InvocationEventType: t,
		CallDetails: callflow.CallDetails{
			TransactionID:         c.id,
			TransactionAttributes: attrs,
			Participants:          c.participants(),
		},
		ActionData: ad,
	}
}

func (c *call) participants() []callflow.Participant {
	var ps []callflow.Participant
	for _, tag := range []string{callflow.LegA, callflow.LegB} {
		l, ok := c.legs[tag]
		if !ok {
			continue
		}
		status := callflow.StatusConnected
		if l.isGone() {
			status = callflow.StatusDisconnected
		}
		p := callflow.Participant{
			CallID:                  l.callID(),
			ParticipantTag:          l.tag,
			To:                      l.to,
			From:                    l.from,
			Direction:               l.direction,
			StartTimeInMilliseconds: strconv.FormatInt(l.start.UnixMilli(), 10),
			Status:                  status,
		}
		if l.in != nil {
			p.SourceAddress = l.in.Source()
		}
		ps = append(ps, p)
	}
	return ps
}

// execute runs actions in order. It returns the next event for the handler,
// or false when the call is over.
func (c *call) execute(actions []callflow.Action) (callflow.Event, bool) {
	if len(actions) == 0 {
		return c.wait()
	}
	var last *callflow.ActionData
	for _, a := range actions {
		actx, cancel := context.WithCancel(c.ctx)
		resc := make(chan actionResult, 1)
		go func() { resc <- c.runAction(actx, a) }()
		var res actionResult
		select {
		case res = <-resc:
		case l := <-c.hangups:
			cancel()
			<-resc
			if ev, ok := c.hangupEvent(l); ok {
				return ev, true
			}
			return c.wait()
		case <-c.ctx.Done():
			cancel()
			<-resc
			c.setCause("callrec shut down", true)
			return callflow.Event{}, false
		}
		cancel()
		if res.data.ErrorType != "" {
			c.log.Info("action failed", "action", a.Type, "error_type", res.data.ErrorType, "error", res.data.ErrorMessage)
			return c.event(callflow.ActionFailed, &res.data), true
		}
		last = &res.data
	}
	return c.event(callflow.ActionSuccessful, last), true
}

// wait blocks for the next asynchronous event.
func (c *call) wait() (callflow.Event, bool) {
	for {
		if c.allGone() {
			return callflow.Event{}, false
		}
		select {
		case l := <-c.hangups:
			if ev, ok := c.hangupEvent(l); ok {
				return ev, true
			}
		case ev := <-c.digits:
			ev.CallDetails.TransactionAttributes = c.event("", nil).CallDetails.TransactionAttributes
			return ev, true
		case <-c.ctx.Done():
			c.setCause("callrec shut down", true)
			return callflow.Event{}, false
		}
	}
}

// hangupEvent marks a leg gone and builds the HANGUP event (false when we
// had already hung that leg up ourselves).
func (c *call) hangupEvent(l *leg) (callflow.Event, bool) {
	l.mu.Lock()
	already := l.gone
	l.gone = true
	l.mu.Unlock()
	if already {
		return callflow.Event{}, false
	}
	who := "other party"
	if l.tag == c.attrs[callflow.AttrOwnerTag] {
		who = "owner"
	}
	cause := who + " hung up"
	if l.in != nil && l.in.Cancelled() {
		cause = who + " cancelled"
	}
	c.setCause(cause, false)
	c.log.Info("leg hung up", "leg", l.tag, "cause", cause)
	return c.event(callflow.Hangup, &callflow.ActionData{
		Type:       callflow.ActionHangup,
		Parameters: callflow.Parameters{CallID: l.callID(), ParticipantTag: l.tag},
	}), true
}

// hangupAll ends every leg still up (end of transaction or shutdown).
func (c *call) hangupAll(code int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, l := range c.legs {
		c.hangupLeg(ctx, l, code)
	}
}

func (c *call) hangupLeg(ctx context.Context, l *leg, code int) {
	l.mu.Lock()
	already := l.gone
	l.gone = true
	l.mu.Unlock()
	if already {
		return
	}
	var err error
	if l.in != nil {
		if code == 0 && !l.in.Answered() {
			code = 480
		}
		err = l.in.Hangup(ctx, code)
	} else {
		err = l.out.Hangup(ctx, code)
	}
	if err != nil {
		c.log.Debug("hangup", "leg", l.tag, "err", err)
	}
}

func (c *call) releaseMedia() {
	for _, l := range c.legs {
		if l.st != nil {
			st := &l.st.Stats
			c.log.Info("media", "leg", l.tag, "received", st.Received.Load(), "lost", st.Lost.Load(),
				"sent", st.Sent.Load(), "foreign_dropped", st.Foreign.Load(), "invalid_dropped", st.Invalid.Load())
			l.st.Close()
			<-l.st.Done()
			c.e.cfg.Ports.Release(l.st.Conn())
		}
	}
	if c.maxTimer != nil {
		c.maxTimer.Stop()
	}
}

func (c *call) syncRecordFromAttrs() {
	if d := c.attrs[callflow.AttrDirection]; d != "" {
		c.record.Direction = d
	}
	if p := c.attrs[callflow.AttrParty]; p != "" {
		c.record.Party = p
	} else if c.record.Direction == callflow.CallOutbound {
		c.record.Party = ""
	}
}

// finish stops the recording, stores it and closes the call record.
func (c *call) finish(status string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	c.recordMu.Lock()
	rec := c.rec
	c.rec = nil
	c.recordMu.Unlock()
	r := &c.record
	r.EndedAt = &now
	r.Status = status
	if r.HangupCause == "" {
		r.HangupCause = c.cause()
	}
	if o := c.attrs[callflow.AttrOutcome]; o != "" && !c.bridged {
		r.HangupCause = o
	}
	if c.sipStatus != 0 {
		r.SIPStatus = c.sipStatus
	}
	if rec != nil {
		res, err := rec.Stop(r.RecordingState == store.RecordingStopped)
		c.applyPauses(res.Pauses)
		r.RecordingDurationMS = res.Duration.Milliseconds()
		if err != nil {
			c.log.Error("recording incomplete", "err", err)
		}
		if r.RecordingState != store.RecordingStopped {
			r.RecordingState = store.RecordingComplete
		}
		if err := c.e.cfg.Blob.PutFile(ctx, r.RecordingKey, res.Path); err != nil {
			c.log.Error("storing recording failed; it stays in the spool directory and is retried at start-up", "path", res.Path, "err", err)
			r.Status = store.StatusActive // so Recover picks it up
		} else {
			c.log.Info("recording stored", "key", r.RecordingKey, "duration", res.Duration)
		}
	}
	recorded := (rec != nil || c.stoppedEarly) && r.Status != store.StatusActive
	if err := c.e.saveFinal(ctx, r, recorded); err != nil {
		c.log.Error("call record not updated", "err", err)
	}
	c.log.Info("call ended", "status", r.Status, "cause", r.HangupCause, "direction", r.Direction, "party", r.Party)
	var rx, lost, tx uint64
	for _, l := range c.legs {
		if l.st != nil {
			rx += l.st.Stats.Received.Load()
			lost += l.st.Stats.Lost.Load()
			tx += l.st.Stats.Sent.Load()
		}
	}
	c.e.cfg.Metrics.CallEnded(r.Status)
	c.e.cfg.Metrics.RTP(rx, lost, tx)
}

func (c *call) applyPauses(ps []recorder.Span) {
	c.record.Pauses = c.record.Pauses[:0]
	for _, p := range ps {
		s := store.Span{Start: p.Start.UTC()}
		if !p.End.IsZero() {
			e := p.End.UTC()
			s.End = &e
		}
		c.record.Pauses = append(c.record.Pauses, s)
	}
}

func (c *call) saveRecord() {
	if err := c.e.cfg.Store.UpdateCall(c.ctx, &c.record); err != nil {
		c.log.Warn("call record not updated", "err", err)
	}
}

func (c *call) spoolPath() string {
	return filepath.Join(c.e.cfg.SpoolDir, c.id+".wav")
}

func (c *call) recordingKey() string {
	return calls.RecordingKey(c.id, c.record.StartedAt)
}
