package stream

import (
	"context"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/dtmf"
	"github.com/callrec/callrec/internal/media/srtp"
)

// tone is n samples of a hz sine at rate.
func tone(hz float64, rate, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

// power is the Goertzel power of hz in x (sampled at rate), relative to
// the signal's energy: near 1 for a pure tone at hz.
func power(x []int16, hz float64, rate int) float64 {
	var s1, s2, energy float64
	k := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	for _, v := range x {
		f := float64(v)
		energy += f * f
		s0 := f + k*s1 - s2
		s2, s1 = s1, s0
	}
	if energy == 0 {
		return 0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) * 2 / (float64(len(x)) * energy)
}

// collector gathers a stream's decoded audio and digits.
type collector struct {
	mu     sync.Mutex
	pcm    []int16
	rate   int
	digits []byte
}

func (c *collector) handlers() Handlers {
	return Handlers{
		OnAudio: func(a Audio) {
			c.mu.Lock()
			c.pcm = append(c.pcm, a.PCM...)
			c.rate = a.SampleRate
			c.mu.Unlock()
		},
		OnDigit: func(d byte) {
			c.mu.Lock()
			c.digits = append(c.digits, d)
			c.mu.Unlock()
		},
	}
}

func (c *collector) wait(t *testing.T, samples int) []int16 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.pcm)
		c.mu.Unlock()
		if n >= samples {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...)
}

func (c *collector) gotDigits() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.digits)
}

func addrOf(s *Stream) netip.AddrPort { return netip.AddrPortFrom(loopback, uint16(s.LocalPort())) }

// TestSRTPBetweenStreams: two streams keyed for each other (as an SDES
// offer and answer make them) carry a prompt encrypted; what a plain peer
// sends to the encrypted one is dropped as invalid.
func TestSRTPBetweenStreams(t *testing.T) {
	ports, err := NewPorts(loopback, 35000, 35999)
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range srtp.Supported() {
		t.Run(string(suite), func(t *testing.T) {
			ka, err := srtp.NewCrypto(1, suite)
			if err != nil {
				t.Fatal(err)
			}
			kb, err := srtp.NewCrypto(1, suite)
			if err != nil {
				t.Fatal(err)
			}
			sa, err := srtp.NewSession(ka, kb)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := srtp.NewSession(kb, ka)
			if err != nil {
				t.Fatal(err)
			}
			a := newStreamWith(t, ports, Params{Codec: codec.PCMU, TelephoneEvent: -1, Cipher: sa})
			b := newStreamWith(t, ports, Params{Codec: codec.PCMU, TelephoneEvent: -1, Cipher: sb})
			a.SetParams(Params{Remote: addrOf(b), Codec: codec.PCMU, TelephoneEvent: -1, Cipher: sa})
			b.SetParams(Params{Remote: addrOf(a), Codec: codec.PCMU, TelephoneEvent: -1, Cipher: sb})
			var got collector
			b.SetHandlers(got.handlers())
			if err := a.Play(context.Background(), tone(1000, 8000, 8*FrameSamples)); err != nil {
				t.Fatal(err)
			}
			pcm := got.wait(t, 8*FrameSamples)
			if len(pcm) < 8*FrameSamples || power(pcm, 1000, 8000) < 0.8 {
				t.Fatalf("decrypted %d samples, 1 kHz share %.2f", len(pcm), power(pcm, 1000, 8000))
			}
			// A plain packet from the peer's address is refused.
			plain := newPeer(t, "127.0.0.1")
			b.SetParams(Params{Remote: plain.addr(), Codec: codec.PCMU, TelephoneEvent: -1, Cipher: sb})
			before := b.Stats.Invalid.Load()
			plain.send(t, addrOf(b), 0, make([]byte, FrameSamples), true)
			deadline := time.Now().Add(2 * time.Second)
			for b.Stats.Invalid.Load() == before && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if b.Stats.Invalid.Load() != before+1 {
				t.Fatal("a plain RTP packet to an SRTP leg was not refused")
			}
		})
	}
}

// TestG722RelayedAsPCMU: a G.722 leg's audio reaches a bridged PCMU leg
// transcoded (the tone survives), and the G.722 leg's handler gets 16 kHz
// audio.
func TestG722RelayedAsPCMU(t *testing.T) {
	ports, err := NewPorts(loopback, 36000, 36999)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	a := newStream(t, ports, alice.addr(), codec.G722, -1)
	b := newStream(t, ports, bob.addr(), codec.PCMU, -1)
	var heard collector
	a.SetHandlers(heard.handlers())
	a.Bridge(b)
	enc, err := codec.NewEncoder(codec.G722)
	if err != nil {
		t.Fatal(err)
	}
	src := tone(1000, 16000, 10*2*FrameSamples)
	var relayed []int16
	dec, _ := codec.NewDecoder(codec.PCMU)
	for i := 0; i < 10; i++ {
		payload := enc.Encode(nil, src[i*2*FrameSamples:(i+1)*2*FrameSamples])
		if len(payload) != FrameSamples {
			t.Fatalf("20 ms of G.722 is %d bytes, want %d", len(payload), FrameSamples)
		}
		alice.ts += FrameSamples
		alice.send(t, addrOf(a), 9, payload, i == 0)
		p := bob.recv(t)
		if p.PayloadType != 0 || len(p.Payload) != FrameSamples {
			t.Fatalf("relayed packet: payload type %d, %d bytes; want PCMU, 160", p.PayloadType, len(p.Payload))
		}
		relayed = dec.Decode(relayed, p.Payload)
	}
	if share := power(relayed[4*FrameSamples:], 1000, 8000); share < 0.7 {
		t.Errorf("the 1 kHz tone relayed as PCMU has a share of %.2f", share)
	}
	pcm := heard.wait(t, 10*2*FrameSamples)
	heard.mu.Lock()
	rate := heard.rate
	heard.mu.Unlock()
	if rate != 16000 || len(pcm) != 10*2*FrameSamples {
		t.Errorf("handler got %d samples at %d Hz, want %d at 16000", len(pcm), rate, 10*2*FrameSamples)
	}
}

// TestKeepAliveSilence: a leg that sends nothing else gets silence packets
// on the clock's ticks, the first with the marker bit; a prompt takes
// over, and the keep-alive steps aside while it plays.
func TestKeepAliveSilence(t *testing.T) {
	ports, err := NewPorts(loopback, 37000, 37999)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPeer(t, "127.0.0.1")
	s := newStream(t, ports, phone.addr(), codec.PCMU, -1)
	clock := NewClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock.Add(s)
	go clock.Run(ctx)
	first := phone.recv(t)
	if !first.Marker || len(first.Payload) != FrameSamples {
		t.Fatalf("first keep-alive: marker %v, %d bytes", first.Marker, len(first.Payload))
	}
	for _, b := range first.Payload {
		if b != 0xFF { // µ-law silence
			t.Fatalf("keep-alive payload is not silence: %x", first.Payload[:8])
		}
	}
	prev := first
	for range 5 {
		p := phone.recv(t)
		if p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp-prev.Timestamp < FrameSamples {
			t.Fatalf("keep-alive seq %d→%d ts %d→%d", prev.SequenceNumber, p.SequenceNumber, prev.Timestamp, p.Timestamp)
		}
		prev = p
	}
	clock.Remove(s)
	// Off the clock, nothing more comes (after what was in flight).
	phone.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	for {
		if _, _, err := phone.conn.ReadFromUDP(buf); err != nil {
			break
		}
	}
	phone.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := phone.conn.ReadFromUDP(buf); err == nil {
		t.Fatal("a stream off the clock still sends keep-alives")
	}
}

// TestKeepAliveCatchesUp: ticks that come late (a loaded machine) send
// the keep-alive frames due since, each 20 ms on in RTP time, so the
// phone still gets 50 a second; a stall longer than a burst makes up
// skips the rest with a timestamp jump and the marker bit.
func TestKeepAliveCatchesUp(t *testing.T) {
	ports, err := NewPorts(loopback, 39000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPeer(t, "127.0.0.1")
	s := newStream(t, ports, phone.addr(), codec.PCMU, -1)
	t0 := time.Now()
	recvN := func(n int) []*rtp.Packet {
		t.Helper()
		var out []*rtp.Packet
		for range n {
			out = append(out, phone.recv(t))
		}
		return out
	}
	s.keepAlive(t0)
	first := recvN(1)[0]
	if !first.Marker {
		t.Errorf("first keep-alive without the marker bit")
	}
	s.keepAlive(t0.Add(20 * time.Millisecond))
	s.keepAlive(t0.Add(80 * time.Millisecond)) // two ticks dropped
	prev := first
	for i, p := range recvN(4) {
		if p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp != prev.Timestamp+FrameSamples || p.Marker {
			t.Errorf("packet %d: seq %d→%d ts %d→%d marker %v; want +1, +%d, no marker",
				i, prev.SequenceNumber, p.SequenceNumber, prev.Timestamp, p.Timestamp, p.Marker, FrameSamples)
		}
		prev = p
	}
	// A 1 s stall: a burst of maxKeepAliveBurst, then the schedule
	// restarts with the timestamp 1 s on.
	s.keepAlive(t0.Add(1080 * time.Millisecond))
	recvN(maxKeepAliveBurst)
	s.keepAlive(t0.Add(1100 * time.Millisecond))
	p := recvN(1)[0]
	if !p.Marker || p.Timestamp-first.Timestamp != 1100*8 {
		t.Errorf("after a stall: marker %v, %d samples after the first; want the marker and %d", p.Marker, p.Timestamp-first.Timestamp, 1100*8)
	}
	phone.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1500)
	if _, _, err := phone.conn.ReadFromUDP(buf); err == nil {
		t.Errorf("more keep-alive frames than were due")
	}
}

// sendPCM sends pcm to s as PCMU in 20 ms packets from p.
func sendPCM(t *testing.T, p *peer, to netip.AddrPort, pcm []int16) {
	t.Helper()
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		p.send(t, to, 0, codec.PCMU.Encode(nil, pcm[i:i+FrameSamples]), i == 0)
		p.ts += FrameSamples
	}
}

// TestInbandDigits: on a leg without telephone-event, tones in the audio
// are digits, reported once each; on a leg with it, the same tones are
// only audio (a digit is never counted twice).
func TestInbandDigits(t *testing.T) {
	ports, err := NewPorts(loopback, 38000, 38999)
	if err != nil {
		t.Fatal(err)
	}
	var keys []int16
	for _, d := range []byte("4#") {
		tn, err := dtmf.Tone(nil, d, 8000, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tn...)
		keys = append(keys, make([]int16, 800)...)
	}
	for _, te := range []int{-1, 101} {
		phone := newPeer(t, "127.0.0.1")
		s := newStream(t, ports, phone.addr(), codec.PCMU, te)
		var got collector
		s.SetHandlers(got.handlers())
		sendPCM(t, phone, addrOf(s), keys)
		got.wait(t, len(keys)/FrameSamples*FrameSamples)
		want := "4#"
		if te >= 0 {
			want = ""
		}
		if d := got.gotDigits(); d != want {
			t.Errorf("telephone-event %d: digits %q, want %q", te, d, want)
		}
	}
}

// TestEventForwardedAsTone: an RFC 4733 digit from one leg reaches a
// bridged leg that negotiated no telephone-event as an in-band tone.
func TestEventForwardedAsTone(t *testing.T) {
	ports, err := NewPorts(loopback, 39000, 39999)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	a := newStream(t, ports, alice.addr(), codec.PCMU, 101)
	b := newStream(t, ports, bob.addr(), codec.PCMU, -1)
	a.Bridge(b)
	events, err := dtmf.Events('7', 10, 800, FrameSamples)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		alice.send(t, addrOf(a), 101, ev.Marshal(nil), i == 0)
	}
	det, err := dtmf.NewDetector(8000)
	if err != nil {
		t.Fatal(err)
	}
	var heard []byte
	dec, _ := codec.NewDecoder(codec.PCMU)
	for i := 0; i < 8 && len(heard) == 0; i++ {
		p := bob.recv(t)
		if p.PayloadType != 0 {
			t.Fatalf("bob got payload type %d, want PCMU audio", p.PayloadType)
		}
		det.Push(dec.Decode(nil, p.Payload), func(d byte) { heard = append(heard, d) })
	}
	if string(heard) != "7" {
		t.Errorf("bob heard digits %q, want \"7\" as a tone", heard)
	}
}

// TestRTCPRoundTrip: two streams exchanging RTP send each other RTCP
// reports on their RTCP ports; each then knows the other's view and the
// round-trip time.
func TestRTCPRoundTrip(t *testing.T) {
	ports, err := NewPorts(loopback, 40000, 40999)
	if err != nil {
		t.Fatal(err)
	}
	a := newStreamWith(t, ports, Params{Codec: codec.PCMU, TelephoneEvent: -1})
	b := newStreamWith(t, ports, Params{Codec: codec.PCMU, TelephoneEvent: -1})
	a.SetParams(Params{Remote: addrOf(b), Codec: codec.PCMU, TelephoneEvent: -1})
	b.SetParams(Params{Remote: addrOf(a), Codec: codec.PCMU, TelephoneEvent: -1})
	var wg sync.WaitGroup
	for _, s := range []*Stream{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Play(context.Background(), make([]int16, 10*FrameSamples))
		}()
	}
	wg.Wait()
	due := func(s *Stream) {
		s.sendMu.Lock()
		s.send.nextRTCP = time.Now().Add(-time.Millisecond)
		s.sendMu.Unlock()
		s.reportRTCP(time.Now(), func() float64 { return 0.5 })
	}
	waitRTCP := func(s *Stream, n uint64) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for s.Stats.RTCP.Load() < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if s.Stats.RTCP.Load() < n {
			t.Fatalf("RTCP received %d, want %d", s.Stats.RTCP.Load(), n)
		}
	}
	due(a) // a's SR reaches b
	waitRTCP(b, 1)
	time.Sleep(20 * time.Millisecond)
	due(b) // b's SR, with a block about a's stream, reaches a
	waitRTCP(a, 1)
	qa, ok := a.Quality()
	if !ok || !qa.HaveRemote || !qa.HaveRTT {
		t.Fatalf("a's quality after b's report: %+v", qa)
	}
	if qa.RTTMS < 0 || qa.RTTMS > 1000 {
		t.Errorf("round trip on loopback %.1f ms", qa.RTTMS)
	}
	// RFC 3550 A.1: the first packet of a source is on probation, and
	// counted from the second on.
	if qa.PacketsReceived < 9 || a.Stats.Received.Load() != 10 || qa.LossPercent != 0 {
		t.Errorf("a received %d packets (%d counted), %.1f %% lost; want 10, 0", a.Stats.Received.Load(), qa.PacketsReceived, qa.LossPercent)
	}
	if rtcp := a.Sockets().RTCP.LocalAddr().(*net.UDPAddr).Port; rtcp != a.LocalPort()+1 {
		t.Errorf("RTCP port %d, want %d", rtcp, a.LocalPort()+1)
	}
}

// TestLastReceived: the media timeout's clock starts at the first packet.
func TestLastReceived(t *testing.T) {
	ports, err := NewPorts(loopback, 41000, 41999)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPeer(t, "127.0.0.1")
	s := newStream(t, ports, phone.addr(), codec.PCMU, -1)
	if !s.LastReceived().IsZero() {
		t.Fatal("LastReceived before any packet")
	}
	before := time.Now()
	phone.send(t, addrOf(s), 0, make([]byte, FrameSamples), true)
	deadline := time.Now().Add(2 * time.Second)
	for s.LastReceived().IsZero() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.LastReceived(); got.Before(before) {
		t.Fatalf("LastReceived %v, before the packet was sent (%v)", got, before)
	}
}
