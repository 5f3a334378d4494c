package g722

// The tables below are the fixed-point constants of ITU-T G.722. They are
// read-only: nothing in the package writes to them.

// qmfCoeffs holds the 24 coefficients of the transmit and receive quadrature
// mirror filters, h(0) .. h(23), scaled by 2^13. The filter is symmetric.
var qmfCoeffs = [24]int{
	3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876,
	3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3,
}

// lowDecisionLevels are the 6-bit lower-band quantiser's decision levels
// Q6(1) .. Q6(29), index 0 unused, relative to the scale factor (x 2^-12).
var lowDecisionLevels = [30]int{
	0, 35, 72, 110, 150, 190, 233, 276, 323, 370,
	422, 473, 530, 587, 650, 714, 786, 858, 940, 1023,
	1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919,
}

// lowCodeNegative and lowCodePositive map the lower-band quantiser interval
// (1 .. 30) of a negative or a non-negative difference to its 6-bit code.
var (
	lowCodeNegative = [31]uint8{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
	}
	lowCodePositive = [31]uint8{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
	}
)

// lowInverse6 is the 6-bit lower-band inverse quantiser (QQ6, x 2^-15 of the
// scale factor), indexed by the full 6-bit code: the decoder's output path.
var lowInverse6 = [64]int{
	-136, -136, -136, -136, -24808, -21904, -19008, -16704,
	-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
	-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
	-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
	24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
	10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
	4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
	1688, 1360, 1040, 728, 432, 136, -432, -136,
}

// lowInverse4 is the 4-bit lower-band inverse quantiser (QQ4), indexed by the
// code's top four bits: what both encoder and decoder feed the predictor, so
// that they stay in step whatever the bit rate.
var lowInverse4 = [16]int{
	0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
	20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
}

// lowLogStep maps the 4-bit code to its magnitude class (RIL4), and
// lowLogFactor gives each class's step of the logarithmic scale factor (WL).
var (
	lowLogStep   = [16]uint8{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	lowLogFactor = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
)

// highInverse is the 2-bit higher-band inverse quantiser (QQ2), highLogStep
// maps its code to a magnitude class (RIH2) and highLogFactor gives each
// class's step of the logarithmic scale factor (WH).
var (
	highInverse   = [4]int{-7408, -1616, 7408, 1616}
	highLogStep   = [4]uint8{2, 1, 2, 1}
	highLogFactor = [3]int{0, -214, 798}
)

// highCodeNegative and highCodePositive map the higher-band quantiser
// interval (1 or 2) of a negative or non-negative difference to its code.
var (
	highCodeNegative = [3]uint8{0, 1, 0}
	highCodePositive = [3]uint8{0, 3, 2}
)

// highDecisionLevel is the higher-band quantiser's one decision level, Q2,
// relative to the scale factor (x 2^-12).
const highDecisionLevel = 564

// antiLog is the table of the scale factor's inverse logarithm (ILA):
// 2048 x 2^(i/32), rounded.
var antiLog = [32]int{
	2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
	2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
	2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
	3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
}
