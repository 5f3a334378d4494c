package g722

// qmfTaps is the length of the quadrature mirror filters.
const qmfTaps = len(qmfCoeffs)

// qmf is the history of a quadrature mirror filter: the last 24 values it
// was given, oldest first.
type qmf struct {
	history [qmfTaps]int
}

// push appends the pair (first, second), dropping the oldest pair, and
// returns the filter's two phase sums: odd is the sum over the history
// positions 1, 3, .. 23 (ending at second), even over 0, 2, .. 22, each
// value weighted by the coefficient of its position.
func (q *qmf) push(first, second int) (odd, even int) {
	h := &q.history
	copy(h[:qmfTaps-2], h[2:])
	h[qmfTaps-2], h[qmfTaps-1] = first, second
	for i := 0; i < qmfTaps; i += 2 {
		even += h[i] * qmfCoeffs[i]
		odd += h[i+1] * qmfCoeffs[i+1]
	}
	return odd, even
}
