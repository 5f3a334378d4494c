package resample

import (
	"errors"
	"math"
	"testing"
)

func tone(rate int, freq, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

// snr compares got with the ideal tone at rate over the middle of the
// signal (away from the zero-padded edges) and returns the ratio in dB.
func snr(got []int16, rate int, freq, amp float64) float64 {
	var sig, noise float64
	edge := len(got) / 10
	for i := edge; i < len(got)-edge; i++ {
		want := amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		d := float64(got[i]) - want
		sig += want * want
		noise += d * d
	}
	return 10 * math.Log10(sig/math.Max(noise, 1e-9))
}

func rms(s []int16) float64 {
	var sum float64
	edge := len(s) / 10
	n := 0
	for i := edge; i < len(s)-edge; i++ {
		sum += float64(s[i]) * float64(s[i])
		n++
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(n))
}

// goertzel returns the amplitude of the frequency freq in s (middle 80 %).
func goertzel(s []int16, rate int, freq float64) float64 {
	edge := len(s) / 10
	x := s[edge : len(s)-edge]
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(x))
}

func TestToneFidelity(t *testing.T) {
	tests := []struct {
		from, to int
		freq     float64
		minSNR   float64
	}{
		{8000, 16000, 1000, 60},
		{8000, 16000, 3000, 60},
		{16000, 8000, 1000, 60},
		{48000, 16000, 1000, 60},
		{44100, 16000, 1000, 60},
		{22050, 16000, 2500, 60},
		{11025, 16000, 440, 60},
		{16000, 48000, 5000, 60},
		{8000, 44100, 300, 60},
		{16000, 16000, 1000, 90},
	}
	for _, tt := range tests {
		in := tone(tt.from, tt.freq, 10000, tt.from/2)
		out, err := Resample(in, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if got := snr(out, tt.to, tt.freq, 10000); got < tt.minSNR {
			t.Errorf("%d→%d Hz, %g Hz tone: SNR %.1f dB, want ≥ %g", tt.from, tt.to, tt.freq, got, tt.minSNR)
		} else {
			t.Logf("%d→%d Hz, %g Hz tone: SNR %.1f dB", tt.from, tt.to, tt.freq, got)
		}
	}
}

func TestAntiAliasing(t *testing.T) {
	// A tone above the output's Nyquist frequency must be removed, not
	// folded back into the band.
	tests := []struct {
		from, to int
		freq     float64
	}{
		{48000, 16000, 10000},
		{44100, 16000, 12000},
		{16000, 8000, 5000},
	}
	for _, tt := range tests {
		in := tone(tt.from, tt.freq, 20000, tt.from/2)
		out, err := Resample(in, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		att := 20 * math.Log10(rms(out)/rms(in))
		if att > -60 {
			t.Errorf("%d→%d Hz, %g Hz tone: attenuated only %.1f dB, want ≤ -60", tt.from, tt.to, tt.freq, att)
		} else {
			t.Logf("%d→%d Hz, %g Hz tone: %.1f dB", tt.from, tt.to, tt.freq, att)
		}
	}
}

func TestUpsampleImages(t *testing.T) {
	// Upsampling 8→16 kHz a 3 kHz tone must not leave its 5 kHz image.
	in := tone(8000, 3000, 20000, 8000)
	out, err := Resample(in, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	sig := goertzel(out, 16000, 3000)
	img := goertzel(out, 16000, 5000)
	ratio := 20 * math.Log10(img/sig)
	t.Logf("3 kHz tone %.0f, 5 kHz image %.2f (%.1f dB)", sig, img, ratio)
	if math.Abs(sig-20000) > 200 {
		t.Errorf("3 kHz amplitude %.0f, want about 20000 (passband gain)", sig)
	}
	if ratio > -60 {
		t.Errorf("image at %.1f dB, want ≤ -60", ratio)
	}
}

func TestDCAndNoDelay(t *testing.T) {
	in := make([]int16, 800)
	for i := range in {
		in[i] = 1000
	}
	out, err := Resample(in, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 100; i < len(out)-100; i++ {
		if out[i] != 1000 {
			t.Fatalf("out[%d] = %d, want 1000 (unity DC gain)", i, out[i])
		}
	}
	// An impulse at input sample 100 (8 kHz) peaks at output sample 200
	// (16 kHz): the filter adds no delay.
	imp := make([]int16, 400)
	imp[100] = 20000
	out, _ = Resample(imp, 8000, 16000)
	peak := 0
	for i := range out {
		if out[i] > out[peak] {
			peak = i
		}
	}
	if peak != 200 {
		t.Errorf("impulse peak at %d, want 200", peak)
	}
}

func TestLengthAndEdges(t *testing.T) {
	tests := []struct {
		from, to, n, want int
	}{
		{8000, 16000, 0, 0},
		{8000, 16000, 1, 2},
		{8000, 16000, 80, 160},
		{48000, 16000, 3, 1},
		{48000, 16000, 4, 2},
		{44100, 16000, 44100, 16000},
		{44100, 16000, 1, 1},
		{16000, 16000, 7, 7},
	}
	for _, tt := range tests {
		in := tone(tt.from, 500, 1000, tt.n)
		out, err := Resample(in, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != tt.want {
			t.Errorf("%d→%d, %d samples: got %d, want %d", tt.from, tt.to, tt.n, len(out), tt.want)
		}
	}
}

func TestClipping(t *testing.T) {
	// A full-scale square wave overshoots (Gibbs); the output saturates
	// instead of wrapping around.
	in := make([]int16, 1600)
	for i := range in {
		if (i/20)%2 == 0 {
			in[i] = math.MaxInt16
		} else {
			in[i] = math.MinInt16
		}
	}
	out, err := Resample(in, 8000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 400; i < len(out)-400; i++ {
		// Right after a rising edge the signal must be high, not wrapped
		// to a negative value.
		if (i/40)%2 == 0 && i%40 > 10 && i%40 < 30 && out[i] < 20000 {
			t.Fatalf("out[%d] = %d inside a high half-period", i, out[i])
		}
	}
}

func TestOddRatioOnTheFly(t *testing.T) {
	// 44100→16001 has L = 16001 phases: too many to tabulate, so the
	// coefficients are computed per sample. It must agree with the maths.
	r, err := New(44100, 16001)
	if err != nil {
		t.Fatal(err)
	}
	if r.table != nil {
		t.Fatal("expected on-the-fly coefficients")
	}
	out := r.Resample(tone(44100, 1000, 10000, 22050))
	if got := snr(out, 16001, 1000, 10000); got < 60 {
		t.Errorf("SNR %.1f dB, want ≥ 60", got)
	}
}

func TestBadRates(t *testing.T) {
	for _, rates := range [][2]int{{0, 16000}, {8000, 0}, {-8000, 16000}, {8000, MaxRate + 1}} {
		if _, err := New(rates[0], rates[1]); !errors.Is(err, ErrRate) {
			t.Errorf("New(%d, %d): err = %v, want ErrRate", rates[0], rates[1], err)
		}
	}
}

func FuzzResample(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, uint16(8000), uint16(16000))
	f.Add([]byte{}, uint16(44100), uint16(16000))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint16(1), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, from, to uint16) {
		if from == 0 || to == 0 {
			return
		}
		in := make([]int16, len(data)/2)
		for i := range in {
			in[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		r, err := New(int(from), int(to))
		if err != nil {
			t.Fatal(err)
		}
		out := r.Resample(in)
		if len(out) != r.OutLen(len(in)) {
			t.Fatalf("len %d, OutLen %d", len(out), r.OutLen(len(in)))
		}
	})
}

func BenchmarkResample8to16(b *testing.B) {
	in := tone(8000, 440, 10000, 8000*60) // one minute
	r, err := New(8000, 16000)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(2 * len(in)))
	for b.Loop() {
		r.Resample(in)
	}
}

func BenchmarkResample44to16(b *testing.B) {
	in := tone(44100, 440, 10000, 44100*10)
	r, err := New(44100, 16000)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(2 * len(in)))
	for b.Loop() {
		r.Resample(in)
	}
}
