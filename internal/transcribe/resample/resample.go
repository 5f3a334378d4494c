// Package resample converts 16-bit linear PCM from one sample rate to
// another with a polyphase windowed-sinc (Kaiser window) low-pass filter.
//
// It exists because the speech recognisers want 16 kHz while callrec records
// 8 kHz telephone audio (and users feed in 44.1 or 48 kHz files). No
// maintained pure-Go resampler module is worth a dependency for this: the
// ones that exist are either cgo bindings (libsamplerate, soxr), unmaintained,
// or linear/cubic interpolators that alias audibly; a band-limited
// interpolator is a page of code, so it lives here.
//
// The conversion ratio is reduced to L/M (to/from over their greatest common
// divisor). Output sample n sits at input time t = n·M/L; it is the sum of the
// input samples within the filter's reach weighted by a Kaiser-windowed sinc
// centred on t. The filter's cut-off is a fraction of the lower of the two
// Nyquist frequencies, so the same code band-limits for upsampling (removing
// images) and for downsampling (removing aliases). When L is small enough the
// L sets of coefficients (the phases) are computed once; otherwise each output
// sample's coefficients are computed on the fly. The filter is symmetric and
// centred, so the output has no delay: output sample n is the signal at time
// n/to seconds. Samples beyond either end of the input count as zero.
package resample

import (
	"errors"
	"fmt"
	"math"
)

const (
	// zeroCrossings is the number of zero crossings of the sinc kept on
	// each side of the centre (at the filter's cut-off). More gives a
	// steeper transition band at a proportional cost.
	zeroCrossings = 24
	// passband is the cut-off as a fraction of the lower Nyquist frequency.
	// With zeroCrossings = 24 and kaiserBeta = 8 the transition band is
	// about 18 % of Nyquist wide, so the response is down about 80 dB at the
	// Nyquist frequency and flat to within 0.1 dB up to about 80 % of it
	// (3.2 kHz for 8 kHz audio, above the telephone band's 3.4 kHz edge
	// only by the roll-off).
	passband = 0.9
	// kaiserBeta sets the window's side-lobe level (about -80 dB).
	kaiserBeta = 8.0
	// maxTable is the largest coefficient table (phases × taps) computed
	// up front; beyond it coefficients are computed per output sample.
	maxTable = 1 << 20
	// MaxRate is the largest sample rate accepted.
	MaxRate = 1 << 20
)

// ErrRate is returned for a sample rate that is not positive or exceeds
// MaxRate.
var ErrRate = errors.New("resample: sample rate out of range")

// Resampler converts from one fixed rate to another. It holds only
// read-only tables after New, so one Resampler may be used from several
// goroutines at once.
type Resampler struct {
	from, to int
	l, m     int     // to/g and from/g
	half     int     // taps on each side of the centre, in input samples
	cutoff   float64 // cut-off as a fraction of the input's Nyquist frequency
	// table holds l phases of 2·half coefficients each, or nil when the
	// coefficients are computed per output sample.
	table []float32
}

// New returns a Resampler from rate from to rate to (samples per second).
func New(from, to int) (*Resampler, error) {
	if from <= 0 || from > MaxRate {
		return nil, fmt.Errorf("%w: from %d Hz", ErrRate, from)
	}
	if to <= 0 || to > MaxRate {
		return nil, fmt.Errorf("%w: to %d Hz", ErrRate, to)
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, l: to / g, m: from / g}
	r.cutoff = passband * math.Min(1, float64(r.l)/float64(r.m))
	r.half = int(math.Ceil(zeroCrossings / r.cutoff))
	if r.l != r.m && r.l*2*r.half <= maxTable {
		taps := 2 * r.half
		r.table = make([]float32, r.l*taps)
		for p := 0; p < r.l; p++ {
			r.coefficients(p, r.table[p*taps:(p+1)*taps])
		}
	}
	return r, nil
}

// From returns the input sample rate.
func (r *Resampler) From() int { return r.from }

// To returns the output sample rate.
func (r *Resampler) To() int { return r.to }

// OutLen returns the number of output samples for n input samples:
// ceil(n·to/from), so that the output spans the same time as the input.
func (r *Resampler) OutLen(n int) int {
	if n <= 0 {
		return 0
	}
	return int((int64(n)*int64(r.l) + int64(r.m) - 1) / int64(r.m))
}

// coefficients fills c (2·half values) with the filter for phase p: the
// weights of input samples base-half+1 … base+half for an output sample at
// input time base + p/l. They are normalised to sum to 1 (unity gain at DC
// for every phase).
func (r *Resampler) coefficients(p int, c []float32) {
	frac := float64(p) / float64(r.l)
	var sum float64
	w := make([]float64, len(c))
	for j := range c {
		k := j - r.half + 1 // input offset from base
		tau := frac - float64(k)
		v := r.cutoff * sinc(r.cutoff*tau) * kaiser(tau/float64(r.half))
		w[j] = v
		sum += v
	}
	for j := range c {
		c[j] = float32(w[j] / sum)
	}
}

// Resample returns in converted to the Resampler's output rate. The input is
// one channel; in is not modified. For equal rates it returns a copy.
func (r *Resampler) Resample(in []int16) []int16 {
	if r.l == r.m {
		return append([]int16(nil), in...)
	}
	nOut := r.OutLen(len(in))
	out := make([]int16, nOut)
	taps := 2 * r.half
	var scratch []float32
	if r.table == nil {
		scratch = make([]float32, taps)
	}
	n := len(in)
	for i := range out {
		pos := int64(i) * int64(r.m)
		base := int(pos / int64(r.l))
		p := int(pos % int64(r.l))
		var c []float32
		if r.table != nil {
			c = r.table[p*taps : (p+1)*taps]
		} else {
			r.coefficients(p, scratch)
			c = scratch
		}
		first := base - r.half + 1
		var acc float64
		if first >= 0 && first+taps <= n {
			x := in[first : first+taps]
			for j, cj := range c {
				acc += float64(cj) * float64(x[j])
			}
		} else {
			for j, cj := range c {
				k := first + j
				if k >= 0 && k < n {
					acc += float64(cj) * float64(in[k])
				}
			}
		}
		out[i] = clamp(acc)
	}
	return out
}

// Resample converts in (one channel) from rate from to rate to. Callers
// converting many buffers between the same rates should keep a Resampler.
func Resample(in []int16, from, to int) ([]int16, error) {
	r, err := New(from, to)
	if err != nil {
		return nil, err
	}
	return r.Resample(in), nil
}

func clamp(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	px := math.Pi * x
	return math.Sin(px) / px
}

// kaiser is the Kaiser window at x in [-1, 1] (zero outside).
func kaiser(x float64) float64 {
	if x <= -1 || x >= 1 {
		return 0
	}
	return bessel0(kaiserBeta*math.Sqrt(1-x*x)) / bessel0(kaiserBeta)
}

// bessel0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges quickly for the arguments used here).
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	h := x / 2
	for k := 1; k < 64; k++ {
		term *= (h / float64(k)) * (h / float64(k))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
