package stream

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/dtmf"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// peer is a plain UDP socket standing for a phone.
type peer struct {
	conn *net.UDPConn
	seq  uint16
	ts   uint32
}

func newPeer(t *testing.T, ip string) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *peer) send(t *testing.T, to netip.AddrPort, pt uint8, payload []byte, marker bool) {
	t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 42, Marker: marker}, Payload: payload}
	p.seq++
	b, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

func (p *peer) recv(t *testing.T) *rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no packet: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return &pkt
}

func newStream(t *testing.T, ports *Ports, remote netip.AddrPort, c codec.Codec, te int) *Stream {
	t.Helper()
	return newStreamWith(t, ports, Params{Remote: remote, Codec: c, PayloadType: c.PayloadType(), TelephoneEvent: te})
}

func newStreamWith(t *testing.T, ports *Ports, p Params) *Stream {
	t.Helper()
	socks, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	s := New(socks, slog.Default())
	s.SetParams(p)
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	t.Cleanup(func() {
		cancel()
		<-s.Done()
		ports.Release(socks)
	})
	return s
}

func TestRelayTranscodesAndDropsForeignSources(t *testing.T) {
	ports, err := NewPorts(loopback, 31000, 31999)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	a := newStream(t, ports, alice.addr(), codec.PCMU, 101)
	b := newStream(t, ports, bob.addr(), codec.PCMA, -1)

	var mu sync.Mutex
	var heard []int16
	a.SetHandlers(Handlers{OnAudio: func(au Audio) {
		mu.Lock()
		heard = append(heard, au.PCM...)
		mu.Unlock()
	}})
	a.Bridge(b)

	tone := make([]int16, FrameSamples)
	for i := range tone {
		tone[i] = int16(8000 * ((i % 16) - 8) / 8)
	}
	payload := codec.PCMU.Encode(nil, tone)
	aAddr := netip.AddrPortFrom(loopback, uint16(a.LocalPort()))
	alice.send(t, aAddr, 0, payload, true)

	got := bob.recv(t)
	if got.PayloadType != 8 {
		t.Fatalf("relayed payload type %d, want 8 (PCMA)", got.PayloadType)
	}
	want := codec.Transcode(nil, codec.PCMU, codec.PCMA, payload)
	if string(got.Payload) != string(want) {
		t.Fatal("relayed payload was not transcoded to PCMA")
	}

	// A packet from another address is dropped and counted.
	intruder := newPeer(t, "127.0.0.2")
	intruder.send(t, aAddr, 0, payload, false)
	deadline := time.Now().Add(2 * time.Second)
	for a.Stats.Foreign.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if a.Stats.Foreign.Load() != 1 {
		t.Fatalf("foreign packets %d, want 1", a.Stats.Foreign.Load())
	}
	mu.Lock()
	n := len(heard)
	mu.Unlock()
	if n != FrameSamples {
		t.Fatalf("heard %d samples, want %d (intruder must not be heard)", n, FrameSamples)
	}
}

func TestDigitsOnceAndPlayPacing(t *testing.T) {
	ports, err := NewPorts(loopback, 32000, 32999)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPeer(t, "127.0.0.1")
	s := newStream(t, ports, phone.addr(), codec.PCMU, 96)
	digits := make(chan byte, 10)
	s.SetHandlers(Handlers{OnDigit: func(d byte) { digits <- d }})
	to := netip.AddrPortFrom(loopback, uint16(s.LocalPort()))

	events, err := dtmf.Events('5', 10, 800, 160)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		phone.send(t, to, 96, ev.Marshal(nil), i == 0)
	}
	// Garbage telephone-event payloads are dropped without a digit.
	phone.send(t, to, 96, []byte{1}, false)
	select {
	case d := <-digits:
		if d != '5' {
			t.Fatalf("digit %q", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit")
	}
	select {
	case d := <-digits:
		t.Fatalf("digit %q counted twice", d)
	case <-time.After(200 * time.Millisecond):
	}

	// Play sends one packet per 160 samples with growing timestamps.
	pcm := make([]int16, 3*FrameSamples+10)
	if err := s.Play(context.Background(), pcm); err != nil {
		t.Fatal(err)
	}
	var last *rtp.Packet
	for i := 0; i < 4; i++ {
		p := phone.recv(t)
		if p.PayloadType != 0 || len(p.Payload) != FrameSamples {
			t.Fatalf("packet %d: pt %d len %d", i, p.PayloadType, len(p.Payload))
		}
		if i == 0 && !p.Marker {
			t.Fatal("first prompt packet has no marker")
		}
		if last != nil && (p.Timestamp-last.Timestamp != FrameSamples || p.SequenceNumber-last.SequenceNumber != 1) {
			t.Fatalf("packet %d: ts step %d seq step %d", i, p.Timestamp-last.Timestamp, p.SequenceNumber-last.SequenceNumber)
		}
		last = p
	}
}

func TestPortsExhaustion(t *testing.T) {
	ports, err := NewPorts(loopback, 33000, 33003)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ports.Listen(); err != ErrNoPorts {
		t.Fatalf("third pair: %v, want ErrNoPorts", err)
	}
	for _, c := range []Sockets{c1, c2} {
		rtpPort, rtcpPort := c.RTP.LocalAddr().(*net.UDPAddr).Port, c.RTCP.LocalAddr().(*net.UDPAddr).Port
		if rtpPort%2 != 0 || rtcpPort != rtpPort+1 {
			t.Errorf("pair %d/%d: want an even RTP port and RTCP on the next", rtpPort, rtcpPort)
		}
	}
	ports.Release(c1)
	c3, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ports.Release(c2)
	ports.Release(c3)
	if _, err := NewPorts(loopback, 10, 10); err == nil {
		t.Fatal("a one-port range was accepted")
	}
}

// FuzzHandle feeds arbitrary datagrams (from the expected source) through
// RTP parsing, RFC 4733 detection, decoding and relaying: nothing may
// panic, and digits reported must be valid keypad symbols.
func FuzzHandle(f *testing.F) {
	ev, _ := dtmf.Events('#', 10, 800, 160)
	for _, pt := range []uint8{0, 8, 101, 13} {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 7, Timestamp: 99, SSRC: 1}, Payload: ev[0].Marshal(nil)}
		b, _ := pkt.Marshal()
		f.Add(b)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0x90, 0x65, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0})
	src := netip.MustParseAddrPort("127.0.0.1:4000")
	f.Fuzz(func(t *testing.T, data []byte) {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Skip(err)
		}
		defer conn.Close()
		a, b := New(Sockets{RTP: conn}, slog.Default()), New(Sockets{RTP: conn}, slog.Default())
		a.SetParams(Params{Remote: src, Codec: codec.PCMU, PayloadType: 0, TelephoneEvent: 101})
		b.SetParams(Params{Remote: netip.MustParseAddrPort("127.0.0.1:9"), Codec: codec.PCMA, PayloadType: 8, TelephoneEvent: 100})
		a.Bridge(b)
		a.SetHandlers(Handlers{OnDigit: func(d byte) {
			if _, ok := dtmf.Code(d); !ok {
				t.Fatalf("invalid digit %q", d)
			}
		}})
		var rs recvState
		now := time.Now()
		a.handle(&rs, src, data, now)
		a.handle(&rs, src, data, now)
	})
}

// TestRelatchAfterReoffer: after a re-INVITE names a new port, packets
// from exactly that port are taken (and we send there); the old port is
// still taken until then (a phone that keeps its source port), and dropped
// after.
func TestRelatchAfterReoffer(t *testing.T) {
	ports, err := NewPorts(loopback, 34000, 34999)
	if err != nil {
		t.Fatal(err)
	}
	oldPort, newPort := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	s := newStream(t, ports, oldPort.addr(), codec.PCMU, -1)
	to := netip.AddrPortFrom(loopback, uint16(s.LocalPort()))
	payload := make([]byte, FrameSamples)
	waitReceived := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for s.Stats.Received.Load()+s.Stats.Foreign.Load() < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	oldPort.send(t, to, 0, payload, true)
	waitReceived(1)
	p := s.Params()
	p.Remote = newPort.addr()
	s.SetParams(p)
	oldPort.send(t, to, 0, payload, false) // still the only source: taken
	waitReceived(2)
	newPort.send(t, to, 0, payload, false) // the SDP's port: taken, now the target
	waitReceived(3)
	oldPort.send(t, to, 0, payload, false) // dropped from now on
	waitReceived(4)
	if got, foreign := s.Stats.Received.Load(), s.Stats.Foreign.Load(); got != 3 || foreign != 1 {
		t.Fatalf("received %d foreign %d, want 3 and 1", got, foreign)
	}
	if s.Params().Remote != newPort.addr() {
		t.Fatalf("sending to %v, want the re-offered %v", s.Params().Remote, newPort.addr())
	}
}

// TestDigitsAreNotLoss: RFC 4733 packets take sequence numbers from the
// audio's; the audio that resumes after a digit has lost nothing. A real
// gap still counts, and a late packet does not move the sequence back.
func TestDigitsAreNotLoss(t *testing.T) {
	ports, err := NewPorts(loopback, 33000, 33999)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPeer(t, "127.0.0.1")
	s := newStream(t, ports, phone.addr(), codec.PCMU, 101)
	digits := make(chan byte, 4)
	audio := make(chan struct{}, 64)
	s.SetHandlers(Handlers{OnDigit: func(d byte) { digits <- d }, OnAudio: func(Audio) { audio <- struct{}{} }})
	to := netip.AddrPortFrom(loopback, uint16(s.LocalPort()))
	frame := make([]byte, FrameSamples)
	for range 5 {
		phone.send(t, to, 0, frame, false)
	}
	events, err := dtmf.Events('7', 10, 800, 160) // 12 packets or so
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		phone.send(t, to, 101, ev.Marshal(nil), i == 0)
	}
	for range 5 {
		phone.send(t, to, 0, frame, false)
	}
	phone.seq += 3 // three packets lost on the way
	phone.send(t, to, 0, frame, false)
	phone.seq -= 2 // and one of them arrives late
	phone.send(t, to, 0, frame, false)
	phone.seq++
	for range 11 + 1 {
		select {
		case <-audio:
		case <-time.After(2 * time.Second):
			t.Fatal("audio missing")
		}
	}
	<-digits
	if lost := s.Stats.Lost.Load(); lost != 3 {
		t.Errorf("lost %d, want 3 (the digit's %d packets are not loss)", lost, len(events))
	}
}
