package codec

import "math"

// sine returns n samples of a sine wave of freq Hz at rate Hz.
func sine(n, rate int, freq, amplitude float64) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(math.Round(amplitude * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return pcm
}

// rms returns the root mean square of pcm.
func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// snrAt returns the signal-to-noise ratio in dB of got against want over
// want[skip:], with got delayed by delay samples.
func snrAt(want, got []int16, skip, delay int) float64 {
	var signal, noise float64
	for i := skip; i < len(want) && i+delay < len(got); i++ {
		s := float64(want[i])
		e := float64(got[i+delay]) - s
		signal += s * s
		noise += e * e
	}
	return 10 * math.Log10(signal/noise)
}

// chunks calls f on consecutive pieces of n items of a slice of length total
// (the last one shorter), passing each piece's bounds.
func chunks(total, n int, f func(from, to int)) {
	for from := 0; from < total; from += n {
		f(from, min(from+n, total))
	}
}
