package analytics

import (
	"errors"
	"math"
	"slices"
	"time"
)

// VADParams tune the voice activity detector. The zero value of a field
// means its default (DefaultVAD).
//
// The detector works on the energy of frames: a frame starts speech when
// its level reaches the onset threshold, which adapts to the channel (the
// highest of: the noise floor plus MarginDB, the channel's loud level minus
// RangeDB, and FloorDB). Speech continues through quieter gaps shorter than
// Hangover; a burst shorter than MinSpeech is dropped (a click, a cough,
// line noise); the edges of what remains then extend over the neighbouring
// frames that are still EdgeDB above the noise floor (the soft start of a
// fricative, a fading vowel), by at most MaxEdge. The noise floor is the
// 10th percentile of the frame levels and the loud level the 99th.
type VADParams struct {
	// Frame is the analysis frame; default 20 ms.
	Frame time.Duration
	// Hangover bridges pauses shorter than this inside speech; default
	// 600 ms. The speech's end is not extended by it.
	Hangover time.Duration
	// MinSpeech is the shortest burst kept as speech; default 120 ms.
	MinSpeech time.Duration
	// MarginDB puts the onset threshold this far above the noise floor;
	// default 9 dB. When speech is less than twice that above the noise,
	// the margin shrinks to half the difference (never below 6 dB).
	MarginDB float64
	// RangeDB keeps the onset threshold within this much of the channel's
	// loud level; default 35 dB.
	RangeDB float64
	// FloorDB is the lowest onset threshold in dBFS; default −60 dBFS.
	// Edges extend no lower than 10 dB under it.
	FloorDB float64
	// EdgeDB is how far above the noise floor a frame must be to extend an
	// edge; default 3 dB (at most half the onset margin).
	EdgeDB float64
	// MaxEdge limits the extension of each edge; default 200 ms.
	MaxEdge time.Duration
}

// DefaultVAD returns the parameters tuned on the test corpus (internal/
// corpus: flite voices at 8 and 16 kHz), as rendered and also attenuated by
// up to 20 dB and with noise up to 17 dB below the speech: on the corpus as
// rendered every line is found, with edges within 25 ms and talk time
// within 1 %; at 30 dB signal-to-noise edges stay within 200 ms and talk
// time within 2.5 %.
func DefaultVAD() VADParams {
	return VADParams{
		Frame:     20 * time.Millisecond,
		Hangover:  600 * time.Millisecond,
		MinSpeech: 120 * time.Millisecond,
		MarginDB:  9,
		RangeDB:   35,
		FloorDB:   -60,
		EdgeDB:    3,
		MaxEdge:   200 * time.Millisecond,
	}
}

// withDefaults fills the zero fields of p.
func (p VADParams) withDefaults() VADParams {
	d := DefaultVAD()
	if p.Frame <= 0 {
		p.Frame = d.Frame
	}
	if p.Hangover <= 0 {
		p.Hangover = d.Hangover
	}
	if p.MinSpeech <= 0 {
		p.MinSpeech = d.MinSpeech
	}
	if p.MarginDB == 0 {
		p.MarginDB = d.MarginDB
	}
	if p.RangeDB == 0 {
		p.RangeDB = d.RangeDB
	}
	if p.FloorDB == 0 {
		p.FloorDB = d.FloorDB
	}
	if p.EdgeDB == 0 {
		p.EdgeDB = d.EdgeDB
	}
	if p.MaxEdge <= 0 {
		p.MaxEdge = d.MaxEdge
	}
	return p
}

// Interval is a stretch of a recording, [Start, End).
type Interval struct {
	Start, End time.Duration
}

// Duration is the interval's length.
func (i Interval) Duration() time.Duration { return i.End - i.Start }

// Activity is the result of voice activity detection on one channel.
type Activity struct {
	// SampleRate of the channel.
	SampleRate int
	// FrameLen is the number of samples in a frame.
	FrameLen int
	// Samples is the channel's length.
	Samples int
	// Level is each frame's RMS level in dBFS (DC removed); silence is
	// −120.
	Level []float64
	// Speech lists the spans of speech in time order.
	Speech []Interval
}

// FrameTime returns the start of frame i.
func (a *Activity) FrameTime(i int) time.Duration {
	return samplesDuration(min(i*a.FrameLen, a.Samples), a.SampleRate)
}

// frameAt returns the frame holding time t.
func (a *Activity) frameAt(t time.Duration) int {
	return int(int64(t) * int64(a.SampleRate) / int64(time.Second) / int64(a.FrameLen))
}

// Total returns the time covered by Speech.
func (a *Activity) Total() time.Duration {
	var d time.Duration
	for _, s := range a.Speech {
		d += s.Duration()
	}
	return d
}

// minMarginDB is the smallest margin of the onset threshold above the noise
// floor: steady noise varies far less than this from frame to frame.
const minMarginDB = 6

// silenceDB is the level reported for a frame of digital silence.
const silenceDB = -120.0

// DetectVoice finds the speech in one channel of samples at sampleRate (any
// rate; frames are rounded to whole samples).
func DetectVoice(samples []int16, sampleRate int, p VADParams) (Activity, error) {
	if sampleRate <= 0 {
		return Activity{}, ErrSampleRate
	}
	p = p.withDefaults()
	fl := max(1, int(math.Round(float64(sampleRate)*p.Frame.Seconds())))
	a := Activity{SampleRate: sampleRate, FrameLen: fl, Samples: len(samples)}
	nf := (len(samples) + fl - 1) / fl
	if nf == 0 {
		return a, nil
	}
	a.Level = make([]float64, nf)
	for i := range nf {
		fr := samples[i*fl : min(len(samples), (i+1)*fl)]
		var s, s2 float64
		for _, v := range fr {
			x := float64(v)
			s += x
			s2 += x * x
		}
		n := float64(len(fr))
		ms := (s2 - s*s/n) / n / (32768 * 32768)
		if ms > 1e-12 {
			a.Level[i] = 10 * math.Log10(ms)
		} else {
			a.Level[i] = silenceDB
		}
	}
	sorted := slices.Clone(a.Level)
	slices.Sort(sorted)
	floor := sorted[(nf-1)*10/100]
	loud := sorted[(nf-1)*99/100]
	// With little headroom between noise and speech the margin shrinks
	// (half the headroom, never less than minMarginDB).
	margin := min(p.MarginDB, max(minMarginDB, (loud-floor)/2))
	onset := max(floor+margin, loud-p.RangeDB, p.FloorDB)
	edge := min(onset, max(floor+min(p.EdgeDB, (onset-floor)/2), p.FloorDB-10))

	frames := func(d time.Duration) int {
		return int(math.Ceil(d.Seconds() * float64(sampleRate) / float64(fl)))
	}
	hang, minLen, maxEdge := frames(p.Hangover), frames(p.MinSpeech), frames(p.MaxEdge)

	// Runs of loud frames, bridged over short gaps: [start, end) in frames.
	var runs [][2]int
	for i := 0; i < nf; i++ {
		if a.Level[i] < onset {
			continue
		}
		j := i
		for j < nf && a.Level[j] >= onset {
			j++
		}
		if k := len(runs) - 1; k >= 0 && i-runs[k][1] < hang {
			runs[k][1] = j
		} else {
			runs = append(runs, [2]int{i, j})
		}
		i = j
	}
	kept := runs[:0]
	for _, r := range runs {
		if r[1]-r[0] >= minLen {
			kept = append(kept, r)
		}
	}
	for k := range kept {
		lo := 0
		if k > 0 {
			lo = kept[k-1][1]
		}
		for n := 0; n < maxEdge && kept[k][0] > lo && a.Level[kept[k][0]-1] >= edge; n++ {
			kept[k][0]--
		}
		hi := nf
		if k+1 < len(kept) {
			hi = kept[k+1][0]
		}
		for n := 0; n < maxEdge && kept[k][1] < hi && a.Level[kept[k][1]] >= edge; n++ {
			kept[k][1]++
		}
	}
	for _, r := range kept {
		iv := Interval{a.FrameTime(r[0]), a.FrameTime(r[1])}
		if k := len(a.Speech) - 1; k >= 0 && iv.Start <= a.Speech[k].End {
			a.Speech[k].End = iv.End
			continue
		}
		a.Speech = append(a.Speech, iv)
	}
	return a, nil
}

func samplesDuration(n, rate int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

// errors of Analyze.
var (
	// ErrNoAudio: the recording has no samples.
	ErrNoAudio = errors.New("analytics: recording has no audio")
	// ErrChannels: the recording is not stereo.
	ErrChannels = errors.New("analytics: need 2 channels (owner, other party)")
	// ErrSampleRate: the recording's sample rate is not positive.
	ErrSampleRate = errors.New("analytics: sample rate must be positive")
	// ErrChannelLength: the channels differ in length.
	ErrChannelLength = errors.New("analytics: channels differ in length")
)

func sortIntervals(s []Interval) {
	slices.SortFunc(s, func(a, b Interval) int { return cmpDur(a.Start, b.Start) })
}
