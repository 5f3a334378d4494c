package recorder

import (
	"math/rand/v2"
	"testing"
	"time"
)

// pulsed is a sender on channel ch: its clock runs speed times ours, it
// sends 20 ms packets, and its audio is a 40 ms square-wave pulse every
// `every` of real (our) time, silence in between.
type pulsed struct {
	ch    int
	ssrc  uint32
	ts0   uint32
	speed float64
	every time.Duration
}

const pulseLength = 40 * time.Millisecond

// packets is the sender's first n packets, each delivered after the least
// delay plus jitter(i).
func (s pulsed) packets(n int, jitter func(i int) time.Duration) []delivery {
	ds := make([]delivery, n)
	for i := range ds {
		pcm := make([]int16, packetSamples)
		// Sample k of the sender is captured at k/8000/speed s of ours.
		capturedAt := func(k int) time.Duration {
			return time.Duration(float64(k) / DefaultSampleRate / s.speed * float64(time.Second))
		}
		first, last := capturedAt(i*packetSamples), capturedAt((i+1)*packetSamples-1)
		silent := first/s.every == last/s.every && first%s.every >= pulseLength
		for j := 0; j < len(pcm) && !silent; j++ {
			if capturedAt(i*packetSamples+j)%s.every < pulseLength {
				pcm[j] = 8000
				if j%2 == 1 {
					pcm[j] = -8000
				}
			}
		}
		sent := time.Duration(float64(sentAt(i)) / s.speed)
		ds[i] = delivery{
			at: sent + netDelay + jitter(i),
			ch: s.ch,
			p:  Packet{SSRC: s.ssrc, Timestamp: s.ts0 + uint32(i*packetSamples), PCM: pcm},
		}
	}
	return ds
}

// onsets finds the start of each pulse k (k·every of real time) in one
// channel: the first sound at or after a quarter period before it.
func onsets(t *testing.T, pcm []int16, every time.Duration, pulses int) []int {
	t.Helper()
	period := int(framesIn(every, DefaultSampleRate))
	out := make([]int, pulses)
	for k := range out {
		from := max(0, k*period-period/4)
		out[k] = -1
		for i := from; i < min(len(pcm), from+period/2); i++ {
			if pcm[i] != 0 {
				out[k] = i
				break
			}
		}
		if out[k] < 0 {
			t.Fatalf("pulse %d not found", k)
		}
	}
	return out
}

// checkAligned fails if a pulse starts more than 20 ms apart on the two
// channels, and returns the largest gap seen.
func checkAligned(t *testing.T, pcm []int16, every time.Duration, pulses int) int {
	t.Helper()
	left := onsets(t, channelOf(pcm, 0), every, pulses)
	right := onsets(t, channelOf(pcm, 1), every, pulses)
	limit := int(framesIn(20*time.Millisecond, DefaultSampleRate))
	worst := 0
	for k := range left {
		gap := left[k] - right[k]
		if gap < 0 {
			gap = -gap
		}
		worst = max(worst, gap)
		if gap > limit {
			t.Errorf("pulse %d at %d on channel 0 and %d on channel 1: %d frames apart", k, left[k], right[k], gap)
		}
	}
	return worst
}

func TestJitteredChannelsStayAligned(t *testing.T) {
	const n = 1000 // 20 s
	const every = 500 * time.Millisecond
	rng := rand.New(rand.NewPCG(3, 4))
	jitter := func(int) time.Duration { return time.Duration(rng.Int64N(int64(60 * time.Millisecond))) }
	owner := pulsed{ch: 0, ssrc: 1, ts0: 90000, speed: 1, every: every}.packets(n, jitter)
	other := pulsed{ch: 1, ssrc: 2, ts0: 4294960000, speed: 1, every: every}.packets(n, jitter)
	// The other side's first packet is 150 ms late and holds up those
	// queued behind it.
	other[0].at += 150 * time.Millisecond
	for i := 1; i < n && other[i].at < other[0].at; i++ {
		other[i].at = other[0].at
	}
	s := newSim(t, Options{})
	s.deliver(append(owner, other...))
	res, pcm := s.finish(sentAt(n) + time.Second)
	if res.Late != 0 {
		t.Errorf("late %d; jitter within the window drops nothing", res.Late)
	}
	worst := checkAligned(t, pcm, every, int(sentAt(n-1)/every))
	t.Logf("worst misalignment %d frames", worst)
}

func TestSenderClockDrift(t *testing.T) {
	minutes := 10
	if testing.Short() {
		minutes = 2
	}
	const every = time.Second
	for _, tc := range []struct {
		name  string
		speed float64
	}{{"0.1% fast", 1.001}, {"0.1% slow", 0.999}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(5, 6))
			jitter := func(int) time.Duration { return time.Duration(rng.Int64N(int64(20 * time.Millisecond))) }
			length := time.Duration(minutes) * time.Minute
			n := int(length / packetTime)
			owner := pulsed{ch: 0, ssrc: 1, ts0: 0, speed: 1, every: every}.packets(n, jitter)
			// The other side sends as many packets as its clock makes in
			// the same wall time.
			other := pulsed{ch: 1, ssrc: 2, ts0: 5, speed: tc.speed, every: every}.packets(int(float64(n)*tc.speed), jitter)
			s := newSim(t, Options{})
			s.deliver(append(owner, other...))
			end := length + time.Second
			res, pcm := s.finish(end)
			wall := framesIn(end, DefaultSampleRate)
			if d := res.Frames - wall; d < -wall/100 || d > wall/100 {
				t.Errorf("%d frames, want %d ±1%%", res.Frames, wall)
			}
			worst := checkAligned(t, pcm, every, int(length/every)-1)
			t.Logf("worst misalignment %d frames, late %d", worst, res.Late)
		})
	}
}
