package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/sip"
)

// actionResult is the ActionData reported for one action (ErrorType set
// means it failed) and, when the action changed the call, apply: run on
// the call's goroutine before anything else happens.
type actionResult struct {
	data  callflow.ActionData
	apply func()
}

func fail(a callflow.Action, errType string, err error) actionResult {
	return actionResult{data: callflow.ActionData{Type: a.Type, Parameters: a.Parameters, ErrorType: errType, ErrorMessage: err.Error()}}
}

func ok(a callflow.Action) actionResult {
	return actionResult{data: callflow.ActionData{Type: a.Type, Parameters: a.Parameters}}
}

// done is work that has nothing left to do on a goroutine.
func done(r actionResult) func() actionResult { return func() actionResult { return r } }

// prepare does action a's part on the call's goroutine (reading and
// changing the call) and returns the rest: the blocking work, run on a
// goroutine of its own, which touches only what prepare handed it.
func (c *call) prepare(ctx context.Context, a callflow.Action) func() actionResult {
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
		return done(c.receiveDigits(a))
	case callflow.ActionStartCallRecording:
		return done(c.startRecording(a))
	case callflow.ActionPauseCallRecording, callflow.ActionResumeCallRecording:
		return done(c.pauseRecording(a))
	case callflow.ActionStopCallRecording:
		return c.stopRecording(ctx, a)
	case callflow.ActionPause:
		d := time.Duration(a.Parameters.DurationInMilliseconds) * time.Millisecond
		return func() actionResult {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			return ok(a)
		}
	}
	return done(fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("unknown action type %q", a.Type)))
}

// target finds the leg an action addresses (by CallId, else tag).
func (c *call) target(p callflow.Parameters) (*leg, error) {
	if p.CallID != "" {
		for _, l := range c.legs {
			if l.sig.CallID() == p.CallID {
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

// hearing returns what lets an unanswered inbound leg hear us before a
// prompt: a 183 with our SDP for early media (sent once), else the 200.
// It returns nil when nothing is needed.
func (c *call) hearing(l *leg, early bool) (func() error, error) {
	if l.sig.Answered() {
		return nil, nil
	}
	if early && l.early {
		return nil, nil
	}
	body, err := sdp.Build(l.local)
	if err != nil {
		return nil, err
	}
	if early {
		l.early = true
		return func() error { return l.sig.Progress(body) }, nil
	}
	// answered_at is set when the bridge is made, not here: the owner's
	// own leg being answered for the menu is not the call being answered.
	return func() error { return l.sig.Answer(body) }, nil
}

func (c *call) playAudio(ctx context.Context, a callflow.Action) func() actionResult {
	p := a.Parameters
	if p.AudioSource == nil {
		return done(fail(a, callflow.ErrInvalidActionParameter, errors.New("AudioSource is required")))
	}
	pcm, err := c.e.cfg.Prompts.Get(p.AudioSource.Key)
	if err != nil {
		return done(fail(a, callflow.ErrInvalidActionParameter, err))
	}
	var legs []*leg
	if p.ParticipantTag == callflow.Both {
		for _, tag := range []string{callflow.LegA, callflow.LegB} {
			if l, found := c.legs[tag]; found && !l.gone {
				legs = append(legs, l)
			}
		}
	} else {
		l, err := c.target(p)
		if err != nil {
			return done(fail(a, callflow.ErrInvalidActionParameter, err))
		}
		legs = []*leg{l}
	}
	streams := make([]*stream.Stream, len(legs))
	hear := make([]func() error, len(legs))
	for i, l := range legs {
		if hear[i], err = c.hearing(l, p.EarlyMedia); err != nil {
			return done(fail(a, callflow.ErrSystemException, err))
		}
		streams[i] = l.st
	}
	return func() actionResult {
		for _, h := range hear {
			if h == nil {
				continue
			}
			if err := h(); err != nil {
				return fail(a, callflow.ErrSystemException, err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(streams))
		for i, st := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Play(ctx, pcm)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
		return ok(a)
	}
}

// digitCollection is what PlayAudioAndGetDigits collects.
type digitCollection struct {
	prompt, failure []int16
	attempts        int
	first, between  time.Duration
	min, max        int
	terminators     string
	re              *regexp.Regexp
}

func (c *call) playAndGetDigits(ctx context.Context, a callflow.Action) func() actionResult {
	p := a.Parameters
	l, err := c.target(p)
	if err != nil {
		return done(fail(a, callflow.ErrInvalidActionParameter, err))
	}
	dc := digitCollection{
		attempts:    max(p.Repeat, 1),
		between:     time.Duration(p.InBetweenDigitsDurationInMilliseconds) * time.Millisecond,
		first:       time.Duration(p.RepeatDurationInMilliseconds) * time.Millisecond,
		min:         p.MinNumberOfDigits,
		max:         p.MaxNumberOfDigits,
		terminators: strings.Join(p.TerminatorDigits, ""),
	}
	if dc.between <= 0 {
		dc.between = 3 * time.Second
	}
	if dc.first <= 0 {
		dc.first = 5 * time.Second
	}
	if dc.max <= 0 {
		dc.max = 32
	}
	if p.InputDigitsRegex != "" {
		if dc.re, err = regexp.Compile(p.InputDigitsRegex); err != nil {
			return done(fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("InputDigitsRegex: %w", err)))
		}
	}
	if p.AudioSource != nil {
		if dc.prompt, err = c.e.cfg.Prompts.Get(p.AudioSource.Key); err != nil {
			return done(fail(a, callflow.ErrInvalidActionParameter, err))
		}
	}
	if p.FailureAudioSource != nil {
		if dc.failure, err = c.e.cfg.Prompts.Get(p.FailureAudioSource.Key); err != nil {
			return done(fail(a, callflow.ErrInvalidActionParameter, err))
		}
	}
	hear, err := c.hearing(l, p.EarlyMedia)
	if err != nil {
		return done(fail(a, callflow.ErrSystemException, err))
	}
	digits := make(chan byte, 64)
	l.collect = digits
	st := l.st
	stopCollecting := func() { l.collect = nil }
	return func() actionResult {
		res := c.collect(ctx, a, dc, st, hear, digits)
		res.apply = stopCollecting
		return res
	}
}

// collect plays the prompt and gathers digits for up to dc.attempts
// attempts (on the action's goroutine).
func (c *call) collect(ctx context.Context, a callflow.Action, dc digitCollection, st *stream.Stream, hear func() error, digits chan byte) actionResult {
	if hear != nil {
		if err := hear(); err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
	}
	for attempt := 1; attempt <= dc.attempts; attempt++ {
		// Flush digits typed during the previous attempt's failure prompt.
		for len(digits) > 0 {
			<-digits
		}
		got, err := collectDigits(ctx, st, dc, digits)
		if err != nil {
			return fail(a, callflow.ErrSystemException, err)
		}
		if len(got) >= dc.min && len(got) <= dc.max && (dc.re == nil || dc.re.MatchString(got)) {
			res := ok(a)
			res.data.ReceivedDigits = got
			return res
		}
		c.log.Info("digits not accepted", "attempt", attempt, "of", dc.attempts, "count", len(got))
		if dc.failure != nil {
			if err := st.Play(ctx, dc.failure); err != nil {
				return fail(a, callflow.ErrSystemException, err)
			}
		}
	}
	return fail(a, callflow.ErrInvalidDigitsReceived, fmt.Errorf("no valid digits after %d attempts", dc.attempts))
}

// collectDigits plays the prompt (stopping at the first digit) and gathers
// digits until a terminator, dc.max digits, or a timeout.
func collectDigits(ctx context.Context, st *stream.Stream, dc digitCollection, digits chan byte) (string, error) {
	var got []byte
	if dc.prompt != nil {
		pctx, stop := context.WithCancel(ctx)
		played := make(chan error, 1)
		go func() { played <- st.Play(pctx, dc.prompt) }()
		select {
		case err := <-played:
			stop()
			if err != nil {
				return "", err
			}
		case d := <-digits:
			stop()
			<-played
			if strings.IndexByte(dc.terminators, d) >= 0 {
				return "", nil
			}
			got = append(got, d)
		case <-ctx.Done():
			stop()
			<-played
			return "", ctx.Err()
		}
	}
	timeout := dc.first
	if len(got) > 0 {
		timeout = dc.between
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for len(got) < dc.max {
		select {
		case d := <-digits:
			if strings.IndexByte(dc.terminators, d) >= 0 {
				return string(got), nil
			}
			got = append(got, d)
			timer.Reset(dc.between)
		case <-timer.C:
			return string(got), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return string(got), nil
}

func (c *call) callAndBridge(ctx context.Context, a callflow.Action) func() actionResult {
	p := a.Parameters
	if len(p.Endpoints) == 0 {
		return done(fail(a, callflow.ErrInvalidActionParameter, errors.New("no Endpoints")))
	}
	if _, exists := c.legs[callflow.LegB]; exists {
		return done(fail(a, callflow.ErrInvalidActionParameter, errors.New("LEG-B already exists")))
	}
	la := c.legs[callflow.LegA]
	to := p.Endpoints[0].URI
	socks, err := c.e.cfg.Ports.Listen()
	if err != nil {
		return done(c.bridgeFailed(a, 503, err))
	}
	release := func() { c.e.cfg.Ports.Release(socks) }
	st := stream.New(socks, c.log.With("leg", callflow.LegB))
	keys, err := c.e.offerKeys()
	if err != nil {
		release()
		return done(c.bridgeFailed(a, 500, err))
	}
	local := c.e.newLocal(st.LocalPort(), nil, keys)
	offer, err := sdp.Build(local)
	if err != nil {
		release()
		return done(c.bridgeFailed(a, 500, err))
	}
	answerA, err := c.hearing(la, false)
	if err != nil {
		release()
		return done(fail(a, callflow.ErrSystemException, err))
	}
	// The caller hears ringing unless it already hears our prompts.
	ringA := !la.early
	// An unanswered caller that hears nothing yet gets a 183 when the far
	// end's own early media arrive.
	var earlyA func() error
	if !la.sig.Answered() && !la.early {
		body, err := sdp.Build(la.local)
		if err != nil {
			release()
			return done(fail(a, callflow.ErrSystemException, err))
		}
		earlyA = func() error { return la.sig.Progress(body) }
	}
	timeout := time.Duration(p.CallTimeoutSeconds) * time.Second
	return func() actionResult {
		c.log.Info("dialling through trunk", "to", to, "caller_id", p.CallerIDNumber, "timeout", timeout)
		early := &earlyMedia{c: c, st: st, la: la, keys: keys, progress: earlyA}
		out, err := c.e.cfg.Dialer.Dial(ctx, sip.DialRequest{
			To:       to,
			CallerID: p.CallerIDNumber,
			SDP:      offer,
			Timeout:  timeout,
			OnProgress: func(code int, body []byte) {
				if len(body) > 0 && code == 183 {
					early.start(body)
					return
				}
				if code == 180 && ringA && !early.running && !la.sig.Answered() {
					_ = la.sig.Ringing()
				}
			},
		})
		if err != nil {
			early.stop()
			release()
			var de *sip.DialError
			if errors.As(err, &de) {
				return c.bridgeFailed(a, de.Code, err)
			}
			return c.bridgeFailed(a, 503, err)
		}
		n, err := c.e.negotiate(out.RemoteSDP(), true, keys, nil)
		if err != nil {
			c.log.Warn("far end's SDP answer unusable; hanging up", "err", err)
			_ = out.Hangup(context.Background(), 488)
			early.stop()
			release()
			return c.bridgeFailed(a, 488, err)
		}
		st.Bridge(nil) // the bridge (or not) is made on the call's goroutine
		local.Codecs, local.TelephoneEvent = []sdp.Codec{n.sel.Codec}, n.sel.TelephoneEvent
		local.RTCPMux = n.rtcpMux
		setCrypto(&local, nil)
		if n.crypto != nil {
			setCrypto(&local, cryptoList(n.crypto))
		}
		lb := &leg{
			tag:       callflow.LegB,
			direction: callflow.DirectionOutbound,
			from:      p.CallerIDNumber,
			to:        to,
			start:     time.Now(),
			sig:       out,
			st:        st,
			weOffered: true,
			local:     local,
			running:   early.running,
		}
		lb.applyNegotiation(n)
		res := ok(a)
		if answerA != nil {
			if err := answerA(); err != nil {
				res = fail(a, callflow.ErrSystemException, err)
			}
		}
		connect := res.data.ErrorType == ""
		res.apply = func() { c.bridge(lb, p.MaxCallDurationSeconds, connect) }
		return res
	}
}

// earlyMedia plays the far end's own early media (a carrier's ringback,
// "the number you have dialled…": a 183 with SDP) to the caller while
// LEG-B rings. It runs on the dialling action's goroutine.
type earlyMedia struct {
	c        *call
	st       *stream.Stream
	la       *leg
	keys     []srtp.Crypto
	progress func() error // the caller's 183, when not answered yet
	running  bool
	body     string
}

// start follows a 183's SDP: LEG-B's stream takes its parameters and
// relays what it receives to the caller (one way: the caller's audio does
// not reach a far end that has not answered).
func (m *earlyMedia) start(body []byte) {
	if string(body) == m.body {
		return
	}
	n, err := m.c.e.negotiate(body, true, m.keys, nil)
	if err != nil {
		m.c.log.Info("far end's early media unusable; the caller hears ringing", "err", err)
		return
	}
	m.body = string(body)
	m.st.SetParams(n.params)
	if m.progress != nil {
		if err := m.progress(); err != nil {
			m.c.log.Debug("early media to the caller", "err", err)
		}
		m.progress = nil
	}
	if !m.running {
		m.running = true
		go m.st.Run(m.c.ctx)
		m.c.log.Info("far end's early media reaches the caller")
	}
	m.st.Bridge(m.la.st)
}

// stop ends early media of a call that was not answered.
func (m *earlyMedia) stop() {
	if !m.running {
		return
	}
	m.st.Bridge(nil)
	m.st.Close()
	<-m.st.Done()
}

// bridge installs LEG-B (on the call's goroutine) and, when both legs can
// talk, connects their streams and starts the max_call_seconds timer.
func (c *call) bridge(lb *leg, maxSeconds int, connect bool) {
	c.legs[callflow.LegB] = lb
	c.startStream(lb)
	c.watch(lb)
	if !connect {
		return
	}
	la := c.legs[callflow.LegA]
	la.st.Bridge(lb.st)
	lb.st.Bridge(la.st)
	c.bridged = true
	now := time.Now().UTC()
	c.record.AnsweredAt = &now
	c.saveRecord()
	if maxSeconds > 0 {
		c.maxTimer = time.AfterFunc(time.Duration(maxSeconds)*time.Second, func() { c.post(maxDuration{maxSeconds}) })
	}
	c.log.Info("bridged", "to", lb.to)
}

// bridgeFailed is the ActionFailed of a CallAndBridge the far end did not
// answer with code (or that failed before: 503, 500).
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
	res := fail(a, errType, err)
	res.data.SipResponseCode = code
	res.apply = func() { c.sipStatus = code }
	return res
}

func (c *call) hangupAction(_ context.Context, a callflow.Action) func() actionResult {
	l, err := c.target(a.Parameters)
	if err != nil {
		return done(fail(a, callflow.ErrInvalidActionParameter, err))
	}
	code := 0
	if a.Parameters.SipResponseCode != "" {
		if code, err = strconv.Atoi(a.Parameters.SipResponseCode); err != nil {
			return done(fail(a, callflow.ErrInvalidActionParameter, fmt.Errorf("SipResponseCode %q", a.Parameters.SipResponseCode)))
		}
	}
	if code >= 300 && l.direction == callflow.DirectionInbound && !l.sig.Answered() {
		c.sipStatus = code
	}
	if l.gone {
		return done(ok(a))
	}
	l.gone = true // our own hang-up: no HANGUP event for it
	return func() actionResult {
		// The BYE must go out even when the action is interrupted.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.sig.Hangup(ctx, code); err != nil {
			c.log.Debug("hangup", "leg", l.tag, "err", err)
		}
		return ok(a)
	}
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
	l.armed = re
	return ok(a)
}
