package g722

import "slices"

// Decoder decodes one stream of G.722 at 64 kbit/s into 16 kHz linear PCM.
// Its zero value is not ready for use: make one with NewDecoder. A Decoder
// keeps the stream's state between calls and must not be used by two
// goroutines at once.
type Decoder struct {
	filter qmf
	low    band
	high   band
}

// NewDecoder returns a Decoder in the Recommendation's reset state.
func NewDecoder() *Decoder {
	return &Decoder{low: newLowBand(), high: newHighBand()}
}

// Decode appends to dst two 16 kHz samples per byte of payload and returns
// the extended slice: 320 samples for a 20 ms payload of 160 bytes. Every byte
// value is valid input. It allocates only when dst lacks room.
func (d *Decoder) Decode(dst []int16, payload []byte) []int16 {
	n := len(dst)
	dst = slices.Grow(dst, 2*len(payload))[:n+2*len(payload)]
	out := dst[n:]
	for i, code := range payload {
		out[2*i], out[2*i+1] = d.decodeByte(code)
	}
	return dst
}

// decodeByte decodes one G.722 byte into two consecutive samples.
func (d *Decoder) decodeByte(code byte) (first, second int16) {
	lowCode := code & 63
	highCode := code >> 6

	// Lower band: the 6-bit inverse quantiser gives the output; the
	// adaptation uses the 4-bit one, as in the encoder (blocks 5L, 6L).
	low := &d.low
	lowSignal := clampBand(low.estimate + (low.scale*lowInverse6[lowCode])>>15)
	low.adaptLow(lowCode)

	// Higher band (blocks 2H, 5H, 6H).
	high := &d.high
	estimate := high.estimate
	highSignal := clampBand(estimate + high.adaptHigh(highCode))

	// Receive QMF: the sum and difference of the bands, interpolated.
	odd, even := d.filter.push(lowSignal+highSignal, lowSignal-highSignal)
	return int16(saturate(odd >> 11)), int16(saturate(even >> 11))
}
