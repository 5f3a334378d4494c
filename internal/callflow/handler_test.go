package callflow

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Numbers of the test configuration (UK drama ranges, US 555-01xx).
const (
	service  = "+442079460000"
	owner    = "+447700900123"
	stranger = "+12125550100"
	ukDest   = "+442079460999"
	frDest   = "+33142685300"
)

// testConfig is the configuration most flows run with. The owner's number
// is given in national form on purpose.
func testConfig() Config {
	return Config{
		ServiceNumber:      service,
		OwnerNumber:        "07700 900123",
		DefaultCountryCode: "44",
		MaxCallSeconds:     3600,
	}
}

func withPIN(c Config) Config {
	c.OwnerPIN = "4321"
	return c
}

func allowing(prefixes ...string) func(Config) Config {
	return func(c Config) Config {
		c.AllowedDestinations = prefixes
		return c
	}
}

// nanp is a North American configuration.
func nanp(c Config) Config {
	c.DefaultCountryCode = "1"
	c.ServiceNumber = "+12125550199"
	c.OwnerNumber = "(212) 555-0111"
	c.AllowedDestinations = []string{"+1", "+44"}
	return c
}

// Participants.

func legAFrom(from, status string) Participant {
	return Participant{
		CallID: "call-a", ParticipantTag: LegA, From: from, To: service,
		Direction: DirectionInbound, StartTimeInMilliseconds: "1700000000000", Status: status,
	}
}

func legBTo(to, status string) Participant {
	return Participant{
		CallID: "call-b", ParticipantTag: LegB, From: service, To: to,
		Direction: DirectionOutbound, StartTimeInMilliseconds: "1700000005000", Status: status,
	}
}

// Events; the walker fills in the transaction id, sequence and attributes.

func newCall(from string) Event {
	return Event{
		InvocationEventType: NewInboundCall,
		CallDetails:         CallDetails{Participants: []Participant{legAFrom(from, StatusConnected)}},
	}
}

func succeeded(t ActionType, digits string, ps ...Participant) Event {
	return Event{
		InvocationEventType: ActionSuccessful,
		ActionData:          &ActionData{Type: t, Parameters: Parameters{ParticipantTag: LegA}, ReceivedDigits: digits},
		CallDetails:         CallDetails{Participants: ps},
	}
}

func failed(t ActionType, errType string, sipCode int, ps ...Participant) Event {
	return Event{
		InvocationEventType: ActionFailed,
		ActionData: &ActionData{
			Type: t, ErrorType: errType, ErrorMessage: "test failure", SipResponseCode: sipCode,
		},
		CallDetails: CallDetails{Participants: ps},
	}
}

func digitsFrom(tag, digits string, ps ...Participant) Event {
	return Event{
		InvocationEventType: DigitsReceived,
		ActionData: &ActionData{
			Type: ActionReceiveDigits, ReceivedDigits: digits,
			Parameters: Parameters{ParticipantTag: tag, InputDigitsRegex: "^[567]$"},
		},
		CallDetails: CallDetails{Participants: ps},
	}
}

func hungUp(tag string, ps ...Participant) Event {
	return Event{
		InvocationEventType: Hangup,
		ActionData:          &ActionData{Type: ActionHangup, Parameters: Parameters{ParticipantTag: tag}},
		CallDetails:         CallDetails{Participants: ps},
	}
}

// Expected actions, written out field by field.

func wPlay(tag, key string) Action {
	return Action{Type: ActionPlayAudio, Parameters: Parameters{
		ParticipantTag: tag, AudioSource: &AudioSource{Type: "Prompt", Key: key},
	}}
}

func wPlayEarly(tag, key string) Action {
	a := wPlay(tag, key)
	a.Parameters.EarlyMedia = true
	return a
}

func wGetPIN(repeat int) Action {
	return Action{Type: ActionPlayAudioAndGetDigits, Parameters: Parameters{
		ParticipantTag:                        LegA,
		AudioSource:                           &AudioSource{Type: "Prompt", Key: "enter_pin.wav"},
		FailureAudioSource:                    &AudioSource{Type: "Prompt", Key: "invalid_input.wav"},
		InputDigitsRegex:                      "^[0-9]{1,12}$",
		MinNumberOfDigits:                     1,
		MaxNumberOfDigits:                     12,
		TerminatorDigits:                      []string{"#"},
		InBetweenDigitsDurationInMilliseconds: 2500,
		RepeatDurationInMilliseconds:          5000,
		Repeat:                                repeat,
	}}
}

func wGetNumber(repeat int) Action {
	return Action{Type: ActionPlayAudioAndGetDigits, Parameters: Parameters{
		ParticipantTag:                        LegA,
		AudioSource:                           &AudioSource{Type: "Prompt", Key: "enter_number.wav"},
		FailureAudioSource:                    &AudioSource{Type: "Prompt", Key: "invalid_input.wav"},
		InputDigitsRegex:                      "^[0-9]{10,15}$",
		MinNumberOfDigits:                     10,
		MaxNumberOfDigits:                     15,
		TerminatorDigits:                      []string{"#"},
		InBetweenDigitsDurationInMilliseconds: 2500,
		RepeatDurationInMilliseconds:          5000,
		Repeat:                                repeat,
	}}
}

func wBridge(callerID, dest string) Action {
	return Action{Type: ActionCallAndBridge, Parameters: Parameters{
		CallTimeoutSeconds:     30,
		CallerIDNumber:         callerID,
		Endpoints:              []BridgeEndpoint{{BridgeEndpointType: "PSTN", URI: dest}},
		MaxCallDurationSeconds: 3600,
	}}
}

func wHangup(tag, code string) Action {
	return Action{Type: ActionHangup, Parameters: Parameters{ParticipantTag: tag, SipResponseCode: code}}
}

func wStartRec(ownerTag string) Action {
	return Action{Type: ActionStartCallRecording, Parameters: Parameters{
		ParticipantTag: ownerTag, Track: "BOTH",
		Destination: &RecordingDestination{Type: "Local", Location: "recordings"},
	}}
}

func wReceive(tag string) Action {
	return Action{Type: ActionReceiveDigits, Parameters: Parameters{ParticipantTag: tag, InputDigitsRegex: "^[567]$"}}
}

var (
	wPause  = Action{Type: ActionPauseCallRecording}
	wResume = Action{Type: ActionResumeCallRecording}
	wStop   = Action{Type: ActionStopCallRecording}
)

func acts(a ...Action) []Action {
	if a == nil {
		return []Action{}
	}
	return a
}

// kv builds the expected exported attributes from key, value pairs.
func kv(pairs ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

// exportedKeys are the attributes the runtime reads; the walker checks all
// of them whenever a step gives attrs.
var exportedKeys = []string{AttrDirection, AttrParty, AttrOwnerTag, AttrOutcome, AttrRecording}

// step is one invocation of a flow: the event, the actions it must get and,
// when attrs is not nil, the exported attributes it must leave (a key
// missing from attrs must be absent).
type step struct {
	name  string
	ev    Event
	want  []Action
	attrs map[string]string
}

// walk runs steps against h, feeding each response's attributes into the
// next event as the runtime does.
func walk(t *testing.T, h *Handler, steps []step) {
	t.Helper()
	var attrs map[string]string
	for i, s := range steps {
		ev := s.ev
		ev.SchemaVersion = SchemaVersion
		ev.Sequence = i + 1
		ev.CallDetails.TransactionID = "tx-test"
		if ev.InvocationEventType != NewInboundCall {
			ev.CallDetails.TransactionAttributes = attrs
		}
		resp := h.Handle(ev)
		checkResponse(t, h, resp)
		if !reflect.DeepEqual(resp.Actions, s.want) {
			t.Fatalf("step %d (%s): actions\n got  %s\n want %s", i+1, s.name, toJSON(resp.Actions), toJSON(s.want))
		}
		if s.attrs != nil {
			for _, k := range exportedKeys {
				got, gotOK := resp.TransactionAttributes[k]
				want, wantOK := s.attrs[k]
				if got != want || gotOK != wantOK {
					t.Fatalf("step %d (%s): attribute %q = %q (present %v), want %q (present %v); all: %v",
						i+1, s.name, k, got, gotOK, want, wantOK, resp.TransactionAttributes)
				}
			}
		}
		attrs = resp.TransactionAttributes
	}
}

// checkResponse checks what must hold for every response.
func checkResponse(t *testing.T, h *Handler, resp Response) {
	t.Helper()
	if resp.SchemaVersion != SchemaVersion {
		t.Fatalf("SchemaVersion = %q, want %q", resp.SchemaVersion, SchemaVersion)
	}
	if resp.Actions == nil {
		t.Fatalf("Actions is nil; want an empty list to wait")
	}
	if resp.TransactionAttributes == nil {
		t.Fatalf("TransactionAttributes is nil; want the full map")
	}
	for _, a := range resp.Actions {
		if !knownActionTypes[a.Type] {
			t.Fatalf("action of unknown type %q", a.Type)
		}
		if a.Type == ActionCallAndBridge {
			if a.Parameters.CallerIDNumber == h.cfg.OwnerNumber {
				t.Fatalf("CallAndBridge shows the owner's number %s as caller ID", h.cfg.OwnerNumber)
			}
			if a.Parameters.CallerIDNumber == "" {
				t.Fatalf("CallAndBridge without a caller ID")
			}
		}
	}
}

var knownActionTypes = map[ActionType]bool{
	ActionPlayAudio: true, ActionPlayAudioAndGetDigits: true, ActionCallAndBridge: true,
	ActionHangup: true, ActionReceiveDigits: true, ActionStartCallRecording: true,
	ActionPauseCallRecording: true, ActionResumeCallRecording: true, ActionStopCallRecording: true,
	ActionPause: true,
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func mustHandler(t testing.TB, cfg Config) *Handler {
	t.Helper()
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

// Participant lists at the usual points of a call.
var (
	aUp       = []Participant{legAFrom(owner, StatusConnected)}
	aDown     = []Participant{legAFrom(owner, StatusDisconnected)}
	bothUp    = []Participant{legAFrom(owner, StatusConnected), legBTo(ukDest, StatusConnected)}
	aDownBUp  = []Participant{legAFrom(owner, StatusDisconnected), legBTo(ukDest, StatusConnected)}
	aUpBDown  = []Participant{legAFrom(owner, StatusConnected), legBTo(ukDest, StatusDisconnected)}
	bothDown  = []Participant{legAFrom(owner, StatusDisconnected), legBTo(ukDest, StatusDisconnected)}
	sUp       = []Participant{legAFrom(stranger, StatusConnected)}
	sDown     = []Participant{legAFrom(stranger, StatusDisconnected)}
	sBothUp   = []Participant{legAFrom(stranger, StatusConnected), legBTo(owner, StatusConnected)}
	sADownBUp = []Participant{legAFrom(stranger, StatusDisconnected), legBTo(owner, StatusConnected)}
	sAUpBDown = []Participant{legAFrom(stranger, StatusConnected), legBTo(owner, StatusDisconnected)}
	sBothDown = []Participant{legAFrom(stranger, StatusDisconnected), legBTo(owner, StatusDisconnected)}
)

// Attribute sets at the usual points of a call.
var (
	outStart    = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA)
	outDialling = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest)
	outOn       = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrRecording, RecordingOn)
	outPaused   = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrRecording, RecordingPaused)
	outStopped  = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrRecording, RecordingStopped)
	outFailed   = kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrRecording, RecordingFailed)
	inDialling  = kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger)
	inOn        = kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger, AttrRecording, RecordingOn)
	inPaused    = kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger, AttrRecording, RecordingPaused)
)

// ownerReachesDestination is the owner (no PIN) dialling the national number
// 020 7946 0999 up to the bridged call.
func ownerReachesDestination() []step {
	return []step{
		{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
		{"owner enters number", succeeded(ActionPlayAudioAndGetDigits, "02079460999", aUp...),
			acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
		{"destination answers", succeeded(ActionCallAndBridge, "", bothUp...),
			acts(wStartRec(LegA), wPlay(LegB, "recorded.wav"), wReceive(LegA)), outOn},
		{"digits armed", succeeded(ActionReceiveDigits, "", bothUp...), acts(), outOn},
	}
}

// strangerReachesOwner is a stranger calling up to the bridged call.
func strangerReachesOwner() []step {
	return []step{
		{"stranger calls", newCall(stranger),
			acts(wPlayEarly(LegA, "recorded.wav"), wPlayEarly(LegA, "connecting.wav"), wBridge(stranger, owner)), inDialling},
		{"owner answers", succeeded(ActionCallAndBridge, "", sBothUp...),
			acts(wStartRec(LegB), wReceive(LegB)), inOn},
		{"digits armed", succeeded(ActionReceiveDigits, "", sBothUp...), acts(), inOn},
	}
}

func concat(parts ...[]step) []step {
	var all []step
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

func TestHandleFlows(t *testing.T) {
	same := func(c Config) Config { return c }
	tests := []struct {
		name  string
		cfg   func(Config) Config
		steps []step
	}{
		{
			name: "owner without PIN: records, pauses, resumes, stops, hangs up",
			cfg:  same,
			steps: concat(ownerReachesDestination(), []step{
				{"5 pauses", digitsFrom(LegA, "5", bothUp...), acts(wPause, wPlay(Both, "recording_paused.wav")), outPaused},
				{"prompt played", succeeded(ActionPlayAudio, "", bothUp...), acts(), outPaused},
				{"5 again does nothing", digitsFrom(LegA, "5", bothUp...), acts(), outPaused},
				{"6 resumes", digitsFrom(LegA, "6", bothUp...), acts(wResume, wPlay(Both, "recording_resumed.wav")), outOn},
				{"6 again does nothing", digitsFrom(LegA, "6", bothUp...), acts(), outOn},
				{"5 pauses again", digitsFrom(LegA, "5", bothUp...), acts(wPause, wPlay(Both, "recording_paused.wav")), outPaused},
				{"7 stops while paused", digitsFrom(LegA, "7", bothUp...), acts(wStop, wPlay(Both, "recording_stopped.wav")), outStopped},
				{"5 after stop", digitsFrom(LegA, "5", bothUp...), acts(), outStopped},
				{"6 after stop", digitsFrom(LegA, "6", bothUp...), acts(), outStopped},
				{"7 after stop", digitsFrom(LegA, "7", bothUp...), acts(), outStopped},
				{"owner hangs up", hungUp(LegA, aDownBUp...), acts(wHangup(LegB, "")), outStopped},
				{"other leg gone", hungUp(LegB, bothDown...), acts(), outStopped},
			}),
		},
		{
			name: "owner stops while recording; the other party hangs up",
			cfg:  same,
			steps: concat(ownerReachesDestination(), []step{
				{"7 stops", digitsFrom(LegA, "7", bothUp...), acts(wStop, wPlay(Both, "recording_stopped.wav")), outStopped},
				{"6 after stop", digitsFrom(LegA, "6", bothUp...), acts(), outStopped},
				{"destination hangs up", hungUp(LegB, aUpBDown...), acts(wHangup(LegA, "")), outStopped},
				{"owner leg gone", hungUp(LegA, bothDown...), acts(), outStopped},
			}),
		},
		{
			name: "several digits in one event, digits from the other party ignored",
			cfg:  same,
			steps: concat(ownerReachesDestination(), []step{
				{"LEG-B presses 5", digitsFrom(LegB, "5", bothUp...), acts(), outOn},
				{"56 at once", digitsFrom(LegA, "56", bothUp...),
					acts(wPause, wPlay(Both, "recording_paused.wav"), wResume, wPlay(Both, "recording_resumed.wav")), outOn},
				{"other digits", digitsFrom(LegA, "1#*", bothUp...), acts(), outOn},
			}),
		},
		{
			name: "owner caller ID in national format",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall("07700 900123"), acts(wGetNumber(3)), outStart},
			},
		},
		{
			name: "owner caller ID formatted international",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall("+44 (7700) 900-123"), acts(wGetNumber(3)), outStart},
			},
		},
		{
			name: "owner dials 00 international",
			cfg:  allowing("+44", "+33"),
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters 0033...", succeeded(ActionPlayAudioAndGetDigits, "0033142685300", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge(service, frDest)),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, frDest)},
			},
		},
		{
			name: "NANP owner dials 011 international",
			cfg:  nanp,
			steps: []step{
				{"owner calls", newCall("+12125550111"), acts(wGetNumber(3)), outStart},
				{"owner enters 011...", succeeded(ActionPlayAudioAndGetDigits, "011442079460999", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge("+12125550199", ukDest)),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest)},
			},
		},
		{
			name: "NANP owner dials ten digits",
			cfg:  nanp,
			steps: []step{
				{"owner calls", newCall("2125550111"), acts(wGetNumber(3)), outStart},
				{"owner enters 10 digits", succeeded(ActionPlayAudioAndGetDigits, "3105550100", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge("+12125550199", "+13105550100")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, "+13105550100")},
			},
		},
		{
			name: "NANP owner dials 1 and ten digits",
			cfg:  nanp,
			steps: []step{
				{"owner calls", newCall("+12125550111"), acts(wGetNumber(3)), outStart},
				{"owner enters 11 digits", succeeded(ActionPlayAudioAndGetDigits, "13105550100", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge("+12125550199", "+13105550100")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, "+13105550100")},
			},
		},
		{
			name: "destination not allowed",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters a French number", succeeded(ActionPlayAudioAndGetDigits, "0033142685300", aUp...),
					acts(wPlay(LegA, "not_allowed.wav"), wHangup(LegA, "403")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, frDest, AttrOutcome, OutcomeDestinationNotAllowed)},
				{"hangup done", succeeded(ActionHangup, "", aDown...), acts(), nil},
				{"leg gone", hungUp(LegA, aDown...), acts(),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, frDest, AttrOutcome, OutcomeDestinationNotAllowed)},
			},
		},
		{
			name: "allowed prefix narrower than the country",
			cfg:  allowing("+4420"),
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters a mobile number", succeeded(ActionPlayAudioAndGetDigits, "07700900555", aUp...),
					acts(wPlay(LegA, "not_allowed.wav"), wHangup(LegA, "403")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, "+447700900555", AttrOutcome, OutcomeDestinationNotAllowed)},
			},
		},
		{
			name: "owner dials the service number",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters the service number", succeeded(ActionPlayAudioAndGetDigits, "02079460000", aUp...),
					acts(wPlay(LegA, "not_allowed.wav"), wHangup(LegA, "403")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, service, AttrOutcome, OutcomeDestinationNotAllowed)},
			},
		},
		{
			name: "not-allowed prompt fails: hang up anyway",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters a French number", succeeded(ActionPlayAudioAndGetDigits, "0033142685300", aUp...),
					acts(wPlay(LegA, "not_allowed.wav"), wHangup(LegA, "403")), nil},
				{"prompt fails", failed(ActionPlayAudio, ErrSystemException, 0, aUp...), acts(wHangup(LegA, "403")), nil},
				{"hangup fails too", failed(ActionHangup, ErrSystemException, 0, aUp...), acts(), nil},
			},
		},
		{
			name: "invalid number three times",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"first invalid", succeeded(ActionPlayAudioAndGetDigits, "0000000000", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetNumber(2)), outStart},
				{"second invalid", succeeded(ActionPlayAudioAndGetDigits, "0123456789012345", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetNumber(1)), outStart},
				{"third invalid", succeeded(ActionPlayAudioAndGetDigits, "0000000000", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wHangup(LegA, "")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrOutcome, OutcomeInvalidNumber)},
				{"hangup done", succeeded(ActionHangup, "", aDown...), acts(), nil},
			},
		},
		{
			name: "invalid number, then a valid one",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"invalid", succeeded(ActionPlayAudioAndGetDigits, "0000000000", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetNumber(2)), outStart},
				{"valid", succeeded(ActionPlayAudioAndGetDigits, "2079460999", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
			},
		},
		{
			name: "number digits never received",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"digits fail", failed(ActionPlayAudioAndGetDigits, ErrInvalidDigitsReceived, 0, aUp...),
					acts(wHangup(LegA, "")), kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrOutcome, OutcomeNoDigits)},
				{"leg gone", hungUp(LegA, aDown...), acts(), nil},
			},
		},
		{
			name: "owner hangs up while entering the number",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"digits abandoned", failed(ActionPlayAudioAndGetDigits, ErrParticipantHungUp, 0, aDown...), acts(), outStart},
				{"leg gone", hungUp(LegA, aDown...), acts(), outStart},
			},
		},
		{
			name: "right PIN",
			cfg:  withPIN,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetPIN(3)), outStart},
				{"right PIN", succeeded(ActionPlayAudioAndGetDigits, "4321", aUp...), acts(wGetNumber(3)), outStart},
				{"owner enters number", succeeded(ActionPlayAudioAndGetDigits, "02079460999", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
			},
		},
		{
			name: "wrong PIN three times",
			cfg:  withPIN,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetPIN(3)), outStart},
				{"wrong PIN 1", succeeded(ActionPlayAudioAndGetDigits, "1111", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetPIN(2)), outStart},
				{"wrong PIN 2", succeeded(ActionPlayAudioAndGetDigits, "43210", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetPIN(1)), outStart},
				{"wrong PIN 3", succeeded(ActionPlayAudioAndGetDigits, "432", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wHangup(LegA, "403")),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrOutcome, OutcomeRejectedPIN)},
				{"hangup done", succeeded(ActionHangup, "", aDown...), acts(), nil},
				{"late digits ignored", succeeded(ActionPlayAudioAndGetDigits, "4321", aUp...), acts(), nil},
			},
		},
		{
			name: "wrong PIN, then the right one",
			cfg:  withPIN,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetPIN(3)), outStart},
				{"wrong PIN", succeeded(ActionPlayAudioAndGetDigits, "1234", aUp...),
					acts(wPlay(LegA, "invalid_input.wav"), wGetPIN(2)), outStart},
				{"right PIN", succeeded(ActionPlayAudioAndGetDigits, "4321", aUp...), acts(wGetNumber(3)), outStart},
			},
		},
		{
			name: "PIN digits never received",
			cfg:  withPIN,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetPIN(3)), outStart},
				{"digits fail", failed(ActionPlayAudioAndGetDigits, ErrInvalidDigitsReceived, 0, aUp...),
					acts(wHangup(LegA, "")), kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrOutcome, OutcomeNoDigits)},
			},
		},
		{
			name: "PIN prompt fails in the runtime",
			cfg:  withPIN,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetPIN(3)), outStart},
				{"system error", failed(ActionPlayAudioAndGetDigits, ErrSystemException, 0, aUp...),
					acts(wHangup(LegA, "500")), kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrOutcome, OutcomeError)},
			},
		},
		{
			name: "connecting prompt fails",
			cfg:  same,
			steps: []step{
				{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
				{"owner enters number", succeeded(ActionPlayAudioAndGetDigits, "02079460999", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
				{"prompt fails", failed(ActionPlayAudio, ErrSystemException, 0, aUp...),
					acts(wHangup(LegA, "500")), kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrOutcome, OutcomeError)},
			},
		},
		{
			name: "owner hangs up while the destination rings",
			cfg:  same,
			steps: concat(ownerReachesDestination()[:2], []step{
				{"owner hangs up", hungUp(LegA, aDownBUp...), acts(wHangup(LegB, "")), outDialling},
				{"bridge abandoned", failed(ActionCallAndBridge, ErrParticipantHungUp, 0, bothDown...), acts(), outDialling},
			}),
		},
		{
			name: "owner hangs up before LEG-B exists",
			cfg:  same,
			steps: concat(ownerReachesDestination()[:2], []step{
				{"owner hangs up", hungUp(LegA, aDown...), acts(), outDialling},
				{"bridge fails without hang-up error", failed(ActionCallAndBridge, ErrCallDestinationUnavailable, 503, aDown...), acts(), outDialling},
			}),
		},
		{
			name: "recording cannot start",
			cfg:  same,
			steps: concat(ownerReachesDestination()[:3], []step{
				{"start fails", failed(ActionStartCallRecording, ErrSystemException, 0, bothUp...), acts(), outFailed},
				{"5 ignored", digitsFrom(LegA, "5", bothUp...), acts(), outFailed},
				{"7 ignored", digitsFrom(LegA, "7", bothUp...), acts(), outFailed},
			}),
		},
		{
			name: "pause and resume fail",
			cfg:  same,
			steps: concat(ownerReachesDestination(), []step{
				{"5 pauses", digitsFrom(LegA, "5", bothUp...), acts(wPause, wPlay(Both, "recording_paused.wav")), outPaused},
				{"pause fails", failed(ActionPauseCallRecording, ErrSystemException, 0, bothUp...), acts(), outOn},
				{"5 pauses", digitsFrom(LegA, "5", bothUp...), acts(wPause, wPlay(Both, "recording_paused.wav")), outPaused},
				{"6 resumes", digitsFrom(LegA, "6", bothUp...), acts(wResume, wPlay(Both, "recording_resumed.wav")), outOn},
				{"resume fails", failed(ActionResumeCallRecording, ErrSystemException, 0, bothUp...), acts(), outPaused},
				{"prompt to both fails", failed(ActionPlayAudio, ErrSystemException, 0, bothUp...), acts(), outPaused},
			}),
		},
		{
			name: "stranger calls the owner",
			cfg:  same,
			steps: concat(strangerReachesOwner(), []step{
				{"stranger presses 5", digitsFrom(LegA, "5", sBothUp...), acts(), inOn},
				{"owner presses 5", digitsFrom(LegB, "5", sBothUp...), acts(wPause, wPlay(Both, "recording_paused.wav")), inPaused},
				{"owner presses 6, tagged by call id", Event{
					InvocationEventType: DigitsReceived,
					ActionData:          &ActionData{Type: ActionReceiveDigits, ReceivedDigits: "6", Parameters: Parameters{CallID: "call-b"}},
					CallDetails:         CallDetails{Participants: sBothUp},
				}, acts(wResume, wPlay(Both, "recording_resumed.wav")), inOn},
				{"unknown call id", Event{
					InvocationEventType: DigitsReceived,
					ActionData:          &ActionData{Type: ActionReceiveDigits, ReceivedDigits: "5", Parameters: Parameters{CallID: "call-x"}},
					CallDetails:         CallDetails{Participants: sBothUp},
				}, acts(), inOn},
				{"stranger hangs up", hungUp(LegA, sADownBUp...), acts(wHangup(LegB, "")), inOn},
				{"owner leg gone", hungUp(LegB, sBothDown...), acts(), inOn},
			}),
		},
		{
			name: "owner hangs up on the stranger",
			cfg:  same,
			steps: concat(strangerReachesOwner(), []step{
				{"owner hangs up", hungUp(LegB, sAUpBDown...), acts(wHangup(LegA, "")), inOn},
			}),
		},
		{
			name: "hang-up identified by call id",
			cfg:  same,
			steps: concat(strangerReachesOwner(), []step{
				{"owner hangs up", Event{
					InvocationEventType: Hangup,
					ActionData:          &ActionData{Type: ActionHangup, Parameters: Parameters{CallID: "call-b"}},
					CallDetails:         CallDetails{Participants: sBothUp},
				}, acts(wHangup(LegA, "")), inOn},
			}),
		},
		{
			name: "stranger hangs up while the owner's phone rings",
			cfg:  same,
			steps: concat(strangerReachesOwner()[:1], []step{
				{"stranger hangs up", hungUp(LegA, sADownBUp...), acts(wHangup(LegB, "")), inDialling},
				{"bridge abandoned", failed(ActionCallAndBridge, ErrParticipantHungUp, 0, sBothDown...), acts(), inDialling},
			}),
		},
		{
			name: "stranger hangs up during the recorded prompt",
			cfg:  same,
			steps: concat(strangerReachesOwner()[:1], []step{
				{"prompt abandoned", failed(ActionPlayAudio, ErrParticipantHungUp, 0, sDown...), acts(), inDialling},
				{"leg gone", hungUp(LegA, sDown...), acts(), inDialling},
			}),
		},
		{
			name: "anonymous stranger",
			cfg:  same,
			steps: []step{
				{"anonymous calls", newCall("anonymous"),
					acts(wPlayEarly(LegA, "recorded.wav"), wPlayEarly(LegA, "connecting.wav"), wBridge(service, owner)),
					kv(AttrDirection, CallInbound, AttrOwnerTag, LegB)},
			},
		},
		{
			name: "stranger with a national caller ID",
			cfg:  same,
			steps: []step{
				{"stranger calls", newCall("020 7946 0555"),
					acts(wPlayEarly(LegA, "recorded.wav"), wPlayEarly(LegA, "connecting.wav"), wBridge("+442079460555", owner)),
					kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, "+442079460555")},
			},
		},
		{
			name: "stranger calls with a PIN configured",
			cfg:  withPIN,
			steps: concat(strangerReachesOwner(), []step{
				{"owner presses 7", digitsFrom(LegB, "7", sBothUp...), acts(wStop, wPlay(Both, "recording_stopped.wav")),
					kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger, AttrRecording, RecordingStopped)},
			}),
		},
		{
			name: "unexpected events",
			cfg:  same,
			steps: concat(ownerReachesDestination()[:1], []step{
				{"ringing", Event{InvocationEventType: Ringing}, acts(), outStart},
				{"answered", Event{InvocationEventType: CallAnswered}, acts(), outStart},
				{"unknown event", Event{InvocationEventType: "SOMETHING_ELSE"}, acts(), outStart},
				{"success without data", Event{InvocationEventType: ActionSuccessful}, acts(), outStart},
				{"failure without data", Event{InvocationEventType: ActionFailed}, acts(), outStart},
				{"digits without data", Event{InvocationEventType: DigitsReceived}, acts(), outStart},
				{"hang-up without data", Event{InvocationEventType: Hangup}, acts(), outStart},
				{"unknown action type", succeeded("Frobnicate", "123", aUp...), acts(), outStart},
				{"bridge success out of turn", succeeded(ActionCallAndBridge, "", bothUp...), acts(), outStart},
				{"digits before the bridge", digitsFrom(LegA, "5", aUp...), acts(), outStart},
				{"the number still works", succeeded(ActionPlayAudioAndGetDigits, "02079460999", aUp...),
					acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			walk(t, mustHandler(t, tt.cfg(testConfig())), tt.steps)
		})
	}
}

func TestHandleBridgeFailure(t *testing.T) {
	tests := []struct {
		name        string
		sipCode     int
		errorType   string
		wantCode    string
		wantOutcome string
	}{
		{"busy", 486, ErrCallDestinationBusy, "486", OutcomeBusy},
		{"busy everywhere", 600, ErrCallDestinationBusy, "486", OutcomeBusy},
		{"ring timeout", 408, ErrCallDestinationNoAnswer, "480", OutcomeNoAnswer},
		{"temporarily unavailable", 480, ErrCallDestinationNoAnswer, "480", OutcomeNoAnswer},
		{"cancelled", 487, ErrCallDestinationNoAnswer, "480", OutcomeNoAnswer},
		{"forbidden", 403, ErrCallDestinationRejected, "403", OutcomeRejected},
		{"not found", 404, ErrCallDestinationRejected, "404", OutcomeRejected},
		{"address incomplete", 484, ErrCallDestinationRejected, "484", OutcomeRejected},
		{"declined", 603, ErrCallDestinationRejected, "603", OutcomeRejected},
		{"trunk auth failed", 407, ErrCallDestinationRejected, "503", OutcomeUnavailable},
		{"service unavailable", 503, ErrCallDestinationUnavailable, "503", OutcomeUnavailable},
		{"server error", 500, ErrCallDestinationUnavailable, "503", OutcomeUnavailable},
		{"gateway timeout", 504, ErrCallDestinationUnavailable, "503", OutcomeUnavailable},
		{"no status, busy", 0, ErrCallDestinationBusy, "486", OutcomeBusy},
		{"no status, no answer", 0, ErrCallDestinationNoAnswer, "480", OutcomeNoAnswer},
		{"no status, rejected", 0, ErrCallDestinationRejected, "403", OutcomeRejected},
		{"no status, unreachable", 0, ErrCallDestinationUnavailable, "503", OutcomeUnavailable},
		{"no status, unknown", 0, ErrSystemException, "503", OutcomeUnavailable},
		{"redirect", 302, ErrCallDestinationRejected, "403", OutcomeRejected},
	}
	for _, tt := range tests {
		t.Run("owner/"+tt.name, func(t *testing.T) {
			walk(t, mustHandler(t, testConfig()), concat(ownerReachesDestination()[:2], []step{
				{"bridge fails", failed(ActionCallAndBridge, tt.errorType, tt.sipCode, aUpBDown...),
					acts(wPlay(LegA, "unable_to_connect.wav"), wHangup(LegA, tt.wantCode)),
					kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrOutcome, tt.wantOutcome)},
				{"hangup done", succeeded(ActionHangup, "", bothDown...), acts(), nil},
			}))
		})
		t.Run("stranger/"+tt.name, func(t *testing.T) {
			walk(t, mustHandler(t, testConfig()), concat(strangerReachesOwner()[:1], []step{
				{"bridge fails", failed(ActionCallAndBridge, tt.errorType, tt.sipCode, sAUpBDown...),
					acts(wPlayEarly(LegA, "unable_to_connect.wav"), wHangup(LegA, tt.wantCode)),
					kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger, AttrOutcome, tt.wantOutcome)},
				{"prompt fails", failed(ActionPlayAudio, ErrSystemException, 0, sUp...), acts(wHangup(LegA, tt.wantCode)), nil},
			}))
		})
	}
}

func TestHandleDoesNotChangeEvent(t *testing.T) {
	h := mustHandler(t, testConfig())
	in := map[string]string{keyStage: stageNumber, AttrDirection: CallOutbound, AttrOwnerTag: LegA}
	before := copyAttrs(in)
	resp := h.Handle(Event{
		InvocationEventType: ActionSuccessful,
		ActionData:          &ActionData{Type: ActionPlayAudioAndGetDigits, ReceivedDigits: "02079460999"},
		CallDetails:         CallDetails{TransactionAttributes: in, Participants: aUp},
	})
	if !reflect.DeepEqual(in, before) {
		t.Fatalf("Handle changed the event's attributes: %v, was %v", in, before)
	}
	if resp.TransactionAttributes[AttrParty] != ukDest {
		t.Fatalf("party = %q, want %q", resp.TransactionAttributes[AttrParty], ukDest)
	}
}

func TestHandleDamagedCounterFailsClosed(t *testing.T) {
	h := mustHandler(t, withPIN(testConfig()))
	resp := h.Handle(Event{
		InvocationEventType: ActionSuccessful,
		ActionData:          &ActionData{Type: ActionPlayAudioAndGetDigits, ReceivedDigits: "0000"},
		CallDetails: CallDetails{
			TransactionAttributes: map[string]string{keyStage: stagePIN, keyPINAttempts: "-5"},
			Participants:          aUp,
		},
	})
	want := acts(wPlay(LegA, "invalid_input.wav"), wHangup(LegA, "403"))
	if !reflect.DeepEqual(resp.Actions, want) {
		t.Fatalf("actions %s, want %s", toJSON(resp.Actions), toJSON(want))
	}
}

func TestNewHandler(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(Config) Config
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			cfg:  func(c Config) Config { c.MaxCallSeconds = 0; return c },
			check: func(t *testing.T, c Config) {
				want := Config{
					ServiceNumber: service, OwnerNumber: owner, DefaultCountryCode: "44",
					AllowedDestinations: []string{"+44"}, MaxCallSeconds: 0,
					RingTimeoutSeconds: 30, DigitTimeoutMillis: 2500, DigitAttempts: 3,
				}
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("config %+v, want %+v", c, want)
				}
			},
		},
		{
			name: "explicit values kept",
			cfg: func(c Config) Config {
				c.DefaultCountryCode = "+44"
				c.OwnerPIN = "000000000000"
				c.AllowedDestinations = []string{"+"}
				c.RingTimeoutSeconds, c.DigitTimeoutMillis, c.DigitAttempts = 45, 4000, 5
				return c
			},
			check: func(t *testing.T, c Config) {
				if c.DefaultCountryCode != "44" || c.OwnerPIN != "000000000000" ||
					!reflect.DeepEqual(c.AllowedDestinations, []string{"+"}) ||
					c.RingTimeoutSeconds != 45 || c.DigitTimeoutMillis != 4000 || c.DigitAttempts != 5 || c.MaxCallSeconds != 3600 {
					t.Fatalf("config %+v", c)
				}
			},
		},
		{name: "no country code", cfg: func(c Config) Config { c.DefaultCountryCode = ""; return c }, wantErr: "default country code"},
		{name: "bad country code", cfg: func(c Config) Config { c.DefaultCountryCode = "0"; return c }, wantErr: "default country code"},
		{name: "no service number", cfg: func(c Config) Config { c.ServiceNumber = ""; return c }, wantErr: "service number"},
		{name: "bad service number", cfg: func(c Config) Config { c.ServiceNumber = "+44 12*"; return c }, wantErr: "service number"},
		{name: "no owner number", cfg: func(c Config) Config { c.OwnerNumber = ""; return c }, wantErr: "owner number"},
		{name: "owner is service", cfg: func(c Config) Config { c.OwnerNumber = "020 7946 0000"; return c }, wantErr: "is the service number"},
		{name: "PIN with letters", cfg: func(c Config) Config { c.OwnerPIN = "12a4"; return c }, wantErr: "PIN"},
		{name: "PIN too long", cfg: func(c Config) Config { c.OwnerPIN = "1234567890123"; return c }, wantErr: "PIN"},
		{name: "prefix without plus", cfg: allowing("44"), wantErr: "must start with +"},
		{name: "bad prefix", cfg: allowing("+44", "+0"), wantErr: "allowed destinations"},
		{name: "negative ring", cfg: func(c Config) Config { c.RingTimeoutSeconds = -1; return c }, wantErr: "ring timeout"},
		{name: "negative max", cfg: func(c Config) Config { c.MaxCallSeconds = -1; return c }, wantErr: "max call"},
		{name: "negative attempts", cfg: func(c Config) Config { c.DigitAttempts = -3; return c }, wantErr: "digit attempts"},
		{name: "negative digit timeout", cfg: func(c Config) Config { c.DigitTimeoutMillis = -3; return c }, wantErr: "digit timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(tt.cfg(testConfig()))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewHandler error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewHandler: %v", err)
			}
			tt.check(t, h.Config())
		})
	}
}

func TestConfigIsACopy(t *testing.T) {
	h := mustHandler(t, allowing("+44", "+33")(testConfig()))
	c := h.Config()
	c.AllowedDestinations[0] = "+"
	if got := h.Config().AllowedDestinations[0]; got != "+44" {
		t.Fatalf("changing Config's result changed the handler: %q", got)
	}
}

// unrecorded marks every event of a call as one that cannot be recorded.
func unrecorded(steps []step) []step {
	for i := range steps {
		steps[i].ev.CallDetails.RecordingUnavailable = true
	}
	return steps
}

// TestUnrecordedCalls: with the disk full, calls still connect, without
// recording, and both sides hear that they are not recorded.
func TestUnrecordedCalls(t *testing.T) {
	h := mustHandler(t, testConfig())
	outNone := kv(AttrDirection, CallOutbound, AttrOwnerTag, LegA, AttrParty, ukDest, AttrRecording, RecordingUnavailable)
	inNone := kv(AttrDirection, CallInbound, AttrOwnerTag, LegB, AttrParty, stranger, AttrRecording, RecordingUnavailable)
	walk(t, h, unrecorded([]step{
		{"owner calls", newCall(owner), acts(wGetNumber(3)), outStart},
		{"owner enters number", succeeded(ActionPlayAudioAndGetDigits, "02079460999", aUp...),
			acts(wPlay(LegA, "connecting.wav"), wBridge(service, ukDest)), outDialling},
		{"destination answers", succeeded(ActionCallAndBridge, "", bothUp...),
			acts(wPlay(Both, "not_recorded.wav")), outNone},
		{"5 does nothing: nothing to pause", digitsFrom(LegA, "5", bothUp...), acts(), outNone},
		{"owner hangs up", hungUp(LegA, aDownBUp...), acts(wHangup(LegB, "")), outNone},
	}))
	walk(t, h, unrecorded([]step{
		{"stranger calls", newCall(stranger),
			acts(wPlayEarly(LegA, "not_recorded.wav"), wPlayEarly(LegA, "connecting.wav"), wBridge(stranger, owner)), inDialling},
		{"owner answers", succeeded(ActionCallAndBridge, "", sBothUp...),
			acts(wPlay(LegB, "not_recorded.wav")), inNone},
	}))
}
