package callflow

import "fmt"

// Digit collection settings of the flow's prompts.
const (
	// PINMinDigits and PINMaxDigits bound the owner's PIN (Config.OwnerPIN
	// and the owner_pin key).
	PINMinDigits = 4
	PINMaxDigits = 12
	// pinMinDigits lets any entry through as typed, so that a short wrong
	// PIN counts as a wrong attempt; the handler compares it with the PIN.
	pinMinDigits = 1
	// numberRegex accepts a destination typed on the keypad: a national
	// number, or an international one after "00" or "011".
	numberRegex     = `^[0-9]{10,15}$`
	numberMinDigits = 10
	numberMaxDigits = 15
	// controlRegex is what the owner may press during a bridged call:
	// 5 pause, 6 resume, 7 stop the recording.
	controlRegex = `^[567]$`
	// terminator ends a digit entry.
	terminator = "#"
	// repeatDurationMillis is Chime's RepeatDurationInMilliseconds of
	// PlayAudioAndGetDigits (required by Chime's schema).
	repeatDurationMillis = 5000
)

// Recording control digits pressed by the owner during a bridged call.
const (
	DigitPauseRecording  = '5'
	DigitResumeRecording = '6'
	DigitStopRecording   = '7'
)

// prompt returns the AudioSource of a prompt key.
func prompt(key string) *AudioSource {
	return &AudioSource{Type: AudioSourcePrompt, Key: key}
}

// playAudio plays a prompt to the leg tag (or Both).
func playAudio(tag, key string, earlyMedia bool) Action {
	return Action{Type: ActionPlayAudio, Parameters: Parameters{
		ParticipantTag: tag,
		AudioSource:    prompt(key),
		EarlyMedia:     earlyMedia,
	}}
}

// askPIN asks LEG-A for the owner's PIN, repeat attempts at most.
func (h *Handler) askPIN(repeat int) Action {
	return Action{Type: ActionPlayAudioAndGetDigits, Parameters: Parameters{
		ParticipantTag:                        LegA,
		AudioSource:                           prompt(PromptEnterPIN),
		FailureAudioSource:                    prompt(PromptInvalidInput),
		InputDigitsRegex:                      fmt.Sprintf(`^[0-9]{%d,%d}$`, pinMinDigits, PINMaxDigits),
		MinNumberOfDigits:                     pinMinDigits,
		MaxNumberOfDigits:                     PINMaxDigits,
		TerminatorDigits:                      []string{terminator},
		InBetweenDigitsDurationInMilliseconds: h.cfg.DigitTimeoutMillis,
		RepeatDurationInMilliseconds:          repeatDurationMillis,
		Repeat:                                repeat,
	}}
}

// askNumber asks LEG-A for the number to dial, repeat attempts at most.
func (h *Handler) askNumber(repeat int) Action {
	return Action{Type: ActionPlayAudioAndGetDigits, Parameters: Parameters{
		ParticipantTag:                        LegA,
		AudioSource:                           prompt(PromptEnterNumber),
		FailureAudioSource:                    prompt(PromptInvalidInput),
		InputDigitsRegex:                      numberRegex,
		MinNumberOfDigits:                     numberMinDigits,
		MaxNumberOfDigits:                     numberMaxDigits,
		TerminatorDigits:                      []string{terminator},
		InBetweenDigitsDurationInMilliseconds: h.cfg.DigitTimeoutMillis,
		RepeatDurationInMilliseconds:          repeatDurationMillis,
		Repeat:                                repeat,
	}}
}

// callAndBridge calls dest showing callerID and bridges it to LEG-A.
func (h *Handler) callAndBridge(callerID, dest string) Action {
	return Action{Type: ActionCallAndBridge, Parameters: Parameters{
		CallTimeoutSeconds:     h.cfg.RingTimeoutSeconds,
		CallerIDNumber:         callerID,
		Endpoints:              []BridgeEndpoint{{BridgeEndpointType: EndpointPSTN, URI: dest}},
		MaxCallDurationSeconds: h.cfg.MaxCallSeconds,
	}}
}

// hangupLeg hangs up the leg tag, rejecting it with code if it was never
// answered ("" for a normal hang-up).
func hangupLeg(tag, code string) Action {
	return Action{Type: ActionHangup, Parameters: Parameters{ParticipantTag: tag, SipResponseCode: code}}
}

// startRecording records the call, the owner's leg on channel 0.
func startRecording(ownerTag string) Action {
	return Action{Type: ActionStartCallRecording, Parameters: Parameters{
		ParticipantTag: ownerTag,
		Track:          TrackBoth,
		Destination:    &RecordingDestination{Type: DestinationLocal, Location: RecordingsLocation},
	}}
}

// receiveControlDigits arms detection of the recording control digits on
// the owner's leg.
func receiveControlDigits(ownerTag string) Action {
	return Action{Type: ActionReceiveDigits, Parameters: Parameters{
		ParticipantTag:   ownerTag,
		InputDigitsRegex: controlRegex,
	}}
}

// recordingAction returns a parameterless recording action.
func recordingAction(t ActionType) Action {
	return Action{Type: t}
}
