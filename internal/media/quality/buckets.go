package quality

// MOSBuckets returns histogram bucket bounds suited to MOS values (1-4.5),
// finer where calls are good.
func MOSBuckets() []float64 {
	return []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5}
}

// JitterBucketsMS returns histogram bucket bounds for jitter in ms.
func JitterBucketsMS() []float64 {
	return []float64{1, 2, 5, 10, 20, 30, 50, 100, 200}
}

// RTTBucketsMS returns histogram bucket bounds for round-trip times in ms.
func RTTBucketsMS() []float64 {
	return []float64{10, 25, 50, 100, 150, 200, 300, 400, 600, 1000}
}

// LossPercentBuckets returns histogram bucket bounds for packet loss in
// percent.
func LossPercentBuckets() []float64 {
	return []float64{0.1, 0.5, 1, 2, 3, 5, 10, 20, 50}
}
