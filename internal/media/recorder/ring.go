package recorder

// ring holds one channel's audio that is not yet written, indexed by
// absolute position in the recording (frames since the start). It holds
// the positions [written, written+len(samples)) of the recorder's writing
// frontier; a position's slot is position mod len(samples). Slots are
// zeroed as they are drained, so a slot never placed is silence.
type ring struct {
	samples []int16
}

func newRing(frames int) ring {
	return ring{samples: make([]int16, frames)}
}

// size is how many positions the ring holds.
func (g *ring) size() int64 { return int64(len(g.samples)) }

// put stores pcm at positions [pos, pos+len(pcm)); the caller keeps the
// range inside the ring's span.
func (g *ring) put(pos int64, pcm []int16) {
	start := int(pos % g.size())
	n := copy(g.samples[start:], pcm)
	copy(g.samples, pcm[n:])
}

// drain moves n samples from position pos into out as channel ch of
// stereo frames (out[2*i+ch]) and zeroes their slots.
func (g *ring) drain(pos int64, n int, out []int16, ch int) {
	slot := int(pos % g.size())
	for i := 0; i < n; i++ {
		out[2*i+ch] = g.samples[slot]
		g.samples[slot] = 0
		slot++
		if slot == len(g.samples) {
			slot = 0
		}
	}
}

// move shifts the audio at [from, end) by delta positions, zeroing what it
// leaves. Samples whose new position falls outside [lo, hi) are dropped.
func (g *ring) move(from, end, delta, lo, hi int64) {
	if delta == 0 || end <= from {
		return
	}
	step := func(p int64) {
		slot := p % g.size()
		v := g.samples[slot]
		g.samples[slot] = 0
		if dst := p + delta; dst >= lo && dst < hi {
			g.samples[dst%g.size()] = v
		}
	}
	if delta < 0 {
		for p := from; p < end; p++ {
			step(p)
		}
		return
	}
	for p := end - 1; p >= from; p-- {
		step(p)
	}
}

// clear silences every slot.
func (g *ring) clear() { clear(g.samples) }
