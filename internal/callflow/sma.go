// Package callflow holds the on-demand recording application as a pure
// function from SIP media application events to actions.
//
// The vocabulary (event types, action types and JSON field names) follows
// Amazon Chime SDK SIP media applications, so a flow can be tested without
// sockets and could be served unchanged by an external handler. State between
// invocations lives only in TransactionAttributes, exactly as with Chime: the
// handler keeps nothing in memory.
//
// Extensions to Chime's schema are marked "callrec extension" below; an
// external handler that does not know them simply never sets them.
package callflow

// SchemaVersion is the event/response schema version callrec speaks.
const SchemaVersion = "1.0"

// InvocationEventType names why the handler is invoked.
type InvocationEventType string

// Invocation event types (Chime SMA names).
const (
	NewInboundCall   InvocationEventType = "NEW_INBOUND_CALL"
	ActionSuccessful InvocationEventType = "ACTION_SUCCESSFUL"
	ActionFailed     InvocationEventType = "ACTION_FAILED"
	DigitsReceived   InvocationEventType = "DIGITS_RECEIVED"
	Hangup           InvocationEventType = "HANGUP"
	CallAnswered     InvocationEventType = "CALL_ANSWERED"
	Ringing          InvocationEventType = "RINGING"
)

// Participant tags.
const (
	LegA = "LEG-A" // the inbound leg that started the transaction
	LegB = "LEG-B" // the outbound leg created by CallAndBridge
	// Both addresses PlayAudio to both legs at once, so the two parties hear
	// a prompt together. callrec extension.
	Both = "BOTH"
)

// Participant directions.
const (
	DirectionInbound  = "Inbound"
	DirectionOutbound = "Outbound"
)

// Participant statuses.
const (
	StatusConnected    = "Connected"
	StatusDisconnected = "Disconnected"
)

// Event is one invocation of the handler.
type Event struct {
	SchemaVersion       string              `json:"SchemaVersion"`
	Sequence            int                 `json:"Sequence"`
	InvocationEventType InvocationEventType `json:"InvocationEventType"`
	CallDetails         CallDetails         `json:"CallDetails"`
	// ActionData describes the action that succeeded or failed, or the
	// ReceiveDigits action for DIGITS_RECEIVED, or the Hangup for HANGUP
	// when the application asked for it.
	ActionData *ActionData `json:"ActionData,omitempty"`
}

// CallDetails describes the transaction and its legs.
type CallDetails struct {
	TransactionID         string            `json:"TransactionId"`
	TransactionAttributes map[string]string `json:"TransactionAttributes,omitempty"`
	Participants          []Participant     `json:"Participants"`
	// RecordingUnavailable says the call cannot be recorded (the disk is
	// full): the flow connects it without recording and tells both sides.
	// callrec extension.
	RecordingUnavailable bool `json:"RecordingUnavailable,omitempty"`
}

// Participant is one leg of the transaction.
type Participant struct {
	CallID                  string `json:"CallId"`
	ParticipantTag          string `json:"ParticipantTag"`
	To                      string `json:"To"`
	From                    string `json:"From"`
	Direction               string `json:"Direction"`
	StartTimeInMilliseconds string `json:"StartTimeInMilliseconds"`
	Status                  string `json:"Status"`
	// SourceAddress is the signalling source (ip:port) of an inbound leg.
	// callrec extension.
	SourceAddress string `json:"SourceAddress,omitempty"`
}

// ActionData reports the outcome of an action.
type ActionData struct {
	Type           ActionType `json:"Type"`
	Parameters     Parameters `json:"Parameters"`
	ReceivedDigits string     `json:"ReceivedDigits,omitempty"`
	ErrorType      string     `json:"ErrorType,omitempty"`
	ErrorMessage   string     `json:"ErrorMessage,omitempty"`
	// SipResponseCode is the final SIP status of a failed CallAndBridge.
	// callrec extension.
	SipResponseCode int `json:"SipResponseCode,omitempty"`
}

// Response is what the handler returns for an event.
type Response struct {
	SchemaVersion         string            `json:"SchemaVersion"`
	Actions               []Action          `json:"Actions"`
	TransactionAttributes map[string]string `json:"TransactionAttributes,omitempty"`
}

// ActionType names an action.
type ActionType string

// Action types (Chime SMA names).
const (
	ActionPlayAudio             ActionType = "PlayAudio"
	ActionPlayAudioAndGetDigits ActionType = "PlayAudioAndGetDigits"
	ActionCallAndBridge         ActionType = "CallAndBridge"
	ActionHangup                ActionType = "Hangup"
	ActionReceiveDigits         ActionType = "ReceiveDigits"
	ActionStartCallRecording    ActionType = "StartCallRecording"
	ActionPauseCallRecording    ActionType = "PauseCallRecording"
	ActionResumeCallRecording   ActionType = "ResumeCallRecording"
	ActionStopCallRecording     ActionType = "StopCallRecording"
	ActionPause                 ActionType = "Pause"
)

// Action is one instruction to the runtime.
type Action struct {
	Type       ActionType `json:"Type"`
	Parameters Parameters `json:"Parameters"`
}

// Parameters is the union of every action's parameters; each action uses
// the fields Chime defines for it.
type Parameters struct {
	CallID         string `json:"CallId,omitempty"`
	ParticipantTag string `json:"ParticipantTag,omitempty"`

	// PlayAudio, PlayAudioAndGetDigits.
	AudioSource         *AudioSource `json:"AudioSource,omitempty"`
	FailureAudioSource  *AudioSource `json:"FailureAudioSource,omitempty"`
	PlaybackTerminators []string     `json:"PlaybackTerminators,omitempty"`
	Repeat              int          `json:"Repeat,omitempty"`
	// EarlyMedia plays the audio before the inbound leg is answered (183
	// Session Progress), so a later failure can still be reported to the
	// caller as a SIP error status. callrec extension.
	EarlyMedia bool `json:"EarlyMedia,omitempty"`

	// PlayAudioAndGetDigits, ReceiveDigits.
	InputDigitsRegex                      string   `json:"InputDigitsRegex,omitempty"`
	MinNumberOfDigits                     int      `json:"MinNumberOfDigits,omitempty"`
	MaxNumberOfDigits                     int      `json:"MaxNumberOfDigits,omitempty"`
	TerminatorDigits                      []string `json:"TerminatorDigits,omitempty"`
	InBetweenDigitsDurationInMilliseconds int      `json:"InBetweenDigitsDurationInMilliseconds,omitempty"`
	RepeatDurationInMilliseconds          int      `json:"RepeatDurationInMilliseconds,omitempty"`
	FlushDigitsDurationInMilliseconds     int      `json:"FlushDigitsDurationInMilliseconds,omitempty"`

	// CallAndBridge.
	CallTimeoutSeconds int              `json:"CallTimeoutSeconds,omitempty"`
	CallerIDNumber     string           `json:"CallerIdNumber,omitempty"`
	Endpoints          []BridgeEndpoint `json:"Endpoints,omitempty"`
	// MaxCallDurationSeconds ends the bridged call after this long.
	// callrec extension.
	MaxCallDurationSeconds int `json:"MaxCallDurationSeconds,omitempty"`

	// Hangup.
	SipResponseCode string `json:"SipResponseCode,omitempty"`

	// StartCallRecording. ParticipantTag names the owner's leg, whose
	// audio is recorded on channel 0 (left); the other leg goes to channel 1.
	Track       string                `json:"Track,omitempty"`
	Destination *RecordingDestination `json:"Destination,omitempty"`

	// Pause.
	DurationInMilliseconds int `json:"DurationInMilliseconds,omitempty"`
}

// AudioSource names a prompt. callrec resolves Key against its prompt set
// (prompts_dir first, then the built-in prompts); Type is "S3" in Chime and
// "Prompt" here.
type AudioSource struct {
	Type       string `json:"Type"`
	BucketName string `json:"BucketName,omitempty"`
	Key        string `json:"Key"`
}

// BridgeEndpoint is a destination of CallAndBridge.
type BridgeEndpoint struct {
	BridgeEndpointType string `json:"BridgeEndpointType"`
	URI                string `json:"Uri"`
}

// RecordingDestination says where a call recording goes.
type RecordingDestination struct {
	Type     string `json:"Type"`
	Location string `json:"Location"`
}

// Error types reported in ActionData.ErrorType.
const (
	ErrInvalidActionParameter = "InvalidActionParameter"
	ErrSystemException        = "SystemException"
	// Digits were not received in the expected form after every repeat.
	ErrInvalidDigitsReceived = "InvalidDigitsReceived"
	// CallAndBridge outcomes.
	ErrCallDestinationBusy        = "CallDestinationBusy"
	ErrCallDestinationNoAnswer    = "CallDestinationNoAnswer"
	ErrCallDestinationRejected    = "CallDestinationRejected"
	ErrCallDestinationUnavailable = "CallDestinationUnavailable"
	// The participant hung up while the action ran.
	ErrParticipantHungUp = "ParticipantHungUp"
)

// Prompt keys of the built-in prompt set.
const (
	PromptEnterNumber     = "enter_number.wav"
	PromptEnterPIN        = "enter_pin.wav"
	PromptInvalidInput    = "invalid_input.wav"
	PromptConnecting      = "connecting.wav"
	PromptRecorded        = "recorded.wav"
	PromptNotRecorded     = "not_recorded.wav"
	PromptPaused          = "recording_paused.wav"
	PromptResumed         = "recording_resumed.wav"
	PromptStopped         = "recording_stopped.wav"
	PromptUnableToConnect = "unable_to_connect.wav"
	PromptNotAllowed      = "not_allowed.wav"
)

// Values of action parameters that callrec's runtime understands.
const (
	// AudioSourcePrompt is the AudioSource.Type of a prompt from callrec's
	// prompt set.
	AudioSourcePrompt = "Prompt"
	// EndpointPSTN is the BridgeEndpoint.BridgeEndpointType of a telephone
	// number reached through the SIP trunk; URI is then an E.164 number.
	EndpointPSTN = "PSTN"
	// TrackBoth is the StartCallRecording Track that records both legs.
	TrackBoth = "BOTH"
	// DestinationLocal is the RecordingDestination.Type of callrec's own
	// recording store; Location names the area within it.
	DestinationLocal = "Local"
	// RecordingsLocation is the Location callrec records calls to.
	RecordingsLocation = "recordings"
)
