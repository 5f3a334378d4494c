package recorder

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// delivery is one packet arriving on a channel at a time after the start.
type delivery struct {
	at time.Duration
	ch int
	p  Packet
}

// sim drives a recorder with a fake clock and runs its writer by hand,
// so that what is late and what is placed never depends on real time.
type sim struct {
	t     *testing.T
	clk   *fakeClock
	start time.Time
	now   time.Duration
	r     *Recorder
}

// flushStep is how often the simulated writer ticks.
const flushStep = 10 * time.Millisecond

func newSim(t *testing.T, opts Options) *sim {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1000, 0)}
	opts.Clock = clk.now
	opts.manualFlush = true
	r, err := Start(filepath.Join(t.TempDir(), "r.wav"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, clk: clk, start: clk.now(), r: r}
}

// advance moves the clock to at, ticking the writer every flushStep on
// the way.
func (s *sim) advance(at time.Duration) {
	for s.now < at {
		d := min(flushStep-s.now%flushStep, at-s.now)
		s.clk.add(d)
		s.now += d
		if s.now%flushStep == 0 {
			s.r.tickOnce()
		}
	}
}

// deliver hands every delivery to the recorder in order of arrival (ties
// in the order given).
func (s *sim) deliver(ds []delivery) {
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b delivery) int {
		return int(a.at - b.at)
	})
	for _, d := range ds {
		s.advance(d.at)
		s.r.WritePacket(d.ch, d.p)
	}
}

// finish runs the clock to end, stops and returns the result and the
// file's interleaved samples.
func (s *sim) finish(end time.Duration) (Result, []int16) {
	s.t.Helper()
	s.advance(end)
	res, err := s.r.Stop(false)
	if err != nil {
		s.t.Fatal(err)
	}
	_, pcm := readStereo(s.t, s.r.Path())
	if int64(len(pcm)) != 2*res.Frames {
		s.t.Fatalf("file holds %d samples, result says %d frames", len(pcm), res.Frames)
	}
	return res, pcm
}

// channelOf returns one channel of interleaved stereo samples.
func channelOf(pcm []int16, ch int) []int16 {
	out := make([]int16, len(pcm)/2)
	for i := range out {
		out[i] = pcm[2*i+ch]
	}
	return out
}
