package sphinx

import (
	"math"
	"slices"
	"time"
)

// PocketSphinx (0.8) recognises well only when it is given a whole
// utterance at once, so each channel is first cut into stretches of speech
// by an energy voice-activity detector; each stretch is then decoded whole.

// vadParams tunes the voice-activity detector.
type vadParams struct {
	Frame      time.Duration // analysis frame
	Hangover   time.Duration // a segment stays open through dips in energy this long
	MinGap     time.Duration // shorter pauses do not split a segment
	Pad        time.Duration // added before and after every segment
	MinSpeech  time.Duration // shorter bursts (clicks) are dropped
	MaxSegment time.Duration // longer segments are split at their quietest frame
	// SilenceDB is the level (dBFS) below which a frame is never speech.
	SilenceDB float64
	// MinContrastDB is the least difference between the channel's loud and
	// quiet frames for anything to count as speech: a channel of steady
	// noise (or a steady tone) has none.
	MinContrastDB float64
}

var defaultVAD = vadParams{
	Frame:         20 * time.Millisecond,
	Hangover:      200 * time.Millisecond,
	MinGap:        300 * time.Millisecond,
	Pad:           150 * time.Millisecond,
	MinSpeech:     60 * time.Millisecond,
	MaxSegment:    30 * time.Second,
	SilenceDB:     -60,
	MinContrastDB: 10,
}

// span is a stretch [Start, End) of samples.
type span struct{ Start, End int }

// frameEnergies returns the level of each frame of n samples in dBFS
// (floored at -100). A trailing partial frame counts as a frame.
func frameEnergies(x []int16, n int) []float64 {
	if n <= 0 {
		return nil
	}
	out := make([]float64, 0, (len(x)+n-1)/n)
	for i := 0; i < len(x); i += n {
		f := x[i:min(i+n, len(x))]
		var sum float64
		for _, s := range f {
			v := float64(s)
			sum += v * v
		}
		ms := sum / float64(len(f)) / (32768 * 32768)
		out = append(out, 10*math.Log10(ms+1e-10))
	}
	return out
}

// percentile returns the p-th percentile (0..1) of sorted.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.Inf(-1)
	}
	i := int(math.Round(p * float64(len(sorted)-1)))
	return sorted[i]
}

// segments returns the stretches of speech in x (sampled at rate) in time
// order, padded and merged as p says.
func segments(x []int16, rate int, p vadParams) []span {
	frame := int(int64(rate) * int64(p.Frame) / int64(time.Second))
	if frame <= 0 || len(x) == 0 {
		return nil
	}
	frames := func(d time.Duration) int { return int((d + p.Frame - 1) / p.Frame) }
	e := frameEnergies(x, frame)

	sorted := slices.Clone(e)
	slices.Sort(sorted)
	floor := percentile(sorted, 0.10)
	peak := percentile(sorted, 0.99)
	if peak < p.SilenceDB || peak-floor < p.MinContrastDB {
		return nil
	}
	// The threshold sits above the noise floor by a part of the dynamic
	// range (between 8 and 20 dB), never below SilenceDB; falling back
	// below it needs a further 4 dB (hysteresis).
	on := max(p.SilenceDB, floor+min(max((peak-floor)*0.3, 8), 20))
	off := on - 4

	// Frames that are speech, with hangover.
	var raw []span // in frames
	hang := frames(p.Hangover)
	inSpeech, start, last, loud := false, 0, 0, 0
	minLoud := max(1, frames(p.MinSpeech))
	for i, v := range e {
		switch {
		case !inSpeech && v >= on:
			inSpeech, start, last, loud = true, i, i, 1
		case inSpeech && v >= off:
			last = i
			if v >= on {
				loud++
			}
		case inSpeech && i-last > hang:
			if loud >= minLoud {
				raw = append(raw, span{start, last + 1})
			}
			inSpeech = false
		}
	}
	if inSpeech && loud >= minLoud {
		raw = append(raw, span{start, last + 1})
	}

	// Merge short gaps.
	gap := frames(p.MinGap)
	var merged []span
	for _, s := range raw {
		if n := len(merged); n > 0 && s.Start-merged[n-1].End < gap {
			merged[n-1].End = s.End
			continue
		}
		merged = append(merged, s)
	}

	// Split overlong segments at their quietest frame in the second half
	// of the allowed length, so no decode gets an unbounded utterance.
	maxLen := frames(p.MaxSegment)
	var split []span
	for _, s := range merged {
		for maxLen > 1 && s.End-s.Start > maxLen {
			lo, hi := s.Start+maxLen/2, s.Start+maxLen
			cut := lo
			for i := lo; i < hi; i++ {
				if e[i] < e[cut] {
					cut = i
				}
			}
			split = append(split, span{s.Start, cut})
			s.Start = cut
		}
		split = append(split, s)
	}

	// Frames to samples, padded and clamped.
	pad := int(int64(rate) * int64(p.Pad) / int64(time.Second))
	out := make([]span, 0, len(split))
	for i, s := range split {
		a, b := s.Start*frame-pad, s.End*frame+pad
		// Padding never reaches into a neighbour produced by a split.
		if i > 0 && split[i-1].End == s.Start {
			a = s.Start * frame
		}
		if i+1 < len(split) && split[i+1].Start == s.End {
			b = s.End * frame
		}
		a, b = max(a, 0), min(b, len(x))
		if n := len(out); n > 0 && a < out[n-1].End {
			a = out[n-1].End
		}
		if b > a {
			out = append(out, span{a, b})
		}
	}
	return out
}
