package g722

// Constants of the adaptation, in the Recommendation's fixed point.
const (
	lowLogMax    = 18432  // upper limit of the lower band's NBL
	highLogMax   = 22528  // upper limit of the higher band's NBH
	bandMin      = -16384 // limits of a reconstructed band signal
	bandMax      = 16383
	initialLow   = 32    // DETL after reset
	initialHigh  = 8     // DETH after reset
	leakage      = 32512 // 1 - 2^-7 in Q15: NB's and a2's leakage
	coeffLeakage = 32640 // 1 - 2^-8 in Q15: a1's and the b's leakage
)

// band is the adaptive state of one sub-band: the pole-zero predictor
// (blocks 4L / 4H of the Recommendation) and the quantiser scale factor
// (blocks 3L / 3H). Index 0 of the history arrays is the newest value.
type band struct {
	estimate  int    // S: signal estimate, sp + sz
	zeroPart  int    // SZ: the zero section's contribution
	recon     [3]int // R: reconstructed signal, r[0] newest
	partial   [3]int // P: partially reconstructed signal (sz + d)
	diff      [7]int // D: quantised difference signal history
	pole      [3]int // A: pole coefficients a[1], a[2] (a[0] unused)
	zero      [7]int // B: zero coefficients b[1] .. b[6] (b[0] unused)
	logScale  int    // NB: logarithmic scale factor
	scale     int    // DET: linear scale factor
	logOffset int    // SCALEL/SCALEH's shift base: 8 lower band, 10 higher
}

func newLowBand() band  { return band{scale: initialLow, logOffset: 8} }
func newHighBand() band { return band{scale: initialHigh, logOffset: 10} }

// saturate limits v to the 16-bit two's complement range.
func saturate(v int) int {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

// clampBand limits a reconstructed band signal to 15 bits (block 6, LIMIT).
func clampBand(v int) int {
	if v > bandMax {
		return bandMax
	}
	if v < bandMin {
		return bandMin
	}
	return v
}

// adaptScale updates the logarithmic scale factor with step (blocks LOGSCL /
// LOGSCH), limited to max, and derives the linear one (SCALEL / SCALEH).
func (b *band) adaptScale(step, max int) {
	nb := (b.logScale*leakage)>>15 + step
	if nb < 0 {
		nb = 0
	} else if nb > max {
		nb = max
	}
	b.logScale = nb
	mantissa := antiLog[(nb>>6)&31]
	shift := b.logOffset - nb>>11
	if shift < 0 {
		mantissa <<= -shift
	} else {
		mantissa >>= shift
	}
	b.scale = mantissa << 2
}

// sign returns the sign bit of a 16-bit signal value: -1 if negative, else 0.
func sign(v int) int { return v >> 15 }

// predict feeds the quantised difference d to the adaptive predictor
// (block 4: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ,
// PREDIC) and leaves the next signal estimate in b.estimate.
func (b *band) predict(d int) {
	b.diff[0] = d
	b.recon[0] = saturate(b.estimate + d)
	b.partial[0] = saturate(b.zeroPart + d)

	// UPPOL2: second pole coefficient.
	s0, s1, s2 := sign(b.partial[0]), sign(b.partial[1]), sign(b.partial[2])
	wd1 := saturate(b.pole[1] << 2)
	wd2 := wd1
	if s0 == s1 {
		wd2 = -wd1
	}
	if wd2 > 32767 {
		wd2 = 32767
	}
	a2 := -128
	if s0 == s2 {
		a2 = 128
	}
	a2 += wd2 >> 7
	a2 += (b.pole[2] * leakage) >> 15
	if a2 > 12288 {
		a2 = 12288
	} else if a2 < -12288 {
		a2 = -12288
	}

	// UPPOL1: first pole coefficient, kept inside the stability triangle.
	a1 := -192
	if s0 == s1 {
		a1 = 192
	}
	a1 = saturate(a1 + (b.pole[1]*coeffLeakage)>>15)
	limit := saturate(15360 - a2)
	if a1 > limit {
		a1 = limit
	} else if a1 < -limit {
		a1 = -limit
	}

	// UPZERO: the six zero coefficients.
	step := 128
	if d == 0 {
		step = 0
	}
	sd := sign(d)
	for i := 1; i <= 6; i++ {
		s := -step
		if sign(b.diff[i]) == sd {
			s = step
		}
		b.zero[i] = saturate(s + (b.zero[i]*coeffLeakage)>>15)
	}

	// DELAYA: shift the histories.
	for i := 6; i > 0; i-- {
		b.diff[i] = b.diff[i-1]
	}
	b.recon[2], b.recon[1] = b.recon[1], b.recon[0]
	b.partial[2], b.partial[1] = b.partial[1], b.partial[0]
	b.pole[1], b.pole[2] = a1, a2

	// FILTEP: the pole section.
	sp := (b.pole[1] * saturate(b.recon[1]+b.recon[1])) >> 15
	sp = saturate(sp + (b.pole[2]*saturate(b.recon[2]+b.recon[2]))>>15)

	// FILTEZ: the zero section.
	sz := 0
	for i := 6; i > 0; i-- {
		sz += (b.zero[i] * saturate(b.diff[i]+b.diff[i])) >> 15
	}
	b.zeroPart = saturate(sz)

	// PREDIC.
	b.estimate = saturate(sp + b.zeroPart)
}

// adaptLow runs the lower band's adaptation for a 6-bit code: the 4-bit
// inverse quantiser feeds the predictor, the scale factor follows the code.
func (b *band) adaptLow(code byte) {
	code4 := code >> 2
	d := (b.scale * lowInverse4[code4]) >> 15
	b.adaptScale(lowLogFactor[lowLogStep[code4]], lowLogMax)
	b.predict(d)
}

// adaptHigh runs the higher band's adaptation for a 2-bit code and returns
// the quantised difference it fed the predictor.
func (b *band) adaptHigh(code byte) int {
	d := (b.scale * highInverse[code]) >> 15
	b.adaptScale(highLogFactor[highLogStep[code]], highLogMax)
	b.predict(d)
	return d
}
