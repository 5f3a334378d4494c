package quality

import "time"

// RFC 3550 appendix A.1 constants.
const (
	seqMod        = 1 << 16
	maxDropout    = 3000
	maxMisorder   = 100
	minSequential = 2
)

// duplicateWindow is how many sequence numbers behind the highest one a
// reception keeps a mark for, to tell a duplicate from a late packet. It
// covers maxMisorder, the furthest back a packet is still taken as
// reordered rather than as a jump.
const duplicateWindow = 128

// seenWindow marks the sequence numbers received in the last
// duplicateWindow, indexed by sequence number modulo its size.
type seenWindow [duplicateWindow / 64]uint64

func (w *seenWindow) test(seq uint16) bool {
	i := seq % duplicateWindow
	return w[i/64]&(1<<(i%64)) != 0
}

func (w *seenWindow) set(seq uint16) {
	i := seq % duplicateWindow
	w[i/64] |= 1 << (i % 64)
}

func (w *seenWindow) clear(seq uint16) {
	i := seq % duplicateWindow
	w[i/64] &^= 1 << (i % 64)
}

// reception is what RFC 3550 appendix A keeps about one source: sequence
// validation (A.1), loss (A.3) and interarrival jitter (A.8). Totals of
// earlier sequence runs (before a restart or an SSRC change) are folded
// into the prior* fields so that nothing counted is forgotten.
type reception struct {
	clockRate uint32

	heard bool   // any packet of this source seen
	ssrc  uint32 // the source's SSRC

	// A.1 per-source state.
	maxSeq    uint16
	cycles    uint32
	baseSeq   uint32
	badSeq    uint32
	probation int
	received  uint64
	seen      seenWindow

	// A.3 interval state, as of the last report.
	expectedPrior uint64
	receivedPrior uint64

	// Totals of finished runs.
	runsExpected uint64
	runsReceived uint64
	duplicates   uint64

	// A.8 interarrival jitter in timestamp units.
	haveTransit bool
	transit     uint32
	jitter      float64
	maxJitter   float64
	clockBase   time.Time // arrival times are counted in timestamp units from here
}

// fold adds the current run's counts to the totals of finished runs.
func (r *reception) fold() {
	r.runsExpected += r.runExpected()
	r.runsReceived += r.received
}

// initSeq is RFC 3550 A.1 init_seq: a new run of sequence numbers starts
// at seq.
func (r *reception) initSeq(seq uint16) {
	r.baseSeq = uint32(seq)
	r.maxSeq = seq
	r.badSeq = seqMod + 1
	r.cycles = 0
	r.received = 0
	r.expectedPrior = 0
	r.receivedPrior = 0
	r.seen = seenWindow{}
	r.seen.set(seq)
}

// start begins probation on a new source (A.1: the first packet).
func (r *reception) start(ssrc uint32, seq uint16) {
	if r.heard {
		r.fold()
	}
	r.heard = true
	r.ssrc = ssrc
	r.baseSeq = uint32(seq)
	r.maxSeq = seq - 1
	r.badSeq = seqMod + 1
	r.cycles = 0
	r.received = 0
	r.expectedPrior = 0
	r.receivedPrior = 0
	r.seen = seenWindow{}
	r.probation = minSequential
	r.haveTransit = false
}

// advance moves the highest sequence number to seq, forgetting the marks
// that fall out of the window.
func (r *reception) advance(seq uint16) {
	delta := seq - r.maxSeq
	if delta >= duplicateWindow {
		r.seen = seenWindow{}
	} else {
		for s := r.maxSeq + 1; s != seq; s++ {
			r.seen.clear(s)
		}
	}
	r.maxSeq = seq
	r.seen.set(seq)
}

// updateSeq is RFC 3550 A.1 update_seq with duplicate detection added: it
// reports whether the packet counts as received (valid and not a
// duplicate).
func (r *reception) updateSeq(seq uint16) bool {
	udelta := seq - r.maxSeq
	switch {
	case r.probation > 0:
		if seq == r.maxSeq+1 {
			r.probation--
			r.maxSeq = seq
			if r.probation == 0 {
				r.initSeq(seq)
				r.received++
				return true
			}
		} else {
			r.probation = minSequential - 1
			r.maxSeq = seq
		}
		return false
	case udelta == 0:
		r.duplicates++
		return false
	case udelta < maxDropout:
		if seq < r.maxSeq {
			r.cycles += seqMod
		}
		r.advance(seq)
	case udelta <= seqMod-maxMisorder:
		// A very large jump: a restarted sequence if the next packet
		// follows it, else a stray.
		if uint32(seq) != r.badSeq {
			r.badSeq = uint32(seq+1) & (seqMod - 1)
			return false
		}
		r.fold()
		r.initSeq(seq)
		r.haveTransit = false
	default:
		// Late or duplicated.
		if r.seen.test(seq) {
			r.duplicates++
			return false
		}
		r.seen.set(seq)
	}
	r.received++
	return true
}

// updateJitter is RFC 3550 A.8 for one packet with RTP timestamp ts.
func (r *reception) updateJitter(ts uint32, arrival time.Time) {
	if r.clockBase.IsZero() {
		r.clockBase = arrival
	}
	elapsed := arrival.Sub(r.clockBase)
	units := int64(elapsed/time.Second)*int64(r.clockRate) +
		int64(elapsed%time.Second)*int64(r.clockRate)/int64(time.Second)
	transit := uint32(units) - ts
	if !r.haveTransit {
		r.haveTransit = true
		r.transit = transit
		return
	}
	d := int32(transit - r.transit)
	r.transit = transit
	if d < 0 {
		d = -d
	}
	r.jitter += (float64(d) - r.jitter) / 16
	if r.jitter > r.maxJitter {
		r.maxJitter = r.jitter
	}
}

// extendedMax is the highest sequence number with its wrap count (A.3).
func (r *reception) extendedMax() uint32 {
	return r.cycles + uint32(r.maxSeq)
}

// runExpected is how many packets the current run should have brought.
func (r *reception) runExpected() uint64 {
	if !r.heard || r.probation > 0 {
		return 0
	}
	return uint64(r.extendedMax()) - uint64(r.baseSeq) + 1
}

// totals are the expected and received packets of every run so far.
func (r *reception) totals() (expected, received uint64) {
	return r.runsExpected + r.runExpected(), r.runsReceived + r.received
}

// lost is expected minus received, never below zero (a late packet from
// before a run's base can make the difference negative).
func lost(expected, received uint64) uint64 {
	if received >= expected {
		return 0
	}
	return expected - received
}

// interval returns the RFC 3550 A.3 fraction lost since the last report
// (out of 256) and starts a new interval.
func (r *reception) interval() uint8 {
	expected := r.runExpected()
	expectedInterval := expected - r.expectedPrior
	receivedInterval := r.received - r.receivedPrior
	r.expectedPrior = expected
	r.receivedPrior = r.received
	if expectedInterval == 0 || receivedInterval >= expectedInterval {
		return 0
	}
	return uint8(min((expectedInterval-receivedInterval)*256/expectedInterval, 255))
}
