package g722

import "slices"

// Encoder encodes one stream of 16 kHz linear PCM into G.722 at 64 kbit/s.
// Its zero value is not ready for use: make one with NewEncoder. An Encoder
// keeps the stream's state between calls and must not be used by two
// goroutines at once.
type Encoder struct {
	filter  qmf
	low     band
	high    band
	pending int16 // a sample waiting for its pair, when hasOdd
	hasOdd  bool
}

// NewEncoder returns an Encoder in the Recommendation's reset state.
func NewEncoder() *Encoder {
	return &Encoder{low: newLowBand(), high: newHighBand()}
}

// Encode appends to dst one byte per pair of 16 kHz samples in pcm and returns
// the extended slice: 160 bytes for 20 ms (320 samples). When pcm has an odd
// number of samples (counting one left over from the previous call), the last
// one is kept and paired with the first sample of the next call, so a stream
// may be split anywhere. It allocates only when dst lacks room.
func (e *Encoder) Encode(dst []byte, pcm []int16) []byte {
	total := len(pcm)
	if e.hasOdd {
		total++
	}
	n := len(dst)
	dst = slices.Grow(dst, total/2)[:n+total/2]
	out := dst[n:]
	if e.hasOdd && len(pcm) > 0 {
		out[0] = e.encodePair(e.pending, pcm[0])
		out = out[1:]
		pcm = pcm[1:]
		e.hasOdd = false
	}
	for i := range out {
		out[i] = e.encodePair(pcm[2*i], pcm[2*i+1])
	}
	if len(pcm)%2 == 1 {
		e.pending = pcm[len(pcm)-1]
		e.hasOdd = true
	}
	return dst
}

// encodePair encodes two consecutive samples into one G.722 byte.
func (e *Encoder) encodePair(first, second int16) byte {
	odd, even := e.filter.push(int(first), int(second))
	lowSignal := (odd + even) >> 14
	highSignal := (odd - even) >> 14
	low := e.encodeLow(lowSignal)
	high := e.encodeHigh(highSignal)
	return high<<6 | low
}

// encodeLow quantises the lower band's sample to its 6-bit code and adapts
// the band (blocks 1L to 4L).
func (e *Encoder) encodeLow(x int) byte {
	b := &e.low
	diff := saturate(x - b.estimate)
	magnitude := diff
	if diff < 0 {
		magnitude = -(diff + 1)
	}
	interval := 1
	for ; interval < len(lowDecisionLevels); interval++ {
		if magnitude < (lowDecisionLevels[interval]*b.scale)>>12 {
			break
		}
	}
	code := lowCodePositive[interval]
	if diff < 0 {
		code = lowCodeNegative[interval]
	}
	b.adaptLow(code)
	return code
}

// encodeHigh quantises the higher band's sample to its 2-bit code and adapts
// the band (blocks 1H to 4H).
func (e *Encoder) encodeHigh(x int) byte {
	b := &e.high
	diff := saturate(x - b.estimate)
	magnitude := diff
	if diff < 0 {
		magnitude = -(diff + 1)
	}
	interval := 1
	if magnitude >= (highDecisionLevel*b.scale)>>12 {
		interval = 2
	}
	code := highCodePositive[interval]
	if diff < 0 {
		code = highCodeNegative[interval]
	}
	b.adaptHigh(code)
	return code
}
