package dtmf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// rates are the sample rates the detector supports.
func rates() []int { return []int{8000, 16000} }

// detect runs pcm through a new detector in 20 ms chunks and returns the
// digits it emitted.
func detect(t testing.TB, rate int, pcm []int16) string {
	t.Helper()
	d, err := NewDetector(rate)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	chunk := rate / 50
	for len(pcm) > 0 {
		n := min(chunk, len(pcm))
		d.Push(pcm[:n], func(digit byte) { got = append(got, digit) })
		pcm = pcm[n:]
	}
	return string(got)
}

func tone(t testing.TB, dst []int16, digit byte, rate int, duration time.Duration) []int16 {
	t.Helper()
	out, err := Tone(dst, digit, rate, duration)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func silence(dst []int16, rate int, duration time.Duration) []int16 {
	return append(dst, make([]int16, int(duration)*rate/int(time.Second))...)
}

// sines makes the sum of sines at the given frequencies and peak amplitudes.
func sines(rate int, duration time.Duration, freqs, amplitudes []float64) []int16 {
	n := int(duration) * rate / int(time.Second)
	out := make([]int16, n)
	for k := range out {
		var v float64
		for i, f := range freqs {
			v += amplitudes[i] * math.Sin(2*math.Pi*f*float64(k)/float64(rate))
		}
		out[k] = int16(math.Round(v))
	}
	return out
}

// frequenciesOf returns the row and column frequencies of a digit.
func frequenciesOf(digit byte) (row, column float64) {
	rows, columns := frequencies()
	i := indexOfKey(digit)
	return rows[i/4], columns[i%4]
}

// toneAmplitude is the peak of one of Tone's sines.
func toneAmplitude() float64 { return zeroDBm0Peak * math.Pow(10, ToneLevelDBm0/20.0) }

func readRaw(t *testing.T, name string) []int16 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(data)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return pcm
}

func TestDetectorEveryDigitOnce(t *testing.T) {
	for _, rate := range rates() {
		for _, digit := range []byte(keys) {
			pcm := silence(nil, rate, 30*time.Millisecond)
			pcm = tone(t, pcm, digit, rate, 100*time.Millisecond)
			pcm = silence(pcm, rate, 100*time.Millisecond)
			if got := detect(t, rate, pcm); got != string(digit) {
				t.Errorf("%d Hz, digit %c: detected %q", rate, digit, got)
			}
		}
	}
}

func TestDetectorSoxTones(t *testing.T) {
	for _, rate := range rates() {
		pcm := readRaw(t, "sox-digits-"+map[int]string{8000: "8000", 16000: "16000"}[rate]+".raw")
		if got := detect(t, rate, pcm); got != keys {
			t.Errorf("%d Hz sox tones: detected %q, want %q", rate, got, keys)
		}
	}
}

func TestDetectorSequenceWithGaps(t *testing.T) {
	for _, rate := range rates() {
		var pcm []int16
		for _, digit := range []byte("1234#") {
			pcm = tone(t, pcm, digit, rate, 60*time.Millisecond)
			pcm = silence(pcm, rate, 60*time.Millisecond)
		}
		if got := detect(t, rate, pcm); got != "1234#" {
			t.Errorf("%d Hz: detected %q, want 1234#", rate, got)
		}
	}
}

func TestDetectorSameDigitTwice(t *testing.T) {
	for _, rate := range rates() {
		pcm := tone(t, nil, '5', rate, 60*time.Millisecond)
		pcm = silence(pcm, rate, 60*time.Millisecond)
		pcm = tone(t, pcm, '5', rate, 60*time.Millisecond)
		if got := detect(t, rate, pcm); got != "55" {
			t.Errorf("%d Hz: detected %q, want 55", rate, got)
		}
	}
}

func TestDetectorBackToBackDigits(t *testing.T) {
	for _, rate := range rates() {
		pcm := tone(t, nil, '1', rate, 80*time.Millisecond)
		pcm = tone(t, pcm, '9', rate, 80*time.Millisecond)
		if got := detect(t, rate, pcm); got != "19" {
			t.Errorf("%d Hz: detected %q, want 19", rate, got)
		}
	}
}

func TestDetectorHeldDigitIsOnePress(t *testing.T) {
	for _, rate := range rates() {
		pcm := tone(t, nil, '0', rate, 2*time.Second)
		if got := detect(t, rate, pcm); got != "0" {
			t.Errorf("%d Hz: a 2 s digit gave %q", rate, got)
		}
	}
}

func TestDetectorShortDropOutIsOnePress(t *testing.T) {
	for _, rate := range rates() {
		for _, gap := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 19 * time.Millisecond} {
			pcm := tone(t, nil, '7', rate, 80*time.Millisecond)
			pcm = silence(pcm, rate, gap)
			pcm = tone(t, pcm, '7', rate, 80*time.Millisecond)
			if got := detect(t, rate, pcm); got != "7" {
				t.Errorf("%d Hz, %v drop-out: detected %q, want one 7", rate, gap, got)
			}
		}
	}
}

// TestDetectorDuration checks every alignment of the tone with the
// analysis windows: 20 ms is never a press, 40 ms always is.
func TestDetectorDuration(t *testing.T) {
	for _, rate := range rates() {
		for offset := range rate / 100 {
			lead := make([]int16, offset)
			short := tone(t, lead, '8', rate, 20*time.Millisecond)
			if got := detect(t, rate, silence(short, rate, 50*time.Millisecond)); got != "" {
				t.Errorf("%d Hz, offset %d: 20 ms tone detected as %q", rate, offset, got)
			}
			long := tone(t, lead, '8', rate, 40*time.Millisecond)
			if got := detect(t, rate, silence(long, rate, 50*time.Millisecond)); got != "8" {
				t.Errorf("%d Hz, offset %d: 40 ms tone detected as %q", rate, offset, got)
			}
		}
	}
}

func TestDetectorFrequencyTolerance(t *testing.T) {
	for _, rate := range rates() {
		for _, digit := range []byte(keys) {
			row, col := frequenciesOf(digit)
			for _, c := range []struct {
				deviation float64
				want      string
			}{
				{0.015, string(digit)}, {-0.015, string(digit)},
				{0.035, ""}, {-0.035, ""},
			} {
				for _, which := range []string{"row", "column", "both"} {
					r, k := row, col
					if which != "column" {
						r *= 1 + c.deviation
					}
					if which != "row" {
						k *= 1 + c.deviation
					}
					pcm := sines(rate, 100*time.Millisecond, []float64{r, k}, []float64{toneAmplitude(), toneAmplitude()})
					if got := detect(t, rate, silence(pcm, rate, 50*time.Millisecond)); got != c.want {
						t.Errorf("%d Hz, %c with %s off by %+.1f %%: detected %q, want %q",
							rate, digit, which, c.deviation*100, got, c.want)
					}
				}
			}
		}
	}
}

func TestDetectorTwist(t *testing.T) {
	for _, rate := range rates() {
		row, col := frequenciesOf('6')
		for _, c := range []struct {
			name           string
			rowDB, colDB   float64
			wantDetections string
		}{
			{"row 7 dB louder (normal twist within 8)", 0, -7, "6"},
			{"row 10 dB louder (normal twist past 8)", 0, -10, ""},
			{"column 3 dB louder (reverse twist within 4)", -3, 0, "6"},
			{"column 6 dB louder (reverse twist past 4)", -6, 0, ""},
		} {
			amps := []float64{toneAmplitude() * math.Pow(10, c.rowDB/20), toneAmplitude() * math.Pow(10, c.colDB/20)}
			pcm := sines(rate, 100*time.Millisecond, []float64{row, col}, amps)
			if got := detect(t, rate, pcm); got != c.wantDetections {
				t.Errorf("%d Hz, %s: detected %q, want %q", rate, c.name, got, c.wantDetections)
			}
		}
	}
}

func TestDetectorRejectsWeakTones(t *testing.T) {
	for _, rate := range rates() {
		row, col := frequenciesOf('2')
		weak := zeroDBm0Peak * math.Pow(10, -40.0/20)
		pcm := sines(rate, 200*time.Millisecond, []float64{row, col}, []float64{weak, weak})
		if got := detect(t, rate, pcm); got != "" {
			t.Errorf("%d Hz: -40 dBm0 tones detected as %q", rate, got)
		}
		fair := zeroDBm0Peak * math.Pow(10, -25.0/20)
		pcm = sines(rate, 200*time.Millisecond, []float64{row, col}, []float64{fair, fair})
		if got := detect(t, rate, pcm); got != "2" {
			t.Errorf("%d Hz: -25 dBm0 tones detected as %q, want 2", rate, got)
		}
	}
}

func whiteNoise(rng *rand.Rand, n int, rms float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(max(-32768, min(32767, math.Round(rng.NormFloat64()*rms))))
	}
	return out
}

func TestDetectorRejectsNoiseAndSingleTones(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rate := range rates() {
		for _, rms := range []float64{30, 300, 3000, 10000} {
			if got := detect(t, rate, whiteNoise(rng, 3*rate, rms)); got != "" {
				t.Errorf("%d Hz: white noise of RMS %v detected as %q", rate, rms, got)
			}
		}
		rows, columns := frequencies()
		for _, f := range append(rows[:], columns[:]...) {
			pcm := sines(rate, 300*time.Millisecond, []float64{f}, []float64{2 * toneAmplitude()})
			if got := detect(t, rate, pcm); got != "" {
				t.Errorf("%d Hz: a single %v Hz tone detected as %q", rate, f, got)
			}
		}
	}
}

// upsample doubles the sample rate by linear interpolation.
func upsample(pcm []int16) []int16 {
	out := make([]int16, 0, 2*len(pcm))
	for i, s := range pcm {
		next := s
		if i+1 < len(pcm) {
			next = pcm[i+1]
		}
		out = append(out, s, int16((int32(s)+int32(next))/2))
	}
	return out
}

func TestDetectorTalkOff(t *testing.T) {
	speech := readRaw(t, "speech-8000.raw")
	if len(speech) < 5*8000 {
		t.Fatalf("speech sample is only %d samples", len(speech))
	}
	if got := detect(t, 8000, speech); got != "" {
		t.Errorf("speech at 8 kHz detected as %q", got)
	}
	if got := detect(t, 16000, upsample(speech)); got != "" {
		t.Errorf("speech at 16 kHz detected as %q", got)
	}
	// Louder speech too: the checks are relative, not level-bound.
	loud := make([]int16, len(speech))
	for i, s := range speech {
		loud[i] = int16(max(-32768, min(32767, 3*int32(s))))
	}
	if got := detect(t, 8000, loud); got != "" {
		t.Errorf("loud speech detected as %q", got)
	}
}

func TestDetectorWithNoiseAt20dBSNR(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// The pair's power is twice one sine's (A²/2 each); the noise's is
	// 20 dB below.
	noiseRMS := math.Sqrt(toneAmplitude() * toneAmplitude() / 100) // sqrt(2 * A²/2 / 100)
	for _, rate := range rates() {
		var pcm []int16
		for _, digit := range []byte("159#D") {
			pcm = tone(t, pcm, digit, rate, 80*time.Millisecond)
			pcm = silence(pcm, rate, 80*time.Millisecond)
		}
		noise := whiteNoise(rng, len(pcm), noiseRMS)
		for i := range pcm {
			pcm[i] += noise[i]
		}
		if got := detect(t, rate, pcm); got != "159#D" {
			t.Errorf("%d Hz with noise at 20 dB SNR: detected %q, want 159#D", rate, got)
		}
	}
}

func TestDetectorChunkSizesAgree(t *testing.T) {
	var pcm []int16
	for _, digit := range []byte("*0#") {
		pcm = tone(t, pcm, digit, 8000, 70*time.Millisecond)
		pcm = silence(pcm, 8000, 70*time.Millisecond)
	}
	for _, chunk := range []int{1, 7, 160, 1000, len(pcm)} {
		d, err := NewDetector(8000)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for i := 0; i < len(pcm); i += chunk {
			d.Push(pcm[i:min(i+chunk, len(pcm))], func(digit byte) { got = append(got, digit) })
		}
		if string(got) != "*0#" {
			t.Errorf("chunks of %d: detected %q", chunk, got)
		}
	}
}

func TestDetectorReset(t *testing.T) {
	d, err := NewDetector(8000)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	emit := func(digit byte) { got = append(got, digit) }
	d.Push(tone(t, nil, '3', 8000, 100*time.Millisecond), emit)
	d.Reset()
	// After a reset the same tone continuing is a new press.
	d.Push(tone(t, nil, '3', 8000, 100*time.Millisecond), emit)
	if string(got) != "33" {
		t.Fatalf("detected %q, want 33", got)
	}
}

func TestNewDetectorRejectsOtherRates(t *testing.T) {
	for _, rate := range []int{0, -8000, 11025, 44100, 48000} {
		if _, err := NewDetector(rate); err == nil {
			t.Errorf("NewDetector(%d) accepted", rate)
		}
	}
}

func TestTone(t *testing.T) {
	prefix := []int16{1, 2, 3}
	out, err := Tone(prefix, 'a', 8000, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3+400 || out[0] != 1 || out[2] != 3 {
		t.Fatalf("Tone appended %d samples after %v", len(out)-3, out[:3])
	}
	var peak, sumSquares float64
	for _, s := range out[3:] {
		peak = max(peak, math.Abs(float64(s)))
		sumSquares += float64(s) * float64(s)
	}
	// Two sines of amplitude A: mean square A², peak just under 2A.
	ms := sumSquares / 400
	if math.Abs(ms-toneAmplitude()*toneAmplitude())/(toneAmplitude()*toneAmplitude()) > 0.02 {
		t.Errorf("mean square %v, want %v", ms, toneAmplitude()*toneAmplitude())
	}
	if peak > 2*toneAmplitude() || peak < 1.8*toneAmplitude() {
		t.Errorf("peak %v for amplitude %v", peak, toneAmplitude())
	}
	for _, bad := range []struct {
		digit    byte
		rate     int
		duration time.Duration
	}{
		{'E', 8000, time.Second}, {'5', 44100, time.Second}, {'5', 8000, 0}, {'5', 8000, -time.Second}, {'5', 8000, time.Hour},
	} {
		if got, err := Tone(prefix, bad.digit, bad.rate, bad.duration); err == nil || len(got) != 3 {
			t.Errorf("Tone(%q, %d, %v) = %d samples, %v; want the input back and an error", bad.digit, bad.rate, bad.duration, len(got), err)
		}
	}
}

func TestPushDoesNotAllocate(t *testing.T) {
	for _, rate := range rates() {
		d, err := NewDetector(rate)
		if err != nil {
			t.Fatal(err)
		}
		pcm := tone(t, nil, '9', rate, time.Second)
		chunk := rate / 50
		count := 0
		emit := func(byte) { count++ }
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			d.Push(pcm[i:i+chunk], emit)
			i = (i + chunk) % (len(pcm) - chunk)
		})
		if allocs != 0 {
			t.Errorf("%d Hz: Push allocates %v times per call", rate, allocs)
		}
	}
}

func FuzzDetector(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, true)
	seed := tone(f, nil, '1', 8000, 60*time.Millisecond)
	raw := make([]byte, 2*len(seed))
	for i, s := range seed {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(s))
	}
	f.Add(raw, false)
	f.Fuzz(func(t *testing.T, data []byte, wideband bool) {
		rate := 8000
		if wideband {
			rate = 16000
		}
		d, err := NewDetector(rate)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		var got []byte
		for i := 0; i < len(pcm); i += 37 {
			d.Push(pcm[i:min(i+37, len(pcm))], func(digit byte) { got = append(got, digit) })
		}
		// Each press needs four analyses of its own, one every half
		// window: two windows of samples.
		if bound := len(pcm)/(2*d.window) + 1; len(got) > bound {
			t.Fatalf("%d samples gave %d digits (more than %d)", len(pcm), len(got), bound)
		}
		for _, digit := range got {
			if indexOfKey(digit) < 0 {
				t.Fatalf("emitted %q, not a DTMF digit", digit)
			}
		}
	})
}

func BenchmarkDetector20ms(b *testing.B) {
	for _, rate := range rates() {
		b.Run(map[int]string{8000: "8kHz", 16000: "16kHz"}[rate], func(b *testing.B) {
			d, err := NewDetector(rate)
			if err != nil {
				b.Fatal(err)
			}
			pcm := tone(b, nil, '5', rate, 20*time.Millisecond)
			b.ReportAllocs()
			for b.Loop() {
				d.Push(pcm, func(byte) {})
			}
		})
	}
}
