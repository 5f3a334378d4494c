package recorder

import "time"

// How packets are placed, as durations; placementLimits holds them in
// frames at the recording's rate.
const (
	// delayBucket is the length of one bucket of the least-delay window
	// (delayBuckets of them: the offset follows the least delay of the
	// last few seconds).
	delayBucket = time.Second
	// adjustDeadband is how far the least delay may wander from the
	// offset in use before the offset follows it.
	adjustDeadband = 2 * time.Millisecond
	// maxAdjustStep is the most the offset moves at one packet once the
	// stream's audio is being written: the hole it leaves or the audio it
	// overwrites is never longer.
	maxAdjustStep = 2 * time.Millisecond
	// timestampJump: a packet this much later than its stream's mapping
	// says is a new stream (a sender restart), not a late packet.
	timestampJump = 3 * time.Second
	// lateStreak: a stream whose every packet has been late for this long
	// is re-anchored (its delay grew past the window for good).
	lateStreak = time.Second
	// maxPacket is the longest packet placed whole; longer ones are cut.
	maxPacket = 200 * time.Millisecond
)

// placementLimits are the placement constants in frames.
type placementLimits struct {
	// early: a packet this much earlier than its stream's mapping says
	// re-anchors (the window: more than any jitter explains).
	early      int64
	jump       int64 // timestampJump
	lateStreak int64 // lateStreak
	deadband   int64 // adjustDeadband
	maxStep    int64 // maxAdjustStep, at least one frame
	// stragglers is how long after a change of stream the packets of the
	// one before are still placed by its mapping.
	stragglers int64
}

func newPlacementLimits(rate int, window time.Duration) placementLimits {
	f := func(d time.Duration) int64 { return framesIn(d, rate) }
	return placementLimits{
		early:      f(window),
		jump:       f(timestampJump),
		lateStreak: f(lateStreak),
		deadband:   f(adjustDeadband),
		maxStep:    max(f(maxAdjustStep), 1),
		stragglers: f(window + 2*tick),
	}
}

// framesIn converts a duration to whole frames at rate without
// overflowing for long durations.
func framesIn(d time.Duration, rate int) int64 {
	return int64(d/time.Second)*int64(rate) + int64(d%time.Second)*int64(rate)/int64(time.Second)
}

// stream maps one RTP stream's timestamps to recording positions: a
// timestamp extended to 64 bits (relative to the stream's first packet)
// plus offset is the position of the packet's first sample.
type stream struct {
	active    bool
	ssrc      uint32
	lastTS    uint32 // the latest placed packet's timestamp …
	lastExt   int64  // … and its extended value
	offset    int64
	lateSince int64 // arrival of the first of the current run of late packets; -1: none
}

// extend turns a timestamp near the stream's latest one into its 64-bit
// value (RTP timestamps wrap at 2^32).
func (s *stream) extend(ts uint32) int64 {
	return s.lastExt + int64(int32(ts-s.lastTS))
}

// anchor starts the stream at a packet that arrives at position arrival:
// its first sample goes there.
func (s *stream) anchor(ssrc, ts uint32, arrival int64) {
	*s = stream{active: true, ssrc: ssrc, lastTS: ts, offset: arrival, lateSince: -1}
}
