package codec

import "slices"

// The resamplers share one linear-phase half-band low-pass FIR of 31 taps
// (a Kaiser-windowed sinc, beta 5), cut-off at a quarter of the 16 kHz rate:
// flat within 0.35 dB to 3.4 kHz and at least 53 dB down from 5 kHz. Every
// other tap of a half-band filter is zero and the centre tap is 1/2, so only
// the taps at odd offsets ±1, ±3, .. ±15 are stored, in Q15; they sum to
// 1/4, so the filter passes DC unchanged. Each direction delays the signal by
// 15 samples at 16 kHz, so Up followed by Down delays it by 15 at 8 kHz.
const (
	halfBandTaps   = 8                // stored taps, one side
	halfBandCentre = 1 << 14          // 1/2 in Q15
	upHistory      = 2 * halfBandTaps // 8 kHz samples the Upsampler looks at
	downHistory    = 4 * halfBandTaps // 16 kHz samples the Downsampler looks at
)

// halfBand holds the filter's taps at offsets ±1, ±3, .. ±15, in Q15. It is
// read-only.
var halfBand = [halfBandTaps]int{10352, -3216, 1671, -954, 541, -287, 134, -49}

// Upsampler doubles the sample rate of one stream, 8 kHz to 16 kHz, with the
// half-band filter; it keeps the last samples of each call for the next, so
// a stream may be fed packet by packet. Make one with NewUpsampler; use it
// from one goroutine at a time.
type Upsampler struct {
	// ring holds the last upHistory input samples twice over, so that
	// ring[next:next+upHistory] is always the history, oldest first,
	// without shifting.
	ring [2 * upHistory]int16
	next int
}

// NewUpsampler returns an Upsampler whose history is silence.
func NewUpsampler() *Upsampler { return &Upsampler{} }

// Up appends to dst two 16 kHz samples for each 8 kHz sample of src and
// returns the extended slice. It allocates only when dst lacks room.
func (u *Upsampler) Up(dst, src []int16) []int16 {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(src))[:n+2*len(src)]
	out := dst[n:]
	for i, s := range src {
		u.ring[u.next] = s
		u.ring[u.next+upHistory] = s
		u.next++
		if u.next == upHistory {
			u.next = 0
		}
		h := u.ring[u.next : u.next+upHistory]
		// The new sample between h[7] and h[8], then h[8] itself.
		acc := 0
		for k, c := range halfBand {
			acc += c * (int(h[halfBandTaps-1-k]) + int(h[halfBandTaps+k]))
		}
		out[2*i] = saturate16((acc + 1<<13) >> 14)
		out[2*i+1] = h[halfBandTaps]
	}
	return dst
}

// Downsampler halves the sample rate of one stream, 16 kHz to 8 kHz, low-
// passing it first with the half-band filter so that nothing above 4 kHz
// folds back into the band. It keeps the last samples of each call (and an
// odd last sample) for the next. Make one with NewDownsampler; use it from one
// goroutine at a time.
type Downsampler struct {
	// ring holds the last downHistory input samples twice over, as in
	// Upsampler.
	ring    [2 * downHistory]int16
	next    int
	pending int16 // the first of a pair whose second has not come, if hasOdd
	hasOdd  bool
}

// NewDownsampler returns a Downsampler whose history is silence.
func NewDownsampler() *Downsampler { return &Downsampler{} }

// Down appends to dst one 8 kHz sample for each two 16 kHz samples of src
// and returns the extended slice. An odd last sample (counting one kept from
// the previous call) is kept for the next call. It allocates only when dst
// lacks room.
func (d *Downsampler) Down(dst, src []int16) []int16 {
	total := len(src)
	if d.hasOdd {
		total++
	}
	n := len(dst)
	dst = slices.Grow(dst, total/2)[:n+total/2]
	out := dst[n:]
	if d.hasOdd && len(src) > 0 {
		out[0] = d.pair(d.pending, src[0])
		out = out[1:]
		src = src[1:]
		d.hasOdd = false
	}
	for i := range out {
		out[i] = d.pair(src[2*i], src[2*i+1])
	}
	if len(src)%2 == 1 {
		d.pending = src[len(src)-1]
		d.hasOdd = true
	}
	return dst
}

// pair takes two consecutive 16 kHz samples and returns the 8 kHz sample
// centred 15 samples before the second.
func (d *Downsampler) pair(first, second int16) int16 {
	d.push(first)
	d.push(second)
	h := d.ring[d.next : d.next+downHistory]
	const centre = 2*halfBandTaps - 1
	acc := halfBandCentre * int(h[centre])
	for k, c := range halfBand {
		acc += c * (int(h[centre-1-2*k]) + int(h[centre+1+2*k]))
	}
	return saturate16((acc + 1<<14) >> 15)
}

func (d *Downsampler) push(s int16) {
	d.ring[d.next] = s
	d.ring[d.next+downHistory] = s
	d.next++
	if d.next == downHistory {
		d.next = 0
	}
}

// saturate16 limits v to the int16 range.
func saturate16(v int) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}
