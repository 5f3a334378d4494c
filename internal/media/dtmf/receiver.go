package dtmf

import "fmt"

// recentEvents is how many past events a Receiver remembers to drop late
// duplicates.
const recentEvents = 8

type eventKey struct {
	timestamp uint32
	code      uint8
}

// restartDuration is the largest duration (in samples, 40 ms at 8 kHz) of a
// packet that starts a new press of a digit whose previous press, with the
// same timestamp, has ended. Some senders (SIPp replaying a capture, for
// one) reuse one RTP timestamp for every press of the same key; a late,
// reordered progress packet of an old event has a larger duration.
const restartDuration = 320

type recentEvent struct {
	key   eventKey
	ended bool
}

// Receiver turns a stream of telephone-event RTP payloads into digits,
// reporting each digit once however many packets carry it. The zero value is
// ready to use. A Receiver is not safe for concurrent use; use one per RTP
// stream.
//
// Senders differ: a digit arrives as several packets with the same RTP
// timestamp, the end bit set on the last ones (usually three times); some
// senders omit the marker bit, some send only the end packets, and
// retransmitted end packets may arrive after the next digit has begun. The
// Receiver therefore keys digits on the RTP timestamp (and event code) alone,
// ignoring the marker bit, and remembers the last few events. A press that
// reuses the timestamp of an ended press of the same key is a new digit
// when its first packets arrive (no end bit, duration at most 40 ms).
type Receiver struct {
	recent [recentEvents]recentEvent
	n      int // number of valid entries in recent
	next   int // index where the next entry is written
}

// Push processes one telephone-event payload and its RTP timestamp. It
// returns the digit, with ok set, on the first packet of a new event; it
// returns ok false for repeated packets of an event already reported and for
// events that are not DTMF digits (such as hook flash). A malformed payload
// yields an error and leaves the Receiver unchanged.
func (r *Receiver) Push(timestamp uint32, payload []byte) (digit byte, ok bool, err error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		return 0, false, fmt.Errorf("telephone-event at timestamp %d: %w", timestamp, err)
	}
	key := eventKey{timestamp: timestamp, code: ev.Code}
	for i := range r.n {
		e := &r.recent[i]
		if e.key != key {
			continue
		}
		if !e.ended || ev.End || ev.Duration > restartDuration {
			e.ended = e.ended || ev.End
			return 0, false, nil
		}
		// A new press reusing the old timestamp.
		e.ended = false
		d, ok := Digit(ev.Code)
		return d, ok, nil
	}
	r.recent[r.next] = recentEvent{key: key, ended: ev.End}
	r.next = (r.next + 1) % recentEvents
	if r.n < recentEvents {
		r.n++
	}
	d, ok := Digit(ev.Code)
	return d, ok, nil
}

// Reset forgets all remembered events, for example when the RTP stream's
// SSRC changes.
func (r *Receiver) Reset() {
	*r = Receiver{}
}
