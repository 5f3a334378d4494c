package callflow

import (
	"crypto/subtle"
	"fmt"
	"strconv"

	"github.com/callrec/callrec/internal/number"
)

// Defaults applied by NewHandler to zero Config fields.
const (
	DefaultRingTimeoutSeconds = 30
	DefaultDigitTimeoutMillis = 2500
	DefaultDigitAttempts      = 3
)

// Config is what the on-demand recording flow needs to know.
type Config struct {
	// ServiceNumber is the public number that reaches callrec. It is the
	// caller ID of every call the owner places through callrec, so the
	// owner's own number is never shown.
	ServiceNumber string
	// OwnerNumber is the owner's own phone. A call from it is the owner
	// dialling out; every other call is put through to it.
	OwnerNumber string
	// OwnerPIN, when set (PINMinDigits to PINMaxDigits digits), must be entered before the owner
	// can dial out, since a caller ID can be forged.
	OwnerPIN string
	// DefaultCountryCode (such as "44" or "1") completes national numbers.
	DefaultCountryCode string
	// AllowedDestinations lists the E.164 prefixes ("+44", "+1212") the
	// owner may dial; "+" allows every number. Empty means the default
	// country only.
	AllowedDestinations []string
	// MaxCallSeconds ends a bridged call after this long; 0 is unlimited.
	MaxCallSeconds int
	// RingTimeoutSeconds is how long the called party rings; 0 means
	// DefaultRingTimeoutSeconds.
	RingTimeoutSeconds int
	// DigitTimeoutMillis is the silence that ends a digit entry; 0 means
	// DefaultDigitTimeoutMillis.
	DigitTimeoutMillis int
	// DigitAttempts is how many times the owner may enter the PIN, and the
	// number to dial; 0 means DefaultDigitAttempts.
	DigitAttempts int
}

// Handler runs the on-demand recording flow. It is a pure function of the
// events it is given: it does no I/O, reads no clock and keeps no state
// between calls, so one Handler serves any number of calls concurrently.
//
// The flow:
//
//   - The owner calls the service number: if Config.OwnerPIN is set, the
//     PIN is asked for (Config.DigitAttempts wrong PINs end the call with
//     403), then the number to dial (a number that does not normalise
//     counts as a failed attempt). A number outside
//     Config.AllowedDestinations is refused with 403. Otherwise it is
//     called with the service number as caller ID; when it answers,
//     recording starts and the called party hears that the call is
//     recorded.
//   - Anyone else calls: the caller hears (as early media) that the call is
//     recorded and is put through to the owner with their own caller ID;
//     when the owner answers, recording starts.
//   - During a bridged call the owner presses 5, 6 and 7 to pause, resume
//     and stop the recording; both parties hear a prompt.
//   - When the called party cannot be reached, the caller hears a prompt
//     and the call ends with a SIP status that says why.
//   - When either party hangs up, the other leg is hung up.
//
// Wrong PINs and invalid numbers are counted by the handler in
// TransactionAttributes; entries that fail InputDigitsRegex are repeated by
// the runtime itself. Each new prompt gets as Repeat only the attempts the
// handler has left, so the owner gets at most Config.DigitAttempts
// well-formed entries and at most Config.DigitAttempts tries per prompt.
type Handler struct {
	cfg Config
}

// NewHandler checks cfg, applies the defaults of its zero fields and
// normalises its numbers.
func NewHandler(cfg Config) (*Handler, error) {
	cc := cfg.DefaultCountryCode
	if len(cc) > 0 && cc[0] == '+' {
		cc = cc[1:]
	}
	if err := number.ValidateCountryCode(cc); err != nil {
		return nil, fmt.Errorf("callflow: default country code: %w", err)
	}
	cfg.DefaultCountryCode = cc

	service, err := number.Normalize(cfg.ServiceNumber, cc)
	if err != nil {
		return nil, fmt.Errorf("callflow: service number: %w", err)
	}
	owner, err := number.Normalize(cfg.OwnerNumber, cc)
	if err != nil {
		return nil, fmt.Errorf("callflow: owner number: %w", err)
	}
	if owner == service {
		return nil, fmt.Errorf("callflow: owner number %s is the service number; the owner must call from another phone", owner)
	}
	cfg.ServiceNumber, cfg.OwnerNumber = service, owner

	if cfg.OwnerPIN != "" {
		if err := CheckPIN(cfg.OwnerPIN); err != nil {
			return nil, fmt.Errorf("callflow: %w", err)
		}
	}

	if len(cfg.AllowedDestinations) == 0 {
		cfg.AllowedDestinations = []string{"+" + cc}
	} else {
		allowed := make([]string, len(cfg.AllowedDestinations))
		for i, p := range cfg.AllowedDestinations {
			if err := number.ValidatePrefix(p); err != nil {
				return nil, fmt.Errorf("callflow: allowed destinations: %w", err)
			}
			allowed[i] = p
		}
		cfg.AllowedDestinations = allowed
	}

	for _, f := range []struct {
		name  string
		value *int
		def   int
	}{
		{"max call seconds", &cfg.MaxCallSeconds, 0},
		{"ring timeout seconds", &cfg.RingTimeoutSeconds, DefaultRingTimeoutSeconds},
		{"digit timeout milliseconds", &cfg.DigitTimeoutMillis, DefaultDigitTimeoutMillis},
		{"digit attempts", &cfg.DigitAttempts, DefaultDigitAttempts},
	} {
		if *f.value < 0 {
			return nil, fmt.Errorf("callflow: %s is %d; it must not be negative (0 means the default)", f.name, *f.value)
		}
		if *f.value == 0 {
			*f.value = f.def
		}
	}
	return &Handler{cfg: cfg}, nil
}

// Config returns the handler's configuration with defaults applied and
// numbers normalised.
func (h *Handler) Config() Config {
	c := h.cfg
	c.AllowedDestinations = append([]string(nil), h.cfg.AllowedDestinations...)
	return c
}

// Handle returns the actions for ev. The Response always carries the full
// TransactionAttributes and a non-nil (possibly empty) Actions list; ev is
// not modified. Events and actions the flow does not expect get no actions.
func (h *Handler) Handle(ev Event) Response {
	var (
		attrs   map[string]string
		actions []Action
	)
	if ev.InvocationEventType == NewInboundCall {
		attrs, actions = h.newCall(ev)
	} else {
		attrs = copyAttrs(ev.CallDetails.TransactionAttributes)
		switch ev.InvocationEventType {
		case ActionSuccessful:
			actions = h.actionSuccessful(ev, attrs)
		case ActionFailed:
			actions = h.actionFailed(ev, attrs)
		case DigitsReceived:
			actions = h.digitsReceived(ev, attrs)
		case Hangup:
			actions = hangupOthers(ev)
		}
	}
	if actions == nil {
		actions = []Action{}
	}
	return Response{SchemaVersion: SchemaVersion, Actions: actions, TransactionAttributes: attrs}
}

// newCall starts a transaction: the owner dialling out, or anyone else
// calling the owner.
func (h *Handler) newCall(ev Event) (map[string]string, []Action) {
	attrs := map[string]string{}
	legA, _ := participant(ev.CallDetails.Participants, LegA, "")
	caller, err := number.Normalize(legA.From, h.cfg.DefaultCountryCode)
	known := err == nil

	if known && caller == h.cfg.OwnerNumber {
		attrs[AttrDirection] = CallOutbound
		attrs[AttrOwnerTag] = LegA
		if h.cfg.OwnerPIN != "" {
			attrs[keyStage] = stagePIN
			return attrs, []Action{h.askPIN(h.cfg.DigitAttempts)}
		}
		attrs[keyStage] = stageNumber
		return attrs, []Action{h.askNumber(h.cfg.DigitAttempts)}
	}

	attrs[AttrDirection] = CallInbound
	attrs[AttrOwnerTag] = LegB
	attrs[keyStage] = stageBridging
	callerID := h.cfg.ServiceNumber
	if known {
		attrs[AttrParty] = caller
		callerID = caller
	}
	notice := PromptRecorded
	if ev.CallDetails.RecordingUnavailable {
		notice = PromptNotRecorded
	}
	return attrs, []Action{
		playAudio(LegA, notice, true),
		playAudio(LegA, PromptConnecting, true),
		h.callAndBridge(callerID, h.cfg.OwnerNumber),
	}
}

// actionSuccessful continues the flow after the last action of a list.
func (h *Handler) actionSuccessful(ev Event, attrs map[string]string) []Action {
	ad := ev.ActionData
	if ad == nil {
		return nil
	}
	stage := attrs[keyStage]
	switch {
	case ad.Type == ActionPlayAudioAndGetDigits && stage == stagePIN && h.cfg.OwnerPIN != "":
		return h.checkPIN(ad.ReceivedDigits, attrs)
	case ad.Type == ActionPlayAudioAndGetDigits && stage == stageNumber:
		return h.dial(ad.ReceivedDigits, attrs)
	case ad.Type == ActionCallAndBridge && stage == stageBridging:
		if ev.CallDetails.RecordingUnavailable {
			return bridgedUnrecorded(attrs)
		}
		return bridged(attrs)
	}
	return nil
}

// checkPIN compares the entered PIN and asks for the number, or again for
// the PIN, or ends the call.
func (h *Handler) checkPIN(digits string, attrs map[string]string) []Action {
	if subtle.ConstantTimeCompare([]byte(digits), []byte(h.cfg.OwnerPIN)) == 1 {
		attrs[keyStage] = stageNumber
		return []Action{h.askNumber(h.cfg.DigitAttempts)}
	}
	n := attempts(attrs, keyPINAttempts, h.cfg.DigitAttempts) + 1
	attrs[keyPINAttempts] = strconv.Itoa(n)
	if n >= h.cfg.DigitAttempts {
		return endCall(attrs, OutcomeRejectedPIN, PromptInvalidInput, "403", false)
	}
	return []Action{
		playAudio(LegA, PromptInvalidInput, false),
		h.askPIN(h.cfg.DigitAttempts - n),
	}
}

// dial normalises the number the owner entered and calls it, or asks again,
// or ends the call.
func (h *Handler) dial(digits string, attrs map[string]string) []Action {
	dest, err := number.Normalize(digits, h.cfg.DefaultCountryCode)
	if err != nil {
		n := attempts(attrs, keyNumberAttempts, h.cfg.DigitAttempts) + 1
		attrs[keyNumberAttempts] = strconv.Itoa(n)
		if n >= h.cfg.DigitAttempts {
			return endCall(attrs, OutcomeInvalidNumber, PromptInvalidInput, "", false)
		}
		return []Action{
			playAudio(LegA, PromptInvalidInput, false),
			h.askNumber(h.cfg.DigitAttempts - n),
		}
	}
	attrs[AttrParty] = dest
	if !number.HasPrefix(dest, h.cfg.AllowedDestinations) || dest == h.cfg.ServiceNumber {
		return endCall(attrs, OutcomeDestinationNotAllowed, PromptNotAllowed, "403", false)
	}
	attrs[keyStage] = stageBridging
	return []Action{
		playAudio(LegA, PromptConnecting, false),
		h.callAndBridge(h.cfg.ServiceNumber, dest),
	}
}

// bridged starts recording once both legs are connected.
func bridged(attrs map[string]string) []Action {
	attrs[keyStage] = stageBridged
	attrs[AttrRecording] = RecordingOn
	if attrs[AttrDirection] == CallOutbound {
		attrs[AttrOwnerTag] = LegA
		return []Action{
			startRecording(LegA),
			playAudio(LegB, PromptRecorded, false),
			receiveControlDigits(LegA),
		}
	}
	attrs[AttrOwnerTag] = LegB
	return []Action{
		startRecording(LegB),
		receiveControlDigits(LegB),
	}
}

// bridgedUnrecorded connects a call that cannot be recorded, telling
// whoever has not heard it yet: both sides when the owner dialled out, the
// owner when the caller already heard it before the bridge.
func bridgedUnrecorded(attrs map[string]string) []Action {
	attrs[keyStage] = stageBridged
	attrs[AttrRecording] = RecordingUnavailable
	if attrs[AttrDirection] == CallOutbound {
		attrs[AttrOwnerTag] = LegA
		return []Action{playAudio(Both, PromptNotRecorded, false)}
	}
	attrs[AttrOwnerTag] = LegB
	return []Action{playAudio(LegB, PromptNotRecorded, false)}
}

// endCall records outcome, then plays the prompt key to LEG-A (none when
// key is empty) and hangs LEG-A up with the SIP status code ("" for a
// normal hang-up).
func endCall(attrs map[string]string, outcome, key, code string, earlyMedia bool) []Action {
	attrs[AttrOutcome] = outcome
	attrs[keyStage] = stageEnded
	attrs[keyHangupCode] = code
	if key == "" {
		return []Action{hangupLeg(LegA, code)}
	}
	return []Action{
		playAudio(LegA, key, earlyMedia),
		hangupLeg(LegA, code),
	}
}

// actionFailed handles an action that failed; the actions after it in its
// list were dropped by the runtime.
func (h *Handler) actionFailed(ev Event, attrs map[string]string) []Action {
	ad := ev.ActionData
	if ad == nil || ad.ErrorType == ErrParticipantHungUp || ad.Type == ActionHangup {
		return nil
	}
	stage := attrs[keyStage]
	switch ad.Type {
	case ActionStartCallRecording, ActionStopCallRecording:
		if stage == stageBridged {
			attrs[AttrRecording] = RecordingFailed
		}
		return nil
	case ActionPauseCallRecording:
		if stage == stageBridged && attrs[AttrRecording] == RecordingPaused {
			attrs[AttrRecording] = RecordingOn
		}
		return nil
	case ActionResumeCallRecording:
		if stage == stageBridged && attrs[AttrRecording] == RecordingOn {
			attrs[AttrRecording] = RecordingPaused
		}
		return nil
	}
	if legGone(ev, LegA) {
		return nil
	}
	switch {
	case stage == stageBridging && ad.Type == ActionCallAndBridge:
		code, outcome := farEndFailure(ad)
		return endCall(attrs, outcome, PromptUnableToConnect, code, attrs[AttrDirection] == CallInbound)
	case (stage == stagePIN || stage == stageNumber) && ad.Type == ActionPlayAudioAndGetDigits &&
		ad.ErrorType != ErrSystemException && ad.ErrorType != ErrInvalidActionParameter:
		// Every attempt timed out or did not match InputDigitsRegex.
		return endCall(attrs, OutcomeNoDigits, "", "", false)
	case stage == stagePIN || stage == stageNumber || stage == stageBridging:
		// An action the flow needed failed (and dropped any action after
		// it): the caller would wait in silence.
		return endCall(attrs, OutcomeError, "", "500", false)
	case stage == stageEnded:
		// The prompt before the flow's own Hangup failed: hang up anyway.
		return []Action{hangupLeg(LegA, attrs[keyHangupCode])}
	}
	return nil
}

// farEndFailure maps the outcome of a failed CallAndBridge to the SIP status
// given to the caller and an AttrOutcome value. The far end's SIP status is
// used when there is one, ErrorType otherwise.
func farEndFailure(ad *ActionData) (code, outcome string) {
	c := ad.SipResponseCode
	switch {
	case c == 486 || c == 600:
		return "486", OutcomeBusy
	case c == 408 || c == 480 || c == 487:
		return "480", OutcomeNoAnswer
	case c == 401 || c == 407:
		// The trunk refused our credentials: our problem, not the
		// caller's, and a 401 without a challenge would confuse them.
		return "503", OutcomeUnavailable
	case c >= 400 && c < 500, c > 600 && c < 700:
		return strconv.Itoa(c), OutcomeRejected
	case c >= 500 && c < 600:
		return "503", OutcomeUnavailable
	}
	switch ad.ErrorType {
	case ErrCallDestinationBusy:
		return "486", OutcomeBusy
	case ErrCallDestinationNoAnswer:
		return "480", OutcomeNoAnswer
	case ErrCallDestinationRejected:
		return "403", OutcomeRejected
	}
	return "503", OutcomeUnavailable
}

// digitsReceived acts on the recording control digits the owner pressed
// during a bridged call.
func (h *Handler) digitsReceived(ev Event, attrs map[string]string) []Action {
	ad := ev.ActionData
	if ad == nil || attrs[keyStage] != stageBridged {
		return nil
	}
	owner := attrs[AttrOwnerTag]
	tag := ad.Parameters.ParticipantTag
	if tag == "" && ad.Parameters.CallID != "" {
		p, ok := participant(ev.CallDetails.Participants, "", ad.Parameters.CallID)
		if !ok {
			return nil
		}
		tag = p.ParticipantTag
	}
	if tag != "" && tag != owner {
		return nil
	}
	var actions []Action
	for _, d := range ad.ReceivedDigits {
		state := attrs[AttrRecording]
		switch {
		case d == DigitPauseRecording && state == RecordingOn:
			attrs[AttrRecording] = RecordingPaused
			actions = append(actions, recordingAction(ActionPauseCallRecording), playAudio(Both, PromptPaused, false))
		case d == DigitResumeRecording && state == RecordingPaused:
			attrs[AttrRecording] = RecordingOn
			actions = append(actions, recordingAction(ActionResumeCallRecording), playAudio(Both, PromptResumed, false))
		case d == DigitStopRecording && (state == RecordingOn || state == RecordingPaused):
			attrs[AttrRecording] = RecordingStopped
			actions = append(actions, recordingAction(ActionStopCallRecording), playAudio(Both, PromptStopped, false))
		}
	}
	return actions
}

// hangupOthers hangs up every leg still up after one hung up.
func hangupOthers(ev Event) []Action {
	var gone Parameters
	if ev.ActionData != nil {
		gone = ev.ActionData.Parameters
	}
	var actions []Action
	for _, p := range ev.CallDetails.Participants {
		switch {
		case p.ParticipantTag == "" || p.Status == StatusDisconnected:
		case gone.ParticipantTag != "" && p.ParticipantTag == gone.ParticipantTag:
		case gone.CallID != "" && p.CallID == gone.CallID:
		default:
			actions = append(actions, hangupLeg(p.ParticipantTag, ""))
		}
	}
	return actions
}

// participant finds the leg with the given tag, or else (when callID is not
// empty) the given call id.
func participant(ps []Participant, tag, callID string) (Participant, bool) {
	for _, p := range ps {
		if (tag != "" && p.ParticipantTag == tag) || (callID != "" && p.CallID == callID) {
			return p, true
		}
	}
	return Participant{}, false
}

// legGone reports whether the event shows the leg tag as disconnected.
func legGone(ev Event, tag string) bool {
	p, ok := participant(ev.CallDetails.Participants, tag, "")
	return ok && p.Status == StatusDisconnected
}

// CheckPIN says what is wrong with an owner PIN, or nil: it must be
// PINMinDigits to PINMaxDigits digits.
func CheckPIN(pin string) error {
	if !number.AllDigits(pin) || len(pin) < PINMinDigits || len(pin) > PINMaxDigits {
		return fmt.Errorf("owner PIN must be %d to %d digits", PINMinDigits, PINMaxDigits)
	}
	return nil
}
