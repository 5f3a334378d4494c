package runtime

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/recorder"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// offeredEventPT is the telephone-event payload type of our offers.
const offeredEventPT = 101

// actionResult is the ActionData reported for one action; ErrorType set
// means it failed.
type actionResult struct {
	data callflow.ActionData
}

func fail(a callflow.Action, errType string, err error) actionResult {
	return actionResult{data: callflow.ActionData{Type: a.Type, Parameters: a.Parameters, ErrorType: errType, ErrorMessage: err.Error()}}
}

func ok(a callflow.Action) actionResult {
	return actionResult{data: callflow.ActionData{Type: a.Type, Parameters: a.Parameters}}
}

func (c *call) runAction(ctx context.Context, a callflow.Action) actionResult {
	c.log.Debug("action", "type", a.Type, "leg", a.Parameters.ParticipantTag)
	switch a.Type {
	case callflow.ActionPlayAudio:
		return c.playAudio(ctx, a)
	case callflow.ActionPlayAudioAndGetDigits:
		return c.playAndGetDigits(ctx, a)
	case callflow.ActionCallAndBridge:
		return c.callAndBridge(ctx, a)
	case callflow.ActionHangup:
		return c.hangupAction(ctx, a)
	case callflow.ActionReceiveDigits:
		return c.receiveDigits(a)
	case callflow.ActionStartCallRecording:
		return c.startRecording(a)
	case callflow.ActionPauseCallRecording, callflow.ActionResumeCallRecording, callflow.ActionStopCallRecording:
		return c.controlRecording(a)
	case callflow.ActionPause:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(a.Parameters.DurationInMilliseconds) * time.Millisecond):
		}
		return ok(a)
	}
	return fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("unknown action type %q", a.Type))
}

// target finds the leg an action addresses (by CallId, else tag).
func (c *call) target(p callflow.Parameters) (*leg, error) {
	if p.CallID != "" {
		for _, l := range c.legs {
			if l.callID() == p.CallID {
				return l, nil
			}
		}
	}
	tag := p.ParticipantTag
	if tag == "" {
		tag = callflow.LegA
	}
	l, found := c.legs[tag]
	if !found {
		return nil, fmt.Errorf("no participant %q", tag)
	}
	return l, nil
}

// prepareMedia makes sure an inbound leg can hear us: 183 with SDP for
// early media, else 200 OK.
func (c *call) prepareMedia(l *leg, early bool) error {
	if l.in == nil || l.in.Answered() {
		return nil
	}
	body, err := sdp.Build(l.local)
	if err != nil {
		return err
	}
	if early {
		l.mu.Lock()
		sent := l.early
		l.early = true
		l.mu.Unlock()
		if sent {
			return nil
		}
		return l.in.Progress(body)
	}
	return c.answer(l)
}

func (c *call) answer(l *leg) error {
	body, err := sdp.Build(l.local)
	if err != nil {
		return err
	}
	// answered_at is set when the bridge is made, not here: the owner's
	// own leg being answered for the menu is not the call being answered.
	return l.in.Answer(body)
}

func (c *call) playAudio(ctx context.Context, a callflow.Action) actionResult {
	p := a.Parameters
	if p.AudioSource == nil {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("AudioSource is required"))
	}
	pcm, err := c.e.cfg.Prompts.Get(p.AudioSource.Key)
	if err != nil {
		return fail(a, callflow.ErrInvalidActionParameter, err)
	}
	var legs []*leg
	if p.ParticipantTag == callflow.Both {
		for _, tag := range []string{callflow.LegA, callflow.LegB} {
			if l, found := c.legs[tag]; found && !l.isGone() {
				legs = append(legs, l)
			}
		}
	} else {
		l, err := c.target(p)
		if err != nil {
			return fail(a, callflow.ErrInvalidActionParameter, err)
		}
		legs = []*leg{l}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(legs))
	for i, l := range legs {
		if err := c.prepareMedia(l, p.EarlyMedia); err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.st.Play(ctx, pcm)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(a, callflow.ErrSystemException, err)
	}
	return ok(a)
}

func (c *call) playAndGetDigits(ctx context.Context, a callflow.Action) actionResult {
	p := a.Parameters
	l, err := c.target(p)
	if err != nil {
		return fail(a, callflow.ErrInvalidActionParameter, err)
	}
	var re *regexp.Regexp
	if p.InputDigitsRegex != "" {
		if re, err = regexp.Compile(p.InputDigitsRegex); err != nil {
			return fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("InputDigitsRegex: %w", err))
		}
	}
	var prompt, failure []int16
	if p.AudioSource != nil {
		if prompt, err = c.e.cfg.Prompts.Get(p.AudioSource.Key); err != nil {
			return fail(a, callflow.ErrInvalidActionParameter, err)
		}
	}
	if p.FailureAudioSource != nil {
		if failure, err = c.e.cfg.Prompts.Get(p.FailureAudioSource.Key); err != nil {
			return fail(a, callflow.ErrInvalidActionParameter, err)
		}
	}
	if err := c.prepareMedia(l, p.EarlyMedia); err != nil {
		return fail(a, callflow.ErrSystemException, err)
	}
	attempts := max(p.Repeat, 1)
	between := time.Duration(p.InBetweenDigitsDurationInMilliseconds) * time.Millisecond
	if between <= 0 {
		between = 3 * time.Second
	}
	first := time.Duration(p.RepeatDurationInMilliseconds) * time.Millisecond
	if first <= 0 {
		first = 5 * time.Second
	}
	maxDigits := p.MaxNumberOfDigits
	if maxDigits <= 0 {
		maxDigits = 32
	}
	terminators := strings.Join(p.TerminatorDigits, "")

	digits := make(chan byte, 64)
	l.mu.Lock()
	l.collect = digits
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.collect = nil
		l.mu.Unlock()
	}()

	for attempt := 1; attempt <= attempts; attempt++ {
		// Flush digits typed during the previous attempt's failure prompt.
		for len(digits) > 0 {
			<-digits
		}
		got, err := c.collectDigits(ctx, l, prompt, digits, first, between, maxDigits, terminators)
		if err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
		valid := len(got) >= p.MinNumberOfDigits && len(got) <= maxDigits && (re == nil || re.MatchString(got))
		if valid {
			res := ok(a)
			res.data.ReceivedDigits = got
			return res
		}
		c.log.Info("digits not accepted", "attempt", attempt, "of", attempts, "count", len(got))
		if failure != nil {
			if err := l.st.Play(ctx, failure); err != nil {
				return fail(a, callflow.ErrSystemException, err)
			}
		}
	}
	return fail(a, callflow.ErrInvalidDigitsReceived, fmt.Errorf("no valid digits after %d attempts", attempts))
}

// collectDigits plays prompt (stopping at the first digit) and gathers
// digits until a terminator, maxDigits, or a timeout.
func (c *call) collectDigits(ctx context.Context, l *leg, prompt []int16, digits chan byte, first, between time.Duration, maxDigits int, terminators string) (string, error) {
	var got []byte
	if prompt != nil {
		pctx, stop := context.WithCancel(ctx)
		played := make(chan error, 1)
		go func() { played <- l.st.Play(pctx, prompt) }()
		select {
		case err := <-played:
			stop()
			if err != nil {
				return "", err
			}
		case d := <-digits:
			stop()
			<-played
			if strings.IndexByte(terminators, d) >= 0 {
				return "", nil
			}
			got = append(got, d)
		case <-ctx.Done():
			stop()
			<-played
			return "", ctx.Err()
		}
	}
	timeout := first
	if len(got) > 0 {
		timeout = between
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(got) < maxDigits {
		select {
		case d := <-digits:
			if strings.IndexByte(terminators, d) >= 0 {
				return string(got), nil
			}
			got = append(got, d)
			timer.Reset(between)
		case <-timer.C:
			return string(got), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return string(got), nil
}

func (c *call) callAndBridge(ctx context.Context, a callflow.Action) actionResult {
	p := a.Parameters
	if len(p.Endpoints) == 0 {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("no Endpoints"))
	}
	if _, exists := c.legs[callflow.LegB]; exists {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("LEG-B already exists"))
	}
	la := c.legs[callflow.LegA]
	to := p.Endpoints[0].URI
	conn, err := c.e.cfg.Ports.Listen()
	if err != nil {
		return c.bridgeFailed(a, 503, err)
	}
	st := stream.New(conn, c.log.With("leg", callflow.LegB))
	local := sdp.Local{
		SessionID:      rand.Uint64() >> 1,
		SessionVersion: 1,
		Address:        c.e.cfg.MediaAddress.String(),
		Port:           st.LocalPort(),
		Codecs:         []sdp.Codec{{PayloadType: 0, Name: "PCMU", ClockRate: 8000}, {PayloadType: 8, Name: "PCMA", ClockRate: 8000}},
		TelephoneEvent: offeredEventPT,
		Direction:      "sendrecv",
	}
	offer, err := sdp.Build(local)
	if err != nil {
		c.e.cfg.Ports.Release(conn)
		return c.bridgeFailed(a, 500, err)
	}
	timeout := time.Duration(p.CallTimeoutSeconds) * time.Second
	c.log.Info("dialling through trunk", "to", to, "caller_id", p.CallerIDNumber, "timeout", timeout)
	out, err := c.e.cfg.Dialer.Dial(ctx, sip.DialRequest{
		To:       to,
		CallerID: p.CallerIDNumber,
		SDP:      offer,
		Timeout:  timeout,
		OnProgress: func(code int, _ []byte) {
			if code == 180 && !la.in.Answered() {
				la.mu.Lock()
				early := la.early
				la.mu.Unlock()
				if !early {
					_ = la.in.Ringing()
				}
			}
		},
	})
	if err != nil {
		c.e.cfg.Ports.Release(conn)
		var de *sip.DialError
		if errors.As(err, &de) {
			return c.bridgeFailed(a, de.Code, err)
		}
		return c.bridgeFailed(a, 503, err)
	}
	lb := &leg{
		tag:       callflow.LegB,
		direction: callflow.DirectionOutbound,
		from:      p.CallerIDNumber,
		to:        to,
		start:     time.Now(),
		out:       out,
		st:        st,
		local:     local,
		connected: true,
	}
	answer, err := sdp.Parse(out.RemoteSDP())
	var sel sdp.Selection
	if err == nil {
		sel, err = sdp.Negotiate(answer, supportedCodecs)
	}
	var params stream.Params
	if err == nil {
		params, err = streamParams(answer, sel)
	}
	if err != nil {
		c.log.Warn("far end's SDP answer unusable; hanging up", "err", err)
		_ = out.Hangup(context.Background(), 488)
		c.e.cfg.Ports.Release(conn)
		return c.bridgeFailed(a, 488, err)
	}
	params.OfferedTelephoneEvent = offeredEventPT
	st.SetParams(params)
	lb.local.Codecs = []sdp.Codec{sel.Codec}
	lb.local.TelephoneEvent = sel.TelephoneEvent
	out.SetReoffer(func(body []byte) ([]byte, error) { return c.reoffer(lb, body) })
	c.legs[callflow.LegB] = lb
	c.startStream(lb)
	c.watch(lb)

	if !la.in.Answered() {
		if err := c.answer(la); err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
	}
	la.st.Bridge(lb.st)
	lb.st.Bridge(la.st)
	c.bridged = true
	now := time.Now().UTC()
	c.record.AnsweredAt = &now
	c.saveRecord()
	if secs := p.MaxCallDurationSeconds; secs > 0 {
		c.maxTimer = time.AfterFunc(time.Duration(secs)*time.Second, func() {
			c.log.Warn("max_call_seconds reached: hanging up", "seconds", secs)
			c.setCause("max_call_seconds reached", true)
			c.hangupAll(0)
		})
	}
	c.log.Info("bridged", "to", to)
	return ok(a)
}

func (c *call) bridgeFailed(a callflow.Action, code int, err error) actionResult {
	errType := callflow.ErrCallDestinationUnavailable
	switch {
	case code == 486 || code == 600:
		errType = callflow.ErrCallDestinationBusy
	case code == 408 || code == 480 || code == 487:
		errType = callflow.ErrCallDestinationNoAnswer
	case code >= 400 && code < 500, code >= 600:
		errType = callflow.ErrCallDestinationRejected
	}
	var de *sip.DialError
	if errors.As(err, &de) && de.Cancelled {
		errType = callflow.ErrParticipantHungUp
	}
	c.sipStatus = code
	res := fail(a, errType, err)
	res.data.SipResponseCode = code
	return res
}

func (c *call) hangupAction(ctx context.Context, a callflow.Action) actionResult {
	l, err := c.target(a.Parameters)
	if err != nil {
		return fail(a, callflow.ErrInvalidActionParameter, err)
	}
	code := 0
	if a.Parameters.SipResponseCode != "" {
		if code, err = strconv.Atoi(a.Parameters.SipResponseCode); err != nil {
			return fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("SipResponseCode %q", a.Parameters.SipResponseCode))
		}
	}
	if code >= 300 && l.in != nil && !l.in.Answered() {
		c.sipStatus = code
	}
	c.hangupLeg(ctx, l, code)
	return ok(a)
}

func (c *call) receiveDigits(a callflow.Action) actionResult {
	l, err := c.target(a.Parameters)
	if err != nil {
		return fail(a, callflow.ErrInvalidActionParameter, err)
	}
	expr := a.Parameters.InputDigitsRegex
	if expr == "" {
		expr = "."
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("InputDigitsRegex: %w", err))
	}
	l.mu.Lock()
	l.armed = re
	l.mu.Unlock()
	return ok(a)
}

func (c *call) startRecording(a callflow.Action) actionResult {
	owner := a.Parameters.ParticipantTag
	if owner == "" {
		owner = callflow.LegA
	}
	c.recordMu.Lock()
	running := c.rec != nil
	c.recordMu.Unlock()
	if running {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("recording already started"))
	}
	rec, err := recorder.Start(c.spoolPath(), nil)
	if err != nil {
		return fail(a, callflow.ErrSystemException, err)
	}
	c.recordMu.Lock()
	c.rec, c.recOwner = rec, owner
	c.recordMu.Unlock()
	c.record.RecordingKey = c.recordingKey()
	c.record.RecordingState = store.RecordingInProgress
	c.saveRecord()
	c.log.Info("recording started", "owner_leg", owner)
	return ok(a)
}

func (c *call) controlRecording(a callflow.Action) actionResult {
	c.recordMu.Lock()
	rec := c.rec
	c.recordMu.Unlock()
	if rec == nil {
		return fail(a, callflow.ErrInvalidActionParameter, errors.New("no recording in progress"))
	}
	switch a.Type {
	case callflow.ActionPauseCallRecording:
		rec.Pause()
		c.record.RecordingState = store.RecordingPaused
	case callflow.ActionResumeCallRecording:
		rec.Resume()
		c.record.RecordingState = store.RecordingInProgress
	case callflow.ActionStopCallRecording:
		c.record.RecordingState = store.RecordingStopped
		c.recordMu.Lock()
		c.rec = nil
		c.recordMu.Unlock()
		res, err := rec.Stop(true)
		c.applyPauses(res.Pauses)
		c.record.RecordingDurationMS = res.Duration.Milliseconds()
		if err != nil {
			c.log.Error("recording incomplete", "err", err)
		}
		if err := c.e.cfg.Blob.PutFile(c.ctx, c.record.RecordingKey, res.Path); err != nil {
			c.log.Error("storing recording failed; kept in spool", "err", err)
		}
		c.stoppedEarly = true
	}
	c.log.Info("recording control", "action", a.Type)
	c.saveRecord()
	return ok(a)
}
