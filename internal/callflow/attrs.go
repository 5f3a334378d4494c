package callflow

import "strconv"

// Keys of TransactionAttributes that the handler sets for the runtime's call
// record. The handler returns the full attribute map in every Response; the
// runtime may read these keys but must give the map back unchanged.
const (
	// AttrDirection is CallOutbound when the owner dialled out through the
	// service number, CallInbound when someone else called the owner.
	AttrDirection = "direction"
	// AttrParty is the other party's E.164 number: the destination the
	// owner dialled, or the caller. It is absent when the caller's number
	// does not normalise (an anonymous caller) and before the owner has
	// entered a number.
	AttrParty = "party"
	// AttrOwnerTag is the ParticipantTag of the owner's leg (LegA when the
	// owner dialled out, LegB when the owner was called). That leg is
	// recorded on channel 0.
	AttrOwnerTag = "owner_tag"
	// AttrOutcome is set, to one of the Outcome* values, only when the flow
	// itself ends the call before or instead of bridging it.
	AttrOutcome = "outcome"
	// AttrRecording is the recording's state once the call is bridged: one
	// of the Recording* values.
	AttrRecording = "recording"
)

// Values of AttrDirection.
const (
	CallOutbound = "outbound"
	CallInbound  = "inbound"
)

// Values of AttrOutcome.
const (
	// OutcomeRejectedPIN: the owner entered a wrong PIN on every attempt.
	OutcomeRejectedPIN = "rejected_pin"
	// OutcomeInvalidNumber: the owner's entries never made a valid number.
	OutcomeInvalidNumber = "invalid_number"
	// OutcomeDestinationNotAllowed: the dialled number matched none of
	// Config.AllowedDestinations (or was the service number itself).
	OutcomeDestinationNotAllowed = "destination_not_allowed"
	// OutcomeNoDigits: collecting the PIN or the number failed after every
	// attempt (no digits, or digits of the wrong form).
	OutcomeNoDigits = "no_digits"
	// OutcomeBusy: the called party was busy (486, 600).
	OutcomeBusy = "busy"
	// OutcomeNoAnswer: the called party did not answer (408, 480, 487).
	OutcomeNoAnswer = "no_answer"
	// OutcomeUnavailable: the called party could not be reached (5xx, no
	// response, trunk authentication failure).
	OutcomeUnavailable = "unavailable"
	// OutcomeRejected: the call was refused (403, 404, other 4xx, 6xx).
	OutcomeRejected = "rejected"
	// OutcomeError: an action the flow needed failed in the runtime, so
	// the flow hung up.
	OutcomeError = "error"
)

// Values of AttrRecording.
const (
	RecordingOn      = "on"
	RecordingPaused  = "paused"
	RecordingStopped = "stopped"
	// RecordingFailed: StartCallRecording or StopCallRecording failed; the
	// owner's digits are then ignored.
	RecordingFailed = "failed"
	// RecordingUnavailable: the call could not be recorded from the start
	// (CallDetails.RecordingUnavailable); both sides were told.
	RecordingUnavailable = "unavailable"
)

// Keys of TransactionAttributes private to the flow. Their values are not a
// contract with the runtime.
const (
	// keyStage is where the flow is: one of the stage* values.
	keyStage = "stage"
	// keyPINAttempts counts wrong PINs entered so far.
	keyPINAttempts = "pin_attempts"
	// keyNumberAttempts counts entries that did not normalise to a number.
	keyNumberAttempts = "number_attempts"
	// keyHangupCode is the SipResponseCode of the Hangup with which the flow
	// ends the call, kept to hang up again should the prompt before it fail.
	keyHangupCode = "hangup_code"
)

// Values of keyStage.
const (
	stagePIN      = "pin"      // waiting for the owner's PIN
	stageNumber   = "number"   // waiting for the number to dial
	stageBridging = "bridging" // CallAndBridge issued
	stageBridged  = "bridged"  // both legs connected, recording started
	stageEnded    = "ended"    // the flow has hung up LEG-A itself
)

// copyAttrs returns a copy of m that the handler may change, never nil.
func copyAttrs(m map[string]string) map[string]string {
	c := make(map[string]string, len(m)+4)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// attempts reads the counter at key: 0 when absent, and limit when it is not
// a non-negative number, so that a damaged counter fails closed.
func attempts(attrs map[string]string, key string, limit int) int {
	v, ok := attrs[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return limit
	}
	return n
}
