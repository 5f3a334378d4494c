package recorder

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// counting is a sender whose sample k has the value 1 + k mod countWrap:
// its audio says which of its samples each recorded one is.
const countWrap = 30000

// countingPackets is n packets of a counting sender whose clock runs
// speed times ours, delivered after the least delay plus jitter.
func countingPackets(n int, speed float64, jitter func() time.Duration) []delivery {
	ds := make([]delivery, n)
	for i := range ds {
		pcm := make([]int16, packetSamples)
		for j := range pcm {
			pcm[j] = int16(1 + (i*packetSamples+j)%countWrap)
		}
		sent := time.Duration(float64(sentAt(i)) / speed)
		ds[i] = delivery{at: sent + netDelay + jitter(), ch: 0, p: Packet{SSRC: 3, Timestamp: uint32(i * packetSamples), PCM: pcm}}
	}
	return ds
}

// TestDriftAdjustsInSmallSteps: following a drifting sender never plays
// one of its samples twice, never skips more of them than one step, and
// never leaves a hole longer than one step.
func TestDriftAdjustsInSmallSteps(t *testing.T) {
	const length = 2 * time.Minute
	maxStep := int(framesIn(maxAdjustStep, DefaultSampleRate))
	for _, speed := range []float64{1.001, 0.999} {
		rng := rand.New(rand.NewPCG(7, 8))
		jitter := func() time.Duration { return time.Duration(rng.Int64N(int64(20 * time.Millisecond))) }
		n := int(float64(length/packetTime) * speed)
		s := newSim(t, Options{})
		s.deliver(countingPackets(n, speed, jitter))
		res, pcm := s.finish(length)
		got := channelOf(pcm, 0)
		// From the first second to the last, where the sender's audio is.
		from, to := int(framesIn(time.Second, DefaultSampleRate)), len(got)-int(framesIn(time.Second, DefaultSampleRate))
		prev, hole, steps := 0, 0, 0
		for i := from; i < to; i++ {
			v := int(got[i])
			if v == 0 {
				hole++
				if hole > maxStep {
					t.Fatalf("speed %v: a hole of %d frames at %d, longer than a step (%d)", speed, hole, i, maxStep)
				}
				continue
			}
			if prev != 0 {
				skip := (v - prev + countWrap) % countWrap // samples of the sender's moved past
				if skip != 1+hole {
					steps++
				}
				if skip == 0 || skip > 1+hole+maxStep || (hole > 0 && skip < 1+hole-maxStep) {
					t.Fatalf("speed %v: frame %d holds sender sample %d after %d (hole %d)", speed, i, v, prev, hole)
				}
			}
			prev, hole = v, 0
		}
		// 0.1 % of the two minutes is 120 ms: dozens of 2 ms steps.
		if steps < 40 || res.Late != 0 {
			t.Errorf("speed %v: %d steps, %d late; want at least 40 steps and nothing late", speed, steps, res.Late)
		}
	}
}

// TestLongerDelayReanchors: when the network delay grows past the window
// for good, packets are dropped as late for a second, then the channel
// re-anchors and records again where they arrive.
func TestLongerDelayReanchors(t *testing.T) {
	const n, change = 250, 100
	ds := onTime(n)
	for i := change; i < n; i++ {
		ds[i].at += 500 * time.Millisecond
	}
	res, got := recordDeliveries(t, ds, sentAt(n)+time.Second)
	if res.Late < 40 || res.Late > 60 {
		t.Errorf("late %d, want about a second's worth (50)", res.Late)
	}
	for i := range n {
		at := placeOnTime(i)
		if i >= change+res.Late {
			at = int(framesIn(ds[i].at, DefaultSampleRate))
		} else if i >= change {
			continue
		}
		want := numbered(7, 1234, i).PCM
		for j := range want {
			if got[at+j] != want[j] {
				t.Fatalf("packet %d sample %d = %d, want %d", i, j, got[at+j], want[j])
			}
		}
	}
}

// TestConcurrentLegs: both legs write at once while the recorder's own
// goroutine writes the file on the real clock (run with -race).
func TestConcurrentLegs(t *testing.T) {
	r, err := Start(t.TempDir()+"/r.wav", Options{SampleRate: 16000})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for ch := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := Packet{SSRC: uint32(ch), PCM: make([]int16, 320)}
			for range 50 {
				r.WritePacket(ch, p)
				r.Write(ch, p.PCM)
				p.Timestamp += 320
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	res, err := r.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	format, pcm := readStereo(t, res.Path)
	if format.SampleRate != 16000 || int64(len(pcm)) != 2*res.Frames {
		t.Fatalf("format %+v, %d samples for %d frames", format, len(pcm), res.Frames)
	}
}
