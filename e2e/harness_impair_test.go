package e2e

// An impairment relay for RTP: a UDP relay in the test process that puts
// delay, jitter, reordering, loss and duplication between a phone's media
// and callrec, each direction with its own settings and its own seeded
// random numbers, and counts what it did. And the tone pulses the
// impairment test marks both sides with, and finding them in a recording.
//
// Where it sits: the phone's SDP names the relay's near socket, so callrec
// sends there and (symmetric RTP) takes packets only from there; the
// phone's own Go socket talks to the relay's far socket. No config key is
// needed for it.
//
//	phone (rtpSink) ⇄ far socket  [relay]  near socket ⇄ callrec
//	                   toPeer ◀──────────────── toCallrec ──▶

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// impairment is what a relay does to one direction's packets.
type impairment struct {
	Delay     time.Duration // added to every packet
	Jitter    time.Duration // plus a uniform random −Jitter…+Jitter (never below zero in all)
	ReorderPc float64       // % of packets held back ReorderBy more, so later ones overtake them
	ReorderBy time.Duration // default 45 ms
	LossPc    float64       // % of packets dropped
	DupPc     float64       // % of packets sent twice
}

func (im impairment) String() string {
	return fmt.Sprintf("delay %v ± %v, %.1f%% reordered, %.1f%% lost, %.1f%% duplicated",
		im.Delay, im.Jitter, im.ReorderPc, im.LossPc, im.DupPc)
}

// relayStats counts what one direction of a relay did.
type relayStats struct {
	Received, Lost, Duplicated, Reordered, Sent int
}

// LossPc is the share of received packets dropped, in %.
func (s relayStats) LossPc() float64 {
	if s.Received == 0 {
		return 0
	}
	return 100 * float64(s.Lost) / float64(s.Received)
}

func (s relayStats) String() string {
	return fmt.Sprintf("%d received, %d lost (%.2f%%), %d duplicated, %d held back, %d sent",
		s.Received, s.Lost, s.LossPc(), s.Duplicated, s.Reordered, s.Sent)
}

// impairRelay relays one phone's media. Each direction is a reader
// goroutine handing packets to a scheduler goroutine, which owns that
// direction's random numbers, queue and counts; the counts are read
// through a mutex once the direction has stopped.
type impairRelay struct {
	near, far *net.UDPConn
	toCallrec *relayDirection
	toPeer    *relayDirection
}

// relayDirection is one direction of a relay.
type relayDirection struct {
	im   impairment
	rng  *rand.Rand
	from *net.UDPConn // where packets arrive
	out  *net.UDPConn // where they leave from
	in   chan relayed
	done chan struct{}

	mu    sync.Mutex // guards dest and stats
	dest  *net.UDPAddr
	stats relayStats
}

// relayed is a packet and when it is due out.
type relayed struct {
	due time.Time
	seq int // arrival order, to keep equal due times in order
	pkt []byte
}

// newImpairRelay binds both sockets on 127.0.0.1 and starts relaying;
// seed makes its random choices repeatable. It stops when the test ends.
func newImpairRelay(t *testing.T, toCallrec, toPeer impairment, seed uint64) *impairRelay {
	t.Helper()
	listen := func() *net.UDPConn {
		port := freePorts(t, 2, false)
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	r := &impairRelay{near: listen(), far: listen()}
	r.toCallrec = newRelayDirection(toCallrec, rand.New(rand.NewPCG(seed, 1)), r.far, r.near)
	r.toPeer = newRelayDirection(toPeer, rand.New(rand.NewPCG(seed, 2)), r.near, r.far)
	t.Cleanup(func() {
		r.near.Close()
		r.far.Close()
		<-r.toCallrec.done
		<-r.toPeer.done
	})
	return r
}

func newRelayDirection(im impairment, rng *rand.Rand, from, out *net.UDPConn) *relayDirection {
	if im.ReorderBy == 0 {
		im.ReorderBy = 45 * time.Millisecond
	}
	d := &relayDirection{im: im, rng: rng, from: from, out: out, in: make(chan relayed, 256), done: make(chan struct{})}
	go d.read()
	go d.schedule()
	return d
}

// NearPort is the port to put in the phone's SDP: callrec's side.
func (r *impairRelay) NearPort() int { return r.near.LocalAddr().(*net.UDPAddr).Port }

// FarAddr is where the phone's socket sends.
func (r *impairRelay) FarAddr() *net.UDPAddr { return r.far.LocalAddr().(*net.UDPAddr) }

// toCallrecAt sets where packets toward callrec go: the media address of
// callrec's SDP. Until then they are dropped uncounted.
func (r *impairRelay) toCallrecAt(a *net.UDPAddr) { r.toCallrec.setDest(a) }

// toPeerAt sets where packets toward the phone go.
func (r *impairRelay) toPeerAt(a *net.UDPAddr) { r.toPeer.setDest(a) }

func (d *relayDirection) setDest(a *net.UDPAddr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dest = a
}

func (d *relayDirection) destination() *net.UDPAddr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dest
}

// Stats is what the direction did so far.
func (d *relayDirection) Stats() relayStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// read hands each datagram to the scheduler with its arrival time.
func (d *relayDirection) read() {
	defer close(d.in)
	buf := make([]byte, 2048)
	for seq := 0; ; seq++ {
		n, _, err := d.from.ReadFromUDP(buf)
		if err != nil {
			return
		}
		d.in <- relayed{due: time.Now(), seq: seq, pkt: append([]byte(nil), buf[:n]...)}
	}
}

// schedule decides each packet's fate and sends it when due.
func (d *relayDirection) schedule() {
	defer close(d.done)
	var q relayQueue
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if len(q) > 0 {
			timer.Reset(time.Until(q[0].due))
			wake = timer.C
		}
		select {
		case p, ok := <-d.in:
			if !ok {
				return
			}
			if d.destination() == nil {
				continue
			}
			for _, out := range d.fate(p) {
				heap.Push(&q, out)
			}
		case <-wake:
			for len(q) > 0 && !q[0].due.After(time.Now()) {
				p := heap.Pop(&q).(relayed)
				if _, err := d.out.WriteToUDP(p.pkt, d.destination()); err == nil {
					d.count(func(s *relayStats) { s.Sent++ })
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// fate is what becomes of one packet: nothing (lost), or one or two
// copies each with its due time.
func (d *relayDirection) fate(p relayed) []relayed {
	im := d.im
	d.count(func(s *relayStats) { s.Received++ })
	if d.rng.Float64()*100 < im.LossPc {
		d.count(func(s *relayStats) { s.Lost++ })
		return nil
	}
	delay := func() time.Duration {
		x := im.Delay
		if im.Jitter > 0 {
			x += time.Duration((d.rng.Float64()*2 - 1) * float64(im.Jitter))
		}
		return max(x, 0)
	}
	first := delay()
	if d.rng.Float64()*100 < im.ReorderPc {
		first += im.ReorderBy
		d.count(func(s *relayStats) { s.Reordered++ })
	}
	out := []relayed{{due: p.due.Add(first), seq: p.seq, pkt: p.pkt}}
	if d.rng.Float64()*100 < im.DupPc {
		d.count(func(s *relayStats) { s.Duplicated++ })
		out = append(out, relayed{due: p.due.Add(first + delay()/2 + time.Millisecond), seq: p.seq, pkt: p.pkt})
	}
	return out
}

func (d *relayDirection) count(f func(*relayStats)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.stats)
}

// relayQueue is a min-heap of packets by due time, then arrival.
type relayQueue []relayed

func (q relayQueue) Len() int { return len(q) }
func (q relayQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q relayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *relayQueue) Push(x any)   { *q = append(*q, x.(relayed)) }
func (q *relayQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Tone pulses: each side sends pulseMS of its tone at the start of every
// pulseEveryMS, and silence in between, from a start time both sides
// share, so that the pulses' onsets in the two channels of a recording
// show how well the channels are aligned.
const (
	pulseMS      = 200
	pulseEveryMS = 1000
)

// sendPulses sends PCMU from the sink's socket to to: 20 ms packets on
// the wall clock from start (catching up after a late wake-up), the tone
// hz during the first pulseMS of every pulseEveryMS, silence otherwise,
// until stop is closed.
func (s *rtpSink) sendPulses(hz int, to *net.UDPAddr, start time.Time, stop <-chan struct{}) {
	pcm := sine(float64(hz), 0.5, 8000)
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	time.Sleep(time.Until(start))
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; {
		for due := int(time.Since(start) / (20 * time.Millisecond)); i <= due; i++ {
			pkt := rtpHeader(0, i == 0, seq, ts, ssrc)
			inPulse := i*20%pulseEveryMS < pulseMS
			off := i % 50 * 160
			for _, v := range pcm[off : off+160] {
				if !inPulse {
					v = 0
				}
				pkt = append(pkt, ulawEncode(v))
			}
			if _, err := s.conn.WriteToUDP(pkt, to); err != nil {
				return
			}
			seq++
			ts += 160
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// pulseOnsets finds the onsets (in seconds from the start of x, 8 kHz) of
// pulses of the tone hz: a 10 ms window, moved 1 ms at a time, that is
// mostly hz and loud after at least 300 ms without it; an onset is the
// middle of the first such window.
func pulseOnsets(x []int16, hz float64) []float64 {
	const win, hop = 80, 8
	var onsets []float64
	last := -1e9
	for off := 0; off+win <= len(x); off += hop {
		f := x[off : off+win]
		if rms(f) < 1000 || toneShare(f, hz) < 0.5 {
			continue
		}
		at := float64(off+win/2) / 8000 // the window is about half tone
		if at-last > 0.3 {
			onsets = append(onsets, at)
		}
		last = at
	}
	return onsets
}

// TestImpairHarness checks the relay and the pulse finder without
// callrec: what arrives through a relay is what its counts say (sent =
// received − lost + duplicated), reordering and duplication show in the
// sequence numbers, the other direction is untouched; and pulseOnsets
// finds synthetic pulses within 2 ms of where they are.
func TestImpairHarness(t *testing.T) {
	t.Parallel()
	r := newImpairRelay(t, impairment{Delay: 5 * time.Millisecond, Jitter: 4 * time.Millisecond, ReorderPc: 5, LossPc: 10, DupPc: 5}, impairment{}, 7)
	callrecSide, peerSide := newRTPSink(t), newRTPSink(t)
	r.toCallrecAt(callrecSide.conn.LocalAddr().(*net.UDPAddr))
	r.toPeerAt(peerSide.conn.LocalAddr().(*net.UDPAddr))
	const n = 400
	for i := range n {
		pkt := rtpHeader(0, false, uint16(i), uint32(160*i), 1)
		if _, err := peerSide.conn.WriteToUDP(append(pkt, make([]byte, 160)...), r.FarAddr()); err != nil {
			t.Fatal(err)
		}
		if _, err := callrecSide.conn.WriteToUDP(append(rtpHeader(0, false, uint16(i), 0, 2), 0xff), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: r.NearPort()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	var toCallrec, toPeer []rtpPacket
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st := r.toCallrec.Stats()
		toCallrec, toPeer = callrecSide.packets(), peerSide.packets()
		if st.Received == n && len(toCallrec) == st.Received-st.Lost+st.Duplicated && len(toPeer) == n {
			break
		}
	}
	st := r.toCallrec.Stats()
	t.Logf("toward callrec: %v; toward the peer: %v", st, r.toPeer.Stats())
	if st.Received != n || len(toCallrec) != st.Sent || st.Sent != n-st.Lost+st.Duplicated {
		t.Errorf("toward callrec: %v, and %d packets arrived; want %d received and sent = received − lost + duplicated", st, len(toCallrec), n)
	}
	if st.Lost == 0 || st.Duplicated == 0 || st.Reordered == 0 {
		t.Errorf("toward callrec: %v; want some lost, duplicated and held back at 10 %%, 5 %%, 5 %%", st)
	}
	var backwards, twice int
	seen := map[uint16]bool{}
	for i, p := range toCallrec {
		if seen[p.Seq] {
			twice++
		}
		seen[p.Seq] = true
		if i > 0 && p.Seq < toCallrec[i-1].Seq {
			backwards++
		}
		if p.From.Port != r.NearPort() {
			t.Fatalf("a packet toward callrec came from %v, want the relay's near socket (port %d)", p.From, r.NearPort())
		}
	}
	if backwards == 0 || twice == 0 {
		t.Errorf("toward callrec: %d packets overtaken, %d duplicates seen; want some of each", backwards, twice)
	}
	if len(toPeer) != n {
		t.Errorf("toward the peer (no impairment): %d of %d packets arrived", len(toPeer), n)
	}
	for i := 1; i < len(toPeer); i++ {
		if toPeer[i].Seq != toPeer[i-1].Seq+1 {
			t.Errorf("toward the peer (no impairment): packet %d has sequence %d after %d", i, toPeer[i].Seq, toPeer[i-1].Seq)
			break
		}
	}

	// Pulses of 200 ms at 440 Hz at 0.5 s, 1.5 s and 2.5 s, plus a
	// 1300 Hz pulse at 2.0 s that is no 440 Hz pulse.
	x := make([]int16, 8000*3)
	for _, at := range []float64{0.5, 1.5, 2.5} {
		copy(x[int(at*8000):], sine(ownerHz, 0.5, 1600))
	}
	copy(x[2*8000:], sine(otherHz, 0.5, 1600))
	got := pulseOnsets(x, ownerHz)
	if len(got) != 3 {
		t.Fatalf("pulseOnsets found %v, want 3 pulses (0.5, 1.5, 2.5 s)", got)
	}
	for i, want := range []float64{0.5, 1.5, 2.5} {
		if d := got[i] - want; d < -0.002 || d > 0.002 {
			t.Errorf("pulse %d found at %.4f s, want %.3f s within 2 ms", i, got[i], want)
		}
	}
}
