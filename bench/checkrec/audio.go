package main

import (
	"fmt"
	"math"
	"os"
	"time"

	"github.com/callrec/callrec/internal/media/wav"
)

// The tone check: the benchmark's calls carry a 440 Hz tone at half of
// full scale on both channels from the bridge to the hang-up, so a 100 ms
// window of either channel that is nearly silent is audio the recording
// lost.
const (
	gapWindow = 100 * time.Millisecond
	// gapLevel is the RMS, as a fraction of full scale, below which a
	// window counts as a gap (the tone's is 0.35).
	gapLevel = 0.05
	// gapEdge is left out at each end: the tone starts after the ACK and
	// the last packets may be after the BYE.
	gapEdge = time.Second
	// gapTolerance is the largest gap share (of a recording's windows)
	// that still counts as carrying the tone.
	gapTolerance = 0.01
)

// audioReport is what checkAudio found.
type audioReport struct {
	checked, withGaps int
	worst             float64 // largest share of gap windows in one recording
}

// String is the line the benchmark script prints.
func (r audioReport) String() string {
	return fmt.Sprintf("tone_checked=%d recordings_with_gaps=%d worst_gap_pct=%.2f", r.checked, r.withGaps, r.worst*100)
}

// checkAudio looks for gaps in the tone of every completed call's
// recording that is a stereo WAV at rate Hz.
func checkAudio(calls []call, rate uint32) audioReport {
	var r audioReport
	for _, c := range calls {
		if c.Status != "completed" || c.RecordingFile == "" {
			continue
		}
		f, err := os.Open(c.RecordingFile)
		if err != nil {
			continue
		}
		format, pcm, err := wav.Decode(f)
		f.Close()
		if err != nil || format.Channels != 2 || format.SampleRate != rate {
			continue
		}
		r.checked++
		share := gapShare(pcm, int(rate))
		if share > r.worst {
			r.worst = share
		}
		if share > gapTolerance {
			r.withGaps++
		}
	}
	return r
}

// gapShare is the share of gapWindow windows of interleaved stereo pcm at
// rate Hz, gapEdge from either end, where either channel's RMS is below
// gapLevel. A recording too short to have such windows has none.
func gapShare(pcm []int16, rate int) float64 {
	window := rate * int(gapWindow/time.Millisecond) / 1000
	edge := rate * int(gapEdge/time.Millisecond) / 1000
	frames := len(pcm) / 2
	var windows, gaps int
	for start := edge; start+window <= frames-edge; start += window {
		windows++
		var sum [2]float64
		for i := start; i < start+window; i++ {
			for ch := range 2 {
				v := float64(pcm[2*i+ch])
				sum[ch] += v * v
			}
		}
		for ch := range 2 {
			if math.Sqrt(sum[ch]/float64(window))/math.MaxInt16 < gapLevel {
				gaps++
				break
			}
		}
	}
	if windows == 0 {
		return 0
	}
	return float64(gaps) / float64(windows)
}
