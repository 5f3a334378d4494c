package recorder

import (
	"math/rand/v2"
	"testing"
	"time"
)

const (
	packetTime    = 20 * time.Millisecond
	packetSamples = 160
	// netDelay is the least network delay in these tests.
	netDelay = 5 * time.Millisecond
)

// sentAt is when packet i leaves the sender: when its last sample is
// captured.
func sentAt(i int) time.Duration { return time.Duration(i+1) * packetTime }

// numbered is packet i of a stream: 160 samples, each telling the packet
// and the sample apart, never zero.
func numbered(ssrc uint32, ts0 uint32, i int) Packet {
	pcm := make([]int16, packetSamples)
	for j := range pcm {
		pcm[j] = int16(1 + (i*packetSamples+j)%30000)
	}
	return Packet{SSRC: ssrc, Timestamp: ts0 + uint32(i*packetSamples), PCM: pcm}
}

// onTime delivers packets 0..n-1 on channel 0 with the least delay.
func onTime(n int) []delivery {
	ds := make([]delivery, n)
	for i := range ds {
		ds[i] = delivery{at: sentAt(i) + netDelay, ch: 0, p: numbered(7, 1234, i)}
	}
	return ds
}

// recordDeliveries records ds and returns the result and channel 0.
func recordDeliveries(t *testing.T, ds []delivery, end time.Duration) (Result, []int16) {
	t.Helper()
	s := newSim(t, Options{})
	s.deliver(ds)
	res, pcm := s.finish(end)
	return res, channelOf(pcm, 0)
}

func equalSamples(t *testing.T, got, want []int16) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
}

func TestReorderedPacketsLandInOrder(t *testing.T) {
	const n = 150
	end := sentAt(n) + time.Second
	_, want := recordDeliveries(t, onTime(n), end)
	for _, tc := range []struct {
		name string
		// delay is how much later than on time packet i arrives.
		delay func(i int) time.Duration
	}{
		// Each even packet arrives just after the odd one that follows it.
		{"swapped pairs", func(i int) time.Duration {
			if i%2 == 0 {
				return packetTime + time.Millisecond
			}
			return 0
		}},
		// Each triple arrives as 2, 0, 1.
		{"three-packet shuffle", func(i int) time.Duration {
			switch i % 3 {
			case 0:
				return 2*packetTime + time.Millisecond
			case 1:
				return packetTime + 2*time.Millisecond
			}
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := onTime(n)
			for i := range ds {
				ds[i].at += tc.delay(i)
			}
			res, got := recordDeliveries(t, ds, end)
			equalSamples(t, got, want)
			if res.Late != 0 || res.Duplicates != 0 {
				t.Errorf("late %d, duplicates %d; want none", res.Late, res.Duplicates)
			}
		})
	}
}

func TestDuplicateWrittenOnce(t *testing.T) {
	const n = 100
	end := sentAt(n) + time.Second
	_, want := recordDeliveries(t, onTime(n), end)
	ds := onTime(n)
	again := ds[40]
	again.at += 30 * time.Millisecond
	ds = append(ds, again)
	res, got := recordDeliveries(t, ds, end)
	equalSamples(t, got, want)
	if res.Duplicates != 1 {
		t.Errorf("duplicates %d, want 1", res.Duplicates)
	}
}

func TestPacketLaterThanWindowDropped(t *testing.T) {
	const n, late = 100, 40
	end := sentAt(n) + time.Second
	_, want := recordDeliveries(t, onTime(n), end)
	ds := onTime(n)
	ds[late].at += 400 * time.Millisecond // beyond the 200 ms window and a tick
	res, got := recordDeliveries(t, ds, end)
	if res.Late != 1 {
		t.Errorf("late %d, want 1", res.Late)
	}
	// The late packet's place is silence; the rest is as if on time.
	at := placeOnTime(late)
	clear(want[at : at+packetSamples])
	equalSamples(t, got, want)
}

// placeOnTime is where packet i of onTime lands: where it arrives.
func placeOnTime(i int) int {
	return int(framesIn(sentAt(i)+netDelay, DefaultSampleRate))
}

func TestRandomLossIsSilenceAtLostPackets(t *testing.T) {
	const n = 1000
	rng := rand.New(rand.NewPCG(1, 2))
	lost := make([]bool, n)
	var ds []delivery
	for i, d := range onTime(n) {
		if i > 0 && rng.Float64() < 0.05 {
			lost[i] = true
			continue
		}
		ds = append(ds, d)
	}
	res, got := recordDeliveries(t, ds, sentAt(n)+time.Second)
	if res.Late != 0 {
		t.Errorf("late %d", res.Late)
	}
	nlost := 0
	for i := range n {
		at := placeOnTime(i)
		want := numbered(7, 1234, i).PCM
		if lost[i] {
			nlost++
			want = make([]int16, packetSamples)
		}
		for j := range want {
			if got[at+j] != want[j] {
				t.Fatalf("packet %d (lost %v) sample %d = %d, want %d", i, lost[i], j, got[at+j], want[j])
			}
		}
	}
	if nlost < 20 {
		t.Fatalf("only %d packets lost; the test needs some", nlost)
	}
}

// TestPauseWithPackets: packets during a pause are not recorded, and
// after it the channel goes on where packets arrive.
func TestPauseWithPackets(t *testing.T) {
	const n = 150
	end := sentAt(n) + time.Second
	_, want := recordDeliveries(t, onTime(n), end)
	pauseAt, resumeAt := time.Second, 2*time.Second
	s := newSim(t, Options{})
	var before, during, after []delivery
	for _, d := range onTime(n) {
		switch {
		case d.at < pauseAt:
			before = append(before, d)
		case d.at < resumeAt:
			during = append(during, d)
		default:
			after = append(after, d)
		}
	}
	s.deliver(before)
	s.advance(pauseAt)
	s.r.Pause()
	s.deliver(during)
	s.advance(resumeAt)
	s.r.Resume()
	s.deliver(after)
	res, pcm := s.finish(end)
	// Silence from the pause to the end of the last packet it swallowed.
	lastSwallowed := during[len(during)-1].at + packetTime
	clear(want[framesIn(pauseAt, DefaultSampleRate):framesIn(lastSwallowed, DefaultSampleRate)])
	equalSamples(t, channelOf(pcm, 0), want)
	if len(res.Pauses) != 1 || res.Late != 0 {
		t.Errorf("pauses %+v, late %d", res.Pauses, res.Late)
	}
}
