package quality

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

const peerSSRC = 0x5EED0001

// t0 is the explicit start of every test's timeline.
func t0() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// packet is one RTP packet of a synthetic 20 ms stream at 8 kHz.
func packet(seq uint16, ts uint32) *rtp.Header {
	return &rtp.Header{Version: 2, PayloadType: 0, SSRC: peerSSRC, SequenceNumber: seq, Timestamp: ts}
}

// feed sends n packets of a regular stream starting at seq and timestamp
// ts, arriving every 20 ms from start, skipping those drop says are lost.
func feed(l *Leg, seq uint16, ts uint32, start time.Time, n int, drop func(i int) bool) {
	for i := range n {
		if drop != nil && drop(i) {
			continue
		}
		l.Received(packet(seq+uint16(i), ts+uint32(i)*160), start.Add(time.Duration(i)*20*time.Millisecond))
	}
}

func near(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

func TestEveryTenthPacketLostIsTenPercent(t *testing.T) {
	l := NewLeg(1, 8000, "us@callrec", "PCMU")
	// Index 0 only opens probation (RFC 3550 A.1) and index 1 is the base,
	// so indices 1-1000 are expected and the 100 with i%10 == 5 are lost.
	feed(l, 40000, 12345, t0(), 1001, func(i int) bool { return i%10 == 5 })
	s := l.Summary()
	if s.PacketsExpected != 1000 || s.PacketsReceived != 900 || s.PacketsLost != 100 {
		t.Fatalf("expected/received/lost = %d/%d/%d, want 1000/900/100", s.PacketsExpected, s.PacketsReceived, s.PacketsLost)
	}
	if !near(s.LossPercent, 10, 1e-9) {
		t.Fatalf("LossPercent = %v, want 10", s.LossPercent)
	}
}

func TestConstantTransitHasNoJitter(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 1, 0, t0(), 500, nil)
	s := l.Summary()
	if s.JitterMS != 0 || s.MaxJitterMS != 0 || s.PacketsLost != 0 {
		t.Fatalf("jitter %v max %v lost %d, want 0 0 0", s.JitterMS, s.MaxJitterMS, s.PacketsLost)
	}
}

func TestAlternatingTransitConvergesToMeanDeviation(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	// Transit alternates +10 ms / -10 ms around the nominal, so every
	// difference D is 20 ms and J = J + (|D| - J)/16 converges to 20 ms.
	for i := range 1000 {
		offset := 10 * time.Millisecond
		if i%2 == 1 {
			offset = -offset
		}
		arrival := t0().Add(time.Duration(i)*20*time.Millisecond + offset)
		l.Received(packet(uint16(i), uint32(i)*160), arrival)
	}
	s := l.Summary()
	if !near(s.JitterMS, 20, 0.01) {
		t.Fatalf("JitterMS = %v, want 20", s.JitterMS)
	}
	if s.MaxJitterMS < s.JitterMS || s.MaxJitterMS > 20.001 {
		t.Fatalf("MaxJitterMS = %v with JitterMS %v", s.MaxJitterMS, s.JitterMS)
	}
}

func TestJitterAfterOneLateStep(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	// Packets 0 and 1 in time: the first jitter sample comes with 2.
	l.Received(packet(0, 0), t0())
	l.Received(packet(1, 160), t0().Add(20*time.Millisecond))
	// Packet 2 arrives 16 ms late: D = 128 units, J = 128/16 = 8 units = 1 ms.
	l.Received(packet(2, 320), t0().Add(56*time.Millisecond))
	if got := l.Summary().JitterMS; !near(got, 1, 1e-9) {
		t.Fatalf("JitterMS = %v, want 1", got)
	}
}

func TestSequenceWrapAround(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 65500, 0, t0(), 100, func(i int) bool { return i == 50 })
	s := l.Summary()
	if s.PacketsExpected != 99 || s.PacketsLost != 1 || s.PacketsReceived != 98 {
		t.Fatalf("expected/received/lost = %d/%d/%d, want 99/98/1", s.PacketsExpected, s.PacketsReceived, s.PacketsLost)
	}
	l.mu.Lock()
	ext := l.recv.extendedMax()
	l.mu.Unlock()
	if want := uint32(1<<16 + (65500+99)%65536); ext != want {
		t.Fatalf("extended max = %d, want %d", ext, want)
	}
}

func TestTimestampWrapIsNoJitter(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 1, 0xFFFFFF00, t0(), 100, nil)
	if s := l.Summary(); s.JitterMS != 0 || s.PacketsLost != 0 {
		t.Fatalf("jitter %v lost %d across a timestamp wrap, want 0 0", s.JitterMS, s.PacketsLost)
	}
}

func TestRestartedSequenceNeedsTwoInOrder(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 100, 0, t0(), 11, nil) // 10 counted (100 opens probation)
	before := l.Summary()
	if before.PacketsReceived != 10 || before.PacketsExpected != 10 {
		t.Fatalf("before restart: %d/%d", before.PacketsReceived, before.PacketsExpected)
	}
	// One stray packet far away is dropped and does not move the sequence.
	l.Received(packet(30000, 0), t0().Add(time.Second))
	feed(l, 111, 11*160, t0().Add(220*time.Millisecond), 1, nil)
	if s := l.Summary(); s.PacketsReceived != 11 || s.PacketsExpected != 11 {
		t.Fatalf("after a stray: %d/%d, want 11/11", s.PacketsReceived, s.PacketsExpected)
	}
	// The sender restarts at 5000: the first packet only marks it, the
	// second starts the new run and counts.
	feed(l, 5000, 900000, t0().Add(2*time.Second), 10, nil)
	s := l.Summary()
	if s.PacketsReceived != 11+9 || s.PacketsExpected != 11+9 || s.PacketsLost != 0 {
		t.Fatalf("after restart: received %d expected %d lost %d, want 20 20 0", s.PacketsReceived, s.PacketsExpected, s.PacketsLost)
	}
	if s.JitterMS > 0.001 {
		t.Fatalf("a restart must not show as jitter: %v ms", s.JitterMS)
	}
}

func TestNewSourceProbation(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	l.Received(packet(7, 0), t0())
	if s := l.Summary(); s.PacketsReceived != 0 || s.PacketsExpected != 0 {
		t.Fatalf("one packet on probation counted: %+v", s)
	}
	// Out of order during probation restarts it.
	l.Received(packet(9, 320), t0().Add(40*time.Millisecond))
	l.Received(packet(10, 480), t0().Add(60*time.Millisecond))
	if s := l.Summary(); s.PacketsReceived != 1 || s.PacketsExpected != 1 {
		t.Fatalf("after probation: %d/%d, want 1/1", s.PacketsReceived, s.PacketsExpected)
	}
}

func TestDuplicatesCountedSeparately(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 10, 0, t0(), 21, nil)
	// The newest packet twice, and an older one again.
	l.Received(packet(30, 20*160), t0().Add(time.Second))
	l.Received(packet(25, 15*160), t0().Add(time.Second))
	s := l.Summary()
	if s.PacketsReceived != 20 || s.Duplicates != 2 || s.PacketsLost != 0 {
		t.Fatalf("received %d duplicates %d lost %d, want 20 2 0", s.PacketsReceived, s.Duplicates, s.PacketsLost)
	}
}

func TestLatePacketFillsItsGap(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 10, 0, t0(), 21, func(i int) bool { return i == 10 })
	if s := l.Summary(); s.PacketsLost != 1 {
		t.Fatalf("lost %d before the late packet, want 1", s.PacketsLost)
	}
	l.Received(packet(20, 10*160), t0().Add(time.Second))
	l.Received(packet(20, 10*160), t0().Add(time.Second))
	s := l.Summary()
	if s.PacketsLost != 0 || s.PacketsReceived != 20 || s.Duplicates != 1 {
		t.Fatalf("lost %d received %d duplicates %d, want 0 20 1", s.PacketsLost, s.PacketsReceived, s.Duplicates)
	}
}

func TestNewSSRCKeepsOldCounts(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	feed(l, 10, 0, t0(), 11, nil)
	for i := range 11 {
		h := packet(uint16(900+i), uint32(i)*160)
		h.SSRC = peerSSRC + 1
		l.Received(h, t0().Add(time.Second+time.Duration(i)*20*time.Millisecond))
	}
	if s := l.Summary(); s.PacketsReceived != 20 || s.PacketsExpected != 20 {
		t.Fatalf("received %d expected %d, want 20 20", s.PacketsReceived, s.PacketsExpected)
	}
}

func TestSummaryScoresWhatWasMeasured(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMA")
	feed(l, 1, 0, t0(), 101, nil)
	s := l.Summary()
	wantR, wantMOS := EModel("PCMA", DefaultOneWayDelayMS+PacketisationMS, 0)
	if s.RFactor != wantR || s.MOS != wantMOS {
		t.Fatalf("R %v MOS %v, want %v %v", s.RFactor, s.MOS, wantR, wantMOS)
	}
}

func TestReceivedDoesNotAllocate(t *testing.T) {
	l := NewLeg(1, 8000, "us", "PCMU")
	h := packet(0, 0)
	at := t0()
	allocs := testing.AllocsPerRun(1000, func() {
		h.SequenceNumber++
		h.Timestamp += 160
		at = at.Add(20 * time.Millisecond)
		l.Received(h, at)
	})
	if allocs != 0 {
		t.Fatalf("Received allocates %v times per packet", allocs)
	}
}

func BenchmarkReceived(b *testing.B) {
	l := NewLeg(1, 8000, "us", "PCMU")
	h := packet(0, 0)
	at := t0()
	b.ReportAllocs()
	for b.Loop() {
		h.SequenceNumber++
		h.Timestamp += 160
		at = at.Add(20 * time.Millisecond)
		l.Received(h, at)
	}
}
