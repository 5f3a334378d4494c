package dtmf

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// frequencies returns the DTMF frequencies (ITU-T Q.23) in Hz: four rows
// (the low group) and four columns (the high group).
func frequencies() (rows, columns [4]float64) {
	return [4]float64{697, 770, 852, 941}, [4]float64{1209, 1336, 1477, 1633}
}

// keys lists the digits by row*4 + column.
const keys = "123A456B789C*0#D"

// Detection parameters. Times are in analysis windows: a window of about
// 12.8 ms (102 samples at 8 kHz, 205 at 16 kHz, a resolution of 78 Hz that
// separates neighbouring DTMF tones, 73 Hz apart at the closest) is
// analysed every half window (about 6.4 ms).
const (
	// pressWindows consecutive windows showing one digit make a press:
	// a tone of 40 ms always fills four whole windows, one of 20 ms at
	// most two (a window less than about 60 % filled fails the dominance
	// test), so 20 ms is never a press.
	pressWindows = 4
	// releaseWindows consecutive windows without the digit end a press:
	// a drop-out shorter than 20 ms touches at most six windows, so it
	// stays one press; a pause of 40 ms ends it (windows holding less
	// than about 60 % of tone fail, as above).
	releaseWindows = 7

	// minToneLevelDBm0 is the weakest tone (each of the pair) detected.
	minToneLevelDBm0 = -30
	// normalTwistDB is how much the row tone may exceed the column tone
	// (lines lose more of the high group), reverseTwistDB the other way.
	normalTwistDB  = 8
	reverseTwistDB = 4
	// dominanceDB is how far each tone must exceed the others of its
	// group.
	dominanceDB = 8
	// minToneShare is the share of the window's energy the two tones must
	// hold: speech and music spread theirs (the talk-off check).
	minToneShare = 0.7
	// probeOffset places two probes at ±5 % around each nominal frequency;
	// the tone must be stronger at its nominal frequency than at both, so
	// only tones within about ±2.5 % pass (Q.24: accept ±1.5 %, reject
	// ±3.5 %).
	probeOffset = 0.05
)

// zeroDBm0Peak is the peak of a 0 dBm0 sine in 16-bit linear PCM: G.711's
// full scale (32 124 after decoding µ-law) is +3.17 dBm0.
const zeroDBm0Peak = 22300

// ToneLevelDBm0 is the level of each of the two frequencies Tone makes: the
// pair sums to about -4 dBm0, a peak of about 19 900, without clipping.
const ToneLevelDBm0 = -7

// maxTone is the longest tone Tone makes.
const maxTone = time.Minute

// maxWindow is the analysis window at the highest sample rate.
const maxWindow = 205

// goertzel holds the coefficient of one frequency.
type goertzel struct{ coeff float64 }

func newGoertzel(frequency float64, sampleRate int) goertzel {
	return goertzel{coeff: 2 * math.Cos(2*math.Pi*frequency/float64(sampleRate))}
}

// Detector finds DTMF digits in linear PCM (ITU-T Q.23/Q.24 tones) with the
// Goertzel algorithm. It keeps the last window of samples in a fixed
// buffer, so Push never allocates. A Detector is not safe for concurrent
// use: one goroutine (a stream's receive side) owns it.
type Detector struct {
	window int // samples analysed at once
	hop    int // samples between analyses

	// tones are the four rows, then the four columns.
	tones [8]goertzel
	// probes are below and above each row and column frequency.
	rowProbes, columnProbes [4][2]goertzel

	// The thresholds as power ratios and levels.
	minToneMeanSquare         float64
	normalTwist, reverseTwist float64
	dominance                 float64

	state detectorState
}

// detectorState is what a Detector has heard: the samples of the current
// window and the press under way.
type detectorState struct {
	ring   [maxWindow]float64
	next   int // where the next sample goes in ring[:window]
	filled int // samples in the ring, up to window
	since  int // samples since the last analysis

	candidate byte // the digit the latest windows show, 0 for none
	hits      int  // consecutive windows showing candidate
	pressed   byte // the digit of the press under way, 0 for none
	misses    int  // consecutive windows without pressed
}

// NewDetector returns a detector for samples at sampleRate, 8000 or 16000.
func NewDetector(sampleRate int) (*Detector, error) {
	var window int
	switch sampleRate {
	case 8000:
		window = 102
	case 16000:
		window = maxWindow
	default:
		return nil, fmt.Errorf("dtmf detector: sample rate %d not supported (use 8000 or 16000)", sampleRate)
	}
	d := &Detector{window: window, hop: window / 2}
	rowFrequencies, columnFrequencies := frequencies()
	for i := range 4 {
		d.tones[i] = newGoertzel(rowFrequencies[i], sampleRate)
		d.tones[4+i] = newGoertzel(columnFrequencies[i], sampleRate)
		d.rowProbes[i] = [2]goertzel{
			newGoertzel(rowFrequencies[i]*(1-probeOffset), sampleRate),
			newGoertzel(rowFrequencies[i]*(1+probeOffset), sampleRate),
		}
		d.columnProbes[i] = [2]goertzel{
			newGoertzel(columnFrequencies[i]*(1-probeOffset), sampleRate),
			newGoertzel(columnFrequencies[i]*(1+probeOffset), sampleRate),
		}
	}
	peak := zeroDBm0Peak * math.Pow(10, minToneLevelDBm0/20.0)
	d.minToneMeanSquare = peak * peak / 2
	d.normalTwist, d.reverseTwist = dB(normalTwistDB), dB(reverseTwistDB)
	d.dominance = dB(dominanceDB)
	return d, nil
}

// Reset forgets the samples and any press under way, as for a new call.
func (d *Detector) Reset() {
	d.state = detectorState{}
}

// Push feeds samples (any chunk size, typically one 20 ms packet) and calls
// emit once per key press, once the tone has lasted about 30 ms (35 ms
// always, 20 ms never; see pressWindows). A press is reported at its
// start, never twice, and a press interrupted by a drop-out shorter than
// 20 ms is still one press. It does not allocate.
func (d *Detector) Push(pcm []int16, emit func(digit byte)) {
	st := &d.state
	for _, s := range pcm {
		st.ring[st.next] = float64(s)
		st.next++
		if st.next == d.window {
			st.next = 0
		}
		if st.filled < d.window {
			st.filled++
		}
		st.since++
		if st.filled == d.window && st.since >= d.hop {
			st.since = 0
			d.step(d.analyse(), emit)
		}
	}
}

// step advances the press state machine by one window showing digit (0 for
// none).
func (d *Detector) step(digit byte, emit func(digit byte)) {
	st := &d.state
	if digit == 0 {
		st.candidate, st.hits = 0, 0
	} else if digit == st.candidate {
		st.hits++
	} else {
		st.candidate, st.hits = digit, 1
	}
	if digit != 0 && digit == st.pressed {
		st.misses = 0
		return
	}
	if st.pressed != 0 {
		st.misses++
		if st.misses >= releaseWindows {
			st.pressed = 0
		}
	}
	if st.candidate != 0 && st.hits >= pressWindows {
		st.pressed, st.misses = st.candidate, 0
		emit(st.pressed)
	}
}

// bank runs n Goertzel filters over the window in one pass and returns
// the mean square of each frequency's component (A²/2 for a sine of
// amplitude A) and the window's energy (sum of squares).
func (d *Detector) bank(filters *[8]goertzel, n int) (power [8]float64, energy float64) {
	var s1, s2 [8]float64
	filter := func(x float64) {
		energy += x * x
		for i := range n {
			s1[i], s2[i] = x+filters[i].coeff*s1[i]-s2[i], s1[i]
		}
	}
	start := d.state.next // the oldest sample
	for _, x := range d.state.ring[start:d.window] {
		filter(x)
	}
	for _, x := range d.state.ring[:start] {
		filter(x)
	}
	size := float64(d.window)
	for i := range n {
		power[i] = 2 * (s1[i]*s1[i] + s2[i]*s2[i] - filters[i].coeff*s1[i]*s2[i]) / (size * size)
	}
	return power, energy
}

// analyse returns the digit the current window shows, or 0.
func (d *Detector) analyse() byte {
	power, energy := d.bank(&d.tones, 8)
	row, col := strongest(power[:4]), strongest(power[4:])
	r, c := power[row], power[4+col]
	if r < d.minToneMeanSquare || c < d.minToneMeanSquare {
		return 0
	}
	if r > c*d.normalTwist || c > r*d.reverseTwist {
		return 0
	}
	if !d.dominates(power[:4], row) || !d.dominates(power[4:], col) {
		return 0
	}
	if r+c < minToneShare*energy/float64(d.window) {
		return 0
	}
	probes := [8]goertzel{d.rowProbes[row][0], d.rowProbes[row][1], d.columnProbes[col][0], d.columnProbes[col][1]}
	probe, _ := d.bank(&probes, 4)
	if probe[0] > r || probe[1] > r || probe[2] > c || probe[3] > c {
		return 0
	}
	return keys[row*4+col]
}

// strongest returns the index of the largest of four powers.
func strongest(p []float64) int {
	best := 0
	for i := 1; i < 4; i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// dominates reports whether p[best] exceeds the other powers of its group
// by dominanceDB.
func (d *Detector) dominates(p []float64, best int) bool {
	for i, v := range p {
		if i != best && v*d.dominance > p[best] {
			return false
		}
	}
	return true
}

// dB converts decibels to a power ratio.
func dB(db float64) float64 { return math.Pow(10, db/10) }

// Tone appends to dst the samples of one digit: its row and column
// frequencies, each at ToneLevelDBm0 (-7 dBm0, a peak of about 9 950 in
// 16-bit linear PCM), for duration at sampleRate (8000 or 16000), and
// returns the extended slice. It is used to forward a digit in-band to a
// leg that negotiated no telephone-event. The tone starts and ends at zero
// phase, without ramps.
func Tone(dst []int16, digit byte, sampleRate int, duration time.Duration) ([]int16, error) {
	if sampleRate != 8000 && sampleRate != 16000 {
		return dst, fmt.Errorf("dtmf tone: sample rate %d not supported (use 8000 or 16000)", sampleRate)
	}
	code, ok := Code(digit)
	if !ok || code > 15 {
		return dst, fmt.Errorf("dtmf tone for %q: not a DTMF digit (use 0-9, *, #, A-D)", digit)
	}
	if duration <= 0 || duration > maxTone {
		return dst, errors.New("dtmf tone: duration must be positive and at most a minute")
	}
	i := indexOfKey(digits[code])
	rowFrequencies, columnFrequencies := frequencies()
	low, high := rowFrequencies[i/4], columnFrequencies[i%4]
	amplitude := zeroDBm0Peak * math.Pow(10, ToneLevelDBm0/20.0)
	n := int(duration * time.Duration(sampleRate) / time.Second)
	rate := float64(sampleRate)
	for k := range n {
		t := float64(k) / rate
		v := amplitude * (math.Sin(2*math.Pi*low*t) + math.Sin(2*math.Pi*high*t))
		dst = append(dst, int16(math.Round(v)))
	}
	return dst, nil
}

// indexOfKey is the position of digit in keys (row*4 + column).
func indexOfKey(digit byte) int {
	for i := range len(keys) {
		if keys[i] == digit {
			return i
		}
	}
	return -1
}
