package runtime

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/calls"
	"github.com/callrec/callrec/internal/display"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/number"
	"github.com/callrec/callrec/internal/store"
)

// leg is one participant of a call, as the call's goroutine sees it.
type leg struct {
	tag       string // callflow.LegA or LegB
	direction string // callflow.DirectionInbound or Outbound
	from, to  string
	start     time.Time
	sig       Leg
	st        *stream.Stream
	// weOffered: the session description was our offer (LEG-B).
	weOffered bool
	local     sdp.Local
	// crypto is the leg's SRTP state, nil for plain RTP.
	crypto *legCrypto
	// running: the stream's Run goroutine is started.
	running bool
	// peerSends: the peer's description says it sends media (not on
	// hold); mediaSince is when that became so, and answeredSeen when
	// the media timeout first saw the leg answered: it counts from the
	// later of them and the last packet.
	peerSends    bool
	mediaSince   time.Time
	answeredSeen time.Time

	early   bool           // 183 sent
	gone    bool           // hung up (reported, or by us)
	collect chan byte      // digits for a running PlayAudioAndGetDigits
	armed   *regexp.Regexp // ReceiveDigits filter
}

// call is one transaction: LEG-A and, once bridged, LEG-B. Everything in
// it belongs to the goroutine that runs run: the legs' streams, the SIP
// stack, the recorder's clock and timers only send it messages (inbox),
// and the blocking work of an action runs on a goroutine of its own that
// hands its result back as a message, to be applied here.
type call struct {
	e     *Engine
	id    string
	log   *slog.Logger
	ctx   context.Context // set by run; ends on a hard shutdown, or when run returns
	inbox chan message
	// over is closed when run's loop has returned; senders stop waiting.
	over chan struct{}

	legs   map[string]*leg
	attrs  map[string]string
	seq    int
	record store.Call

	// queue holds the response's actions not started yet; current is the
	// one running, nil when none.
	queue   []callflow.Action
	current *running
	// events are DIGITS_RECEIVED waiting for the flow to be idle.
	events []callflow.Event
	// stopping: the call ends once the running action has returned.
	stopping bool

	caller caller
	// unrecorded: the call cannot be recorded (the disk is full); the
	// flow is told, and connects it without recording.
	unrecorded bool
	// inserted: the call record is in the store (its first write can
	// fail on a full disk; the final write then inserts it).
	inserted bool
	rec      *recording
	bridged  bool
	maxTimer *time.Timer
	// mediaTimer schedules the next mediaCheck.
	mediaTimer *time.Timer
	endCause   string
	sipStatus  int
	// background counts work started by the call that must end before
	// it finishes (hanging up legs).
	background []chan struct{}
}

// running is the action in progress.
type running struct {
	action callflow.Action
	cancel context.CancelFunc
	// interrupted: a leg hung up (or the call is ending) while it ran; its
	// result is applied but not reported to the flow.
	interrupted bool
	// last is the data of the response's previous successful action.
	last *callflow.ActionData
}

// message is what other goroutines send a call.
type message interface{}

type (
	// legGone: a leg's dialog ended.
	legGone struct{ l *leg }
	// digitIn: a leg's peer sent a digit; info: in a SIP INFO (the
	// streams forward RFC 4733 and in-band digits themselves; the call
	// forwards these).
	digitIn struct {
		l    *leg
		d    byte
		info bool
	}
	// mediaCheck: time to look for legs that stopped sending RTP.
	mediaCheck struct{}
	// actionDone: the running action's goroutine finished.
	actionDone struct{ res actionResult }
	// reofferIn: a peer's in-dialog offer waiting for our answer.
	reofferIn struct {
		l     *leg
		offer []byte
		reply chan reofferOut
	}
	// maxDuration: max_call_seconds passed since the bridge.
	maxDuration struct{ seconds int }
)

type reofferOut struct {
	answer []byte
	err    error
}

// inboxSize bounds the messages waiting for a call's goroutine.
const inboxSize = 64

// maxPendingEvents bounds the DIGITS_RECEIVED events waiting for the flow.
const maxPendingEvents = 32

func newCall(e *Engine, in Inbound) *call {
	id := uuid.NewString()
	c := &call{
		e:     e,
		id:    id,
		log:   e.log.With("call_id", id),
		inbox: make(chan message, inboxSize),
		over:  make(chan struct{}),
		legs:  map[string]*leg{},
		attrs: map[string]string{},
	}
	c.legs[callflow.LegA] = &leg{
		tag:       callflow.LegA,
		direction: callflow.DirectionInbound,
		from:      normaliseCaller(in.From()),
		to:        normaliseCaller(in.To()),
		start:     time.Now(),
		sig:       in,
	}
	c.caller = callerOf(c.legs[callflow.LegA].from, in.DisplayName())
	return c
}

// caller is who called, as the call record keeps it.
type caller struct {
	number, raw, name string
}

// maxRawCaller bounds what is kept of a caller ID that is not a number.
const maxRawCaller = 256

// callerOf normalises a caller ID and display name on the way in: a
// dialable number is kept as the party; anything else is kept, bounded,
// only as the raw value (the party is then unknown); the name is cleaned
// of control and bidirectional characters and bounded.
func callerOf(from, displayName string) caller {
	c := caller{name: display.OneLine(displayName, 64)}
	if number.Dialable(from) {
		c.number = from
		return c
	}
	raw := strings.ToValidUTF8(from, "\uFFFD")
	if len(raw) > maxRawCaller {
		raw = strings.ToValidUTF8(raw[:maxRawCaller], "") + "…"
	}
	c.raw = raw
	return c
}

// post sends the call a message, unless its loop is over.
func (c *call) post(m message) {
	select {
	case c.inbox <- m:
	case <-c.over:
	}
}

// tryPost sends the call a message unless its inbox is full (or its loop
// is over), and reports whether it did.
func (c *call) tryPost(m message) bool {
	select {
	case c.inbox <- m:
		return true
	default:
		return false
	}
}

// run takes the call from its INVITE to its end.
func (c *call) run() {
	ctx, cancel := context.WithCancel(c.e.ctx)
	c.ctx = ctx
	defer cancel()
	a := c.legs[callflow.LegA]
	c.log.Info("new inbound call", "from", c.caller.number, "from_raw", c.caller.raw, "to", a.to, "source", a.sig.Source(), "sip_call_id", a.sig.CallID())
	c.record = store.Call{
		ID:             c.id,
		Direction:      callflow.CallInbound,
		OwnerNumber:    c.e.cfg.OwnerNumber,
		ServiceNumber:  c.e.cfg.ServiceNumber,
		Party:          c.caller.number,
		PartyRaw:       c.caller.raw,
		PartyName:      c.caller.name,
		StartedAt:      time.Now().UTC(),
		Status:         store.StatusActive,
		RecordingState: store.RecordingNone,
	}
	// Only a call that can go somewhere gets a record: an offer we cannot
	// answer is refused first, and counted instead.
	if err := c.setupInbound(a); err != nil {
		code, reason := 503, "no_media_port"
		var ce *codecError
		if errors.As(err, &ce) {
			code, reason = 488, ce.reason
		}
		c.log.Debug("inbound call refused", "err", err, "sip_status", code)
		c.e.cfg.Metrics.SIPRejected(reason)
		_ = a.sig.Hangup(context.Background(), code)
		close(c.over)
		c.releaseMedia()
		return
	}
	c.unrecorded = c.e.storageFull()
	if err := c.e.cfg.Store.InsertCall(c.ctx, &c.record); err != nil {
		c.e.failed(err)
		if c.e.cfg.RejectWhenFull {
			c.log.Error("call record not saved; refusing the call (storage.when_full: reject)", "err", err)
			c.e.cfg.Metrics.SIPRejected("store_unavailable")
			_ = a.sig.Hangup(context.Background(), 503)
			close(c.over)
			c.releaseMedia()
			return
		}
		c.log.Warn("call record not saved: the call goes on unrecorded, and its record is written when the store takes it", "err", err)
		c.unrecorded = true
	} else {
		c.inserted = true
	}
	if c.unrecorded {
		c.log.Warn("the disk is full: connecting the call without recording it")
	}
	c.watch(a)
	c.armMediaCheck()
	c.deliver(c.event(callflow.NewInboundCall, nil))
	c.loop()
	close(c.over)
	c.hangupAll(0)
	c.waitBackground()
	c.releaseMedia()
	c.finish(calls.Status(c.bridged, c.attrs[callflow.AttrOutcome]))
}

// loop handles messages until every leg is gone and no action runs.
func (c *call) loop() {
	done := c.ctx.Done()
	for !c.ended() {
		select {
		case m := <-c.inbox:
			c.handle(m)
		case <-done:
			done = nil // closed for good: handle it once
			c.setCause("callrec shut down", true)
			c.stop()
		}
	}
}

// ended reports whether the loop may return: nothing runs, and every leg
// is gone or the call is stopping.
func (c *call) ended() bool {
	return c.current == nil && (c.stopping || c.allGone())
}

// stop ends the call once the running action (cancelled now) returns.
func (c *call) stop() {
	c.stopping = true
	c.queue = nil
	if c.current != nil {
		c.current.interrupted = true
		c.current.cancel()
	}
}

func (c *call) handle(m message) {
	switch m := m.(type) {
	case legGone:
		c.legGone(m.l)
	case digitIn:
		if m.info {
			c.forwardInfoDigit(m.l, m.d)
		}
		c.digit(m.l, m.d)
	case mediaCheck:
		c.checkMedia(time.Now())
	case actionDone:
		c.actionDone(m.res)
	case reofferIn:
		answer, err := c.reoffer(m.l, m.offer)
		m.reply <- reofferOut{answer, err}
	case maxDuration:
		c.log.Warn("max_call_seconds reached: hanging up", "seconds", m.seconds)
		c.setCause("max_call_seconds reached", true)
		c.stop()
	}
}

// deliver gives the flow an event and starts the actions it answers with.
func (c *call) deliver(ev callflow.Event) {
	resp := c.e.cfg.Handler.Handle(ev)
	if resp.TransactionAttributes != nil {
		c.attrs = resp.TransactionAttributes
	}
	c.syncRecordFromAttrs()
	if c.allGone() || c.stopping {
		return
	}
	c.queue = resp.Actions
	c.next(nil)
}

// next starts the next queued action; when there is none, it gives the
// flow what it is owed: ACTION_SUCCESSFUL for the response just finished
// (last), or a pending DIGITS_RECEIVED.
func (c *call) next(last *callflow.ActionData) {
	if len(c.queue) > 0 {
		a := c.queue[0]
		c.queue = c.queue[1:]
		c.start(a, last)
		return
	}
	if last != nil {
		c.deliver(c.event(callflow.ActionSuccessful, last))
		return
	}
	for len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		if ev.InvocationEventType == callflow.DigitsReceived && c.allGone() {
			continue // nobody left to act on them
		}
		ev.CallDetails.TransactionAttributes = copyAttrs(c.attrs)
		c.deliver(ev)
		return
	}
}

// start runs action a: its preparation here, its blocking work (if any)
// on a goroutine of its own.
func (c *call) start(a callflow.Action, last *callflow.ActionData) {
	if src := a.Parameters.AudioSource; src != nil {
		c.log.Debug("action", "type", a.Type, "leg", a.Parameters.ParticipantTag, "prompt", src.Key)
	} else {
		c.log.Debug("action", "type", a.Type, "leg", a.Parameters.ParticipantTag)
	}
	actx, cancel := context.WithCancel(c.ctx)
	c.current = &running{action: a, cancel: cancel, last: last}
	work := c.prepare(actx, a)
	go func() { c.post(actionDone{work()}) }()
}

// actionDone applies the result of the running action and moves on.
func (c *call) actionDone(res actionResult) {
	r := c.current
	c.current = nil
	r.cancel()
	if res.apply != nil {
		res.apply()
	}
	switch {
	case r.interrupted || c.stopping:
		// A hang-up or the end of the call took over; see legGone.
		c.next(nil)
	case res.data.ErrorType != "":
		c.log.Info("action failed", "action", r.action.Type, "error_type", res.data.ErrorType, "error", res.data.ErrorMessage)
		c.queue = nil
		c.deliver(c.event(callflow.ActionFailed, &res.data))
	default:
		c.next(&res.data)
	}
}

// legGone marks a leg that hung up and tells the flow (HANGUP),
// interrupting whatever runs. A leg we hung up ourselves is already gone.
func (c *call) legGone(l *leg) {
	if l.gone {
		return
	}
	l.gone = true
	who := "other party"
	if l.tag == c.attrs[callflow.AttrOwnerTag] {
		who = "owner"
	}
	cause := who + " hung up"
	if l.sig.Cancelled() {
		cause = who + " cancelled"
	}
	c.setCause(cause, false)
	c.log.Info("leg hung up", "leg", l.tag, "cause", cause)
	c.queue = nil
	if c.current != nil {
		c.current.interrupted = true
		c.current.cancel()
	}
	c.events = append([]callflow.Event{c.event(callflow.Hangup, &callflow.ActionData{
		Type:       callflow.ActionHangup,
		Parameters: callflow.Parameters{CallID: l.sig.CallID(), ParticipantTag: l.tag},
	})}, c.events...)
	if c.current == nil {
		c.next(nil)
	}
}

// digit routes a digit from a leg: to the running PlayAudioAndGetDigits
// collecting on it, else, when ReceiveDigits armed the leg, to the flow.
func (c *call) digit(l *leg, d byte) {
	c.log.Debug("digit received", "leg", l.tag, "digit", string(d))
	if l.collect != nil {
		select {
		case l.collect <- d:
		default:
		}
		return
	}
	if l.armed == nil || !l.armed.MatchString(string(d)) {
		return
	}
	if len(c.events) >= maxPendingEvents {
		c.log.Warn("digit dropped: too many pending", "digit", string(d))
		return
	}
	c.events = append(c.events, c.event(callflow.DigitsReceived, &callflow.ActionData{
		Type:           callflow.ActionReceiveDigits,
		Parameters:     callflow.Parameters{CallID: l.sig.CallID(), ParticipantTag: l.tag},
		ReceivedDigits: string(d),
	}))
	if c.current == nil && len(c.queue) == 0 {
		c.next(nil)
	}
}

// setCause records why the call ended; unless force, only the first
// cause counts.
func (c *call) setCause(cause string, force bool) {
	if force || c.endCause == "" {
		c.endCause = cause
	}
}

func (c *call) allGone() bool {
	for _, l := range c.legs {
		if !l.gone {
			return false
		}
	}
	return true
}

// watch reports the leg's end to the call.
func (c *call) watch(l *leg) {
	go func() {
		select {
		case <-l.sig.Done():
			c.post(legGone{l})
		case <-c.over:
		}
	}()
}

// event builds the next invocation of the flow.
func (c *call) event(t callflow.InvocationEventType, ad *callflow.ActionData) callflow.Event {
	c.seq++
	return callflow.Event{
		SchemaVersion:       callflow.SchemaVersion,
		Sequence:            c.seq,
		InvocationEventType: t,
		CallDetails: callflow.CallDetails{
			TransactionID:         c.id,
			TransactionAttributes: copyAttrs(c.attrs),
			Participants:          c.participants(),
			RecordingUnavailable:  c.unrecorded,
		},
		ActionData: ad,
	}
}

func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *call) participants() []callflow.Participant {
	var ps []callflow.Participant
	for _, tag := range []string{callflow.LegA, callflow.LegB} {
		l, ok := c.legs[tag]
		if !ok {
			continue
		}
		status := callflow.StatusConnected
		if l.gone {
			status = callflow.StatusDisconnected
		}
		p := callflow.Participant{
			CallID:                  l.sig.CallID(),
			ParticipantTag:          l.tag,
			To:                      l.to,
			From:                    l.from,
			Direction:               l.direction,
			StartTimeInMilliseconds: strconv.FormatInt(l.start.UnixMilli(), 10),
			Status:                  status,
		}
		if l.direction == callflow.DirectionInbound {
			p.SourceAddress = l.sig.Source()
		}
		ps = append(ps, p)
	}
	return ps
}

// hangupLeg marks l gone and hangs it up in the background (the call
// waits for it before it finishes).
func (c *call) hangupLeg(l *leg, code int) {
	if l.gone {
		return
	}
	l.gone = true
	done := make(chan struct{})
	c.background = append(c.background, done)
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.sig.Hangup(ctx, code); err != nil {
			c.log.Debug("hangup", "leg", l.tag, "err", err)
		}
	}()
}

// hangupAll ends every leg still up.
func (c *call) hangupAll(code int) {
	for _, tag := range []string{callflow.LegA, callflow.LegB} {
		if l, ok := c.legs[tag]; ok {
			c.hangupLeg(l, code)
		}
	}
}

// waitBackground waits for the hang-ups started by the call.
func (c *call) waitBackground() {
	for _, done := range c.background {
		<-done
	}
	c.background = nil
}

// releaseMedia stops the legs' streams, keeps their quality figures on
// the call record, and gives their ports back.
func (c *call) releaseMedia() {
	if c.maxTimer != nil {
		c.maxTimer.Stop()
	}
	if c.mediaTimer != nil {
		c.mediaTimer.Stop()
	}
	c.record.Quality = c.record.Quality[:0]
	for _, tag := range []string{callflow.LegA, callflow.LegB} {
		l, found := c.legs[tag]
		if !found || l.st == nil {
			continue
		}
		if c.e.cfg.Clock != nil {
			c.e.cfg.Clock.Remove(l.st)
		}
		st := &l.st.Stats
		c.log.Info("media", "leg", l.tag, "received", st.Received.Load(), "lost", st.Lost.Load(),
			"sent", st.Sent.Load(), "rtcp", st.RTCP.Load(), "foreign_dropped", st.Foreign.Load(), "invalid_dropped", st.Invalid.Load())
		l.st.Close()
		if l.running {
			<-l.st.Done()
		}
		if q, ok := c.legQuality(l); ok {
			c.record.Quality = append(c.record.Quality, q)
			c.e.cfg.Metrics.CallQuality(q.Leg, q.MOS, q.LossPercent, q.JitterMS, q.RTTMS)
		}
		c.e.cfg.Ports.Release(l.st.Sockets())
	}
	if len(c.record.Quality) == 0 {
		c.record.Quality = nil
	}
}

// syncRecordFromAttrs copies what the flow says about the call (its
// direction, the other party) to the call record.
func (c *call) syncRecordFromAttrs() {
	if d := c.attrs[callflow.AttrDirection]; d != "" {
		c.record.Direction = d
	}
	if p := c.attrs[callflow.AttrParty]; p != "" {
		c.record.Party = p
	} else if c.record.Direction == callflow.CallOutbound {
		c.record.Party = ""
	}
	if c.record.Direction == callflow.CallOutbound {
		// The caller was the owner: the party is whom the owner dialled.
		c.record.PartyRaw, c.record.PartyName = "", ""
	}
}

// saveRecord writes the call record as it stands (once it is in the
// store: else the final write inserts it).
func (c *call) saveRecord() {
	if !c.inserted {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
	defer cancel()
	if err := c.e.cfg.Store.UpdateCall(ctx, &c.record); err != nil {
		c.e.failed(err)
		c.log.Warn("call record not updated", "err", err)
	}
}

// finish stores the recording still running and closes the call record
// with status (and, with a stored recording, queues its processing).
func (c *call) finish(status string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	r := &c.record
	r.EndedAt = &now
	r.Status = status
	if r.HangupCause == "" {
		r.HangupCause = c.endCause
	}
	if o := c.attrs[callflow.AttrOutcome]; o != "" && !c.bridged {
		r.HangupCause = o
	}
	if c.sipStatus != 0 {
		r.SIPStatus = c.sipStatus
	}
	recorded := false
	if c.rec != nil {
		rec := c.rec
		c.rec = nil
		res := rec.stopAndStore(ctx, false)
		c.applyRecording(res)
		if res.storeErr != nil {
			r.Status = store.StatusActive // so Recover picks it up
		}
		recorded = r.Status != store.StatusActive
	} else if r.RecordingState == store.RecordingStopped {
		recorded = true // the owner stopped it; it is stored
	}
	if err := c.e.saveFinal(ctx, r, recorded); err != nil {
		c.e.failed(err)
		c.log.Error("call record not written; kept and retried until it is", "err", err)
		c.e.keep(r, recorded)
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

func (c *call) spoolPath() string {
	return filepath.Join(c.e.cfg.SpoolDir, c.id+".wav")
}

// normaliseCaller strips a SIP user part down to what callflow expects.
func normaliseCaller(user string) string {
	for i := 0; i < len(user); i++ {
		if user[i] == ';' {
			return user[:i]
		}
	}
	return user
}
