package quality

import (
	"math"
	"strings"
)

// impairment is a codec's equipment impairment Ie and packet-loss
// robustness Bpl (ITU-T G.113 Appendix I).
type impairment struct {
	ie, bpl float64
}

// codecImpairment returns the E-model values for a codec.
//
// G.711 (PCMU, PCMA) is Ie 0; its Bpl is 4.3, G.113's value for G.711
// without packet-loss concealment, since callrec fills lost packets with
// silence (with concealment it would be 25.1).
//
// G.722 at 64 kbit/s is scored on the narrowband scale as G.711 is. The
// wideband E-model (G.107.1, R0 129) gives G.722 an Ie,wb of 13, which on
// that scale still leaves it above anything the narrowband scale can
// express, so the narrowband equivalent of an unconcealed G.722 stream is
// G.711's: Ie 0, Bpl 4.3 (again without concealment). This understates
// G.722's advantage but keeps every leg on one scale, so narrowband and
// wideband legs compare.
//
// Other codecs are scored as G.711.
func codecImpairment(codec string) impairment {
	if strings.EqualFold(codec, "G722") {
		return impairment{ie: g722NarrowbandIe, bpl: g722NarrowbandBpl}
	}
	return impairment{ie: g711Ie, bpl: g711NoConcealmentBpl}
}

// The E-model values of the codecs, see codecImpairment.
const (
	g711Ie               = 0
	g711NoConcealmentBpl = 4.3
	g722NarrowbandIe     = 0
	g722NarrowbandBpl    = 4.3
)

// EModel scores a voice path with the simplified ITU-T G.107 E-model:
// R = 93.2 - Id - Ie_eff, with the delay impairment
// Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3) for the one-way mouth-to-ear
// delay d in ms, and the effective equipment impairment
// Ie_eff = Ie + (95 - Ie) Ppl / (Ppl/BurstR + Bpl) for the loss percentage
// Ppl with random loss (BurstR 1) and the codec's Ie and Bpl (see the codec
// notes on codecImpairment: G.711 and G.722 both Ie 0, Bpl 4.3). The MOS is
// 1 for R < 0, 4.5 for R > 100, else 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)
// (and at least 1).
// Negative or NaN delays and losses are taken as 0, losses above 100 as 100.
func EModel(codec string, oneWayDelayMS, lossPercent float64) (r, mos float64) {
	d := clean(oneWayDelayMS)
	ppl := min(clean(lossPercent), 100)
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	imp := codecImpairment(codec)
	const burstR = 1
	ieEff := imp.ie + (95-imp.ie)*ppl/(ppl/burstR+imp.bpl)
	r = 93.2 - id - ieEff
	return r, MOS(r)
}

// MOS converts an E-model rating R to the mean opinion score (G.107
// Annex B). The polynomial dips below 1 for R under about 6.5; the score
// never does.
func MOS(r float64) float64 {
	switch {
	case r < 0:
		return 1
	case r > 100:
		return 4.5
	default:
		return max(1, 1+0.035*r+7e-6*r*(r-60)*(100-r))
	}
}

// clean maps NaN and negative values to 0 (and +Inf stays +Inf).
func clean(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}
