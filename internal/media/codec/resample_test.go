package codec

import (
	"math"
	"slices"
	"testing"
)

// resamplerDelay is the delay of each resampler, in 16 kHz samples.
const resamplerDelay = 2*halfBandTaps - 1

func TestHalfBandPassesDC(t *testing.T) {
	sum := 0
	for _, c := range halfBand {
		sum += 2 * c
	}
	if sum+halfBandCentre != 1<<15 {
		t.Errorf("taps sum to %d, want %d (unity gain at DC)", sum+halfBandCentre, 1<<15)
	}
	dc := slices.Repeat([]int16{12345}, 400)
	up := NewUpsampler().Up(nil, dc)
	down := NewDownsampler().Down(nil, dc)
	for i, s := range up[2*resamplerDelay:] {
		if s != 12345 {
			t.Fatalf("Up of DC: sample %d = %d, want 12345", i, s)
		}
	}
	for i, s := range down[resamplerDelay:] {
		if s != 12345 {
			t.Fatalf("Down of DC: sample %d = %d, want 12345", i, s)
		}
	}
}

func TestUpThenDownKeepsTone(t *testing.T) {
	in := sine(8000, 8000, 1000, 10000)
	out := NewDownsampler().Down(nil, NewUpsampler().Up(nil, in))
	if len(out) != len(in) {
		t.Fatalf("%d samples back from %d", len(out), len(in))
	}
	// Each direction delays by 15 samples at 16 kHz: 15 at 8 kHz in all.
	if snr := snrAt(in, out, 100, resamplerDelay); snr < 40 {
		t.Errorf("1 kHz tone through Up and Down: SNR %.1f dB, want >= 40", snr)
	}
}

func TestUpKeepsToneAndRemovesImage(t *testing.T) {
	// 1 kHz at 8 kHz upsampled is 1 kHz at 16 kHz; its image at 7 kHz must go.
	in := sine(4000, 8000, 1000, 10000)
	out := NewUpsampler().Up(nil, in)
	want := sine(len(out), 16000, 1000, 10000)
	if snr := snrAt(want, out, 200, resamplerDelay); snr < 40 {
		t.Errorf("Up of a 1 kHz tone vs the tone at 16 kHz: SNR %.1f dB, want >= 40", snr)
	}
}

func TestDownRemovesAliases(t *testing.T) {
	for _, freq := range []float64{5000, 6000, 7000} {
		in := sine(16000, 16000, freq, 16000)
		out := NewDownsampler().Down(nil, in)
		attenuation := 20 * math.Log10(rms(in[1000:])/rms(out[500:]))
		if attenuation <= 30 {
			t.Errorf("%.0f Hz tone attenuated %.1f dB by Down, want > 30", freq, attenuation)
		}
	}
	in := sine(16000, 16000, 1000, 16000)
	out := NewDownsampler().Down(nil, in)
	if loss := 20 * math.Log10(rms(in[1000:])/rms(out[500:])); math.Abs(loss) > 0.5 {
		t.Errorf("1 kHz tone changed by %.2f dB by Down, want within 0.5", loss)
	}
}

func TestResamplersKeepStateAcrossCalls(t *testing.T) {
	narrow := sine(1000, 8000, 700, 20000)
	wide := sine(2000, 16000, 2500, 20000)
	wholeUp := NewUpsampler().Up(nil, narrow)
	wholeDown := NewDownsampler().Down(nil, wide)
	for _, size := range []int{1, 7, 160, 320} {
		up, down := NewUpsampler(), NewDownsampler()
		var gotUp, gotDown []int16
		chunks(len(narrow), size, func(from, to int) { gotUp = up.Up(gotUp, narrow[from:to]) })
		chunks(len(wide), size, func(from, to int) { gotDown = down.Down(gotDown, wide[from:to]) })
		if !slices.Equal(gotUp, wholeUp) {
			t.Errorf("Up in chunks of %d differs from Up at once", size)
		}
		if !slices.Equal(gotDown, wholeDown) {
			t.Errorf("Down in chunks of %d differs from Down at once", size)
		}
	}
}

// directTap returns the half-band filter's tap at offset j (-15 .. 15), Q15.
func directTap(j int) int {
	switch {
	case j == 0:
		return halfBandCentre
	case j%2 == 0 || j < -resamplerDelay || j > resamplerDelay:
		return 0
	default:
		return halfBand[(abs(j)-1)/2]
	}
}

// testSignal is a full-scale 500 Hz square wave (the filter overshoots
// it: the output must clip, not wrap) followed by pseudo-random noise.
func testSignal(n, period int) []int16 {
	pcm := make([]int16, n)
	state := uint32(1)
	for i := range pcm {
		switch {
		case i < n/2 && i/(period/2)%2 == 0:
			pcm[i] = math.MaxInt16
		case i < n/2:
			pcm[i] = math.MinInt16
		default:
			state = state*1664525 + 1013904223
			pcm[i] = int16(state >> 16)
		}
	}
	return pcm
}

// TestResamplersMatchDirectForm checks the polyphase resamplers against the
// textbook form: zeros inserted and the whole filter (gain 2) applied for Up,
// the whole filter applied and every other output kept for Down.
func TestResamplersMatchDirectForm(t *testing.T) {
	narrow := testSignal(800, 16)
	up := NewUpsampler().Up(nil, narrow)
	for m := range up {
		acc := 0
		for j := -resamplerDelay; j <= resamplerDelay; j++ {
			if k := m - resamplerDelay - j; k >= 0 && k%2 == 0 {
				acc += 2 * directTap(j) * int(narrow[k/2])
			}
		}
		if want := saturate16((acc + 1<<14) >> 15); up[m] != want {
			t.Fatalf("Up sample %d = %d, direct form gives %d", m, up[m], want)
		}
	}
	wide := testSignal(1600, 32)
	down := NewDownsampler().Down(nil, wide)
	for m := range down {
		acc := 0
		for j := -resamplerDelay; j <= resamplerDelay; j++ {
			if k := 2*m - resamplerDelay - j; k >= 0 {
				acc += directTap(j) * int(wide[k])
			}
		}
		if want := saturate16((acc + 1<<14) >> 15); down[m] != want {
			t.Fatalf("Down sample %d = %d, direct form gives %d", m, down[m], want)
		}
	}
}

func TestResamplersAllocateNothing(t *testing.T) {
	narrow := sine(160, 8000, 1000, 10000)
	wide := sine(320, 16000, 1000, 10000)
	up, down := NewUpsampler(), NewDownsampler()
	bufUp := make([]int16, 0, 320)
	bufDown := make([]int16, 0, 160)
	if n := testing.AllocsPerRun(100, func() { bufUp = up.Up(bufUp[:0], narrow) }); n != 0 {
		t.Errorf("Up: %v allocations per packet", n)
	}
	if n := testing.AllocsPerRun(100, func() { bufDown = down.Down(bufDown[:0], wide) }); n != 0 {
		t.Errorf("Down: %v allocations per packet", n)
	}
}
