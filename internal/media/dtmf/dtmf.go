// Package dtmf handles DTMF digits in the three ways trunks send them:
// RFC 4733 telephone-event payloads in RTP (parsed, built and
// de-duplicated), in-band tones in the audio (detected with the Goertzel
// algorithm and generated: Detector, Tone) and SIP INFO bodies
// (ParseInfo, InfoBody).
package dtmf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// EventSize is the size in bytes of one RFC 4733 event payload.
const EventSize = 4

// MaxVolume is the largest volume an event carries (-63 dBm0); volume is
// expressed as a positive attenuation in dB below 0 dBm0.
const MaxVolume = 63

// ErrShortPayload is returned (wrapped) when a payload holds fewer than
// EventSize bytes.
var ErrShortPayload = errors.New("telephone-event payload shorter than 4 bytes")

// Event is one RFC 4733 telephone-event payload.
type Event struct {
	// Code is the event code: 0-9 for the digits, 10 '*', 11 '#', 12-15
	// 'A'-'D'. ParseEvent also accepts the other RFC 4733 events (16 is
	// hook flash), which Digit does not map.
	Code uint8
	// End is the E bit: set on the last packets of an event.
	End bool
	// Volume is the power level in dB below 0 dBm0, 0-63.
	Volume uint8
	// Duration is the event's length so far, in RTP timestamp units
	// (samples at 8000 Hz), counted from the packet's RTP timestamp.
	Duration uint16
}

// ParseEvent decodes an RFC 4733 event payload. Only the first four bytes are
// read; trailing bytes (redundant events, RFC 2198, are not used) are
// ignored. A payload shorter than four bytes is an error.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) < EventSize {
		return Event{}, fmt.Errorf("parse telephone-event: %w (got %d)", ErrShortPayload, len(payload))
	}
	return Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(payload[2:4]),
	}, nil
}

// Marshal appends the four-byte RFC 4733 encoding of e to dst and returns
// the extended slice. The reserved bit is zero; Volume is truncated to six
// bits.
func (e Event) Marshal(dst []byte) []byte {
	b := e.Volume & 0x3F
	if e.End {
		b |= 0x80
	}
	return append(dst, e.Code, b, byte(e.Duration>>8), byte(e.Duration))
}

const digits = "0123456789*#ABCD"

// Digit returns the DTMF character for an event code: '0'-'9' for 0-9,
// '*' for 10, '#' for 11 and 'A'-'D' for 12-15. Other codes are not digits.
func Digit(code uint8) (byte, bool) {
	if int(code) >= len(digits) {
		return 0, false
	}
	return digits[code], true
}

// Code returns the event code of a DTMF character, the inverse of Digit.
// The letters 'A'-'D' are accepted in either case.
func Code(digit byte) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return digit - 'A' + 12, true
	case digit >= 'a' && digit <= 'd':
		return digit - 'a' + 12, true
	default:
		return 0, false
	}
}

// Events returns the payloads a sender emits for one digit pressed for
// durationSamples (RTP timestamp units): progress packets every stepSamples
// with a growing duration (stepSamples, 2*stepSamples, ... while below
// durationSamples), then the final packet, End set and Duration equal to
// durationSamples, three times as RFC 4733 recommends. All of them share one
// RTP timestamp; the first one is sent with the RTP marker bit set. A
// durationSamples of at most stepSamples yields only the three end packets.
//
// At 8000 Hz, 20 ms packets are stepSamples 160; a 100 ms digit is
// durationSamples 800.
func Events(digit byte, volume uint8, durationSamples uint16, stepSamples uint16) ([]Event, error) {
	code, ok := Code(digit)
	if !ok {
		return nil, fmt.Errorf("telephone-event for %q: not a DTMF digit (use 0-9, *, #, A-D)", digit)
	}
	if volume > MaxVolume {
		return nil, fmt.Errorf("telephone-event volume %d: must be 0-%d (dB below 0 dBm0)", volume, MaxVolume)
	}
	if durationSamples == 0 {
		return nil, errors.New("telephone-event duration must be positive")
	}
	if stepSamples == 0 {
		return nil, errors.New("telephone-event packet step must be positive")
	}
	n := (int(durationSamples) - 1) / int(stepSamples)
	events := make([]Event, 0, n+3)
	for d := int(stepSamples); d < int(durationSamples); d += int(stepSamples) {
		events = append(events, Event{Code: code, Volume: volume, Duration: uint16(d)})
	}
	end := Event{Code: code, End: true, Volume: volume, Duration: durationSamples}
	return append(events, end, end, end), nil
}
