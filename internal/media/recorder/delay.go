package recorder

// delayBuckets is how many buckets delayWindow keeps: the minimum covers
// the last delayBuckets-1 to delayBuckets bucket lengths of arrivals.
const delayBuckets = 4

// delayWindow tracks the minimum of a stream's packet delays (arrival
// position minus timestamp position) over a sliding window of arrivals,
// in fixed buckets so that it never allocates.
type delayWindow struct {
	bucketFrames int64
	index        [delayBuckets]int64
	least        [delayBuckets]int64
	used         [delayBuckets]bool
	latest       int64 // bucket index of the latest arrival
}

func newDelayWindow(bucketFrames int64) delayWindow {
	return delayWindow{bucketFrames: bucketFrames}
}

// reset forgets every delay seen.
func (w *delayWindow) reset() {
	w.used = [delayBuckets]bool{}
}

// observe records a packet's delay at its arrival position.
func (w *delayWindow) observe(arrival, delay int64) {
	b := arrival / w.bucketFrames
	if b > w.latest || !w.anyUsed() {
		w.latest = b
	}
	slot := b % delayBuckets
	switch {
	case !w.used[slot] || w.index[slot] != b:
		if w.used[slot] && w.index[slot] > b {
			return // older than the window
		}
		w.index[slot], w.least[slot], w.used[slot] = b, delay, true
	case delay < w.least[slot]:
		w.least[slot] = delay
	}
}

// minimum is the least delay within the window; ok is false when none was
// observed.
func (w *delayWindow) minimum() (least int64, ok bool) {
	for i := range w.used {
		if !w.used[i] || w.index[i] <= w.latest-delayBuckets {
			continue
		}
		if !ok || w.least[i] < least {
			least, ok = w.least[i], true
		}
	}
	return least, ok
}

func (w *delayWindow) anyUsed() bool {
	for _, u := range w.used {
		if u {
			return true
		}
	}
	return false
}
