package quality

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const ourSSRC = 0xCA11AEC0

func mustMarshal(t testing.TB, packets ...rtcp.Packet) []byte {
	t.Helper()
	data, err := rtcp.Marshal(packets)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func unmarshalReport(t *testing.T, data []byte) []rtcp.Packet {
	t.Helper()
	packets, err := rtcp.Unmarshal(data)
	if err != nil {
		t.Fatalf("our report does not parse: %v", err)
	}
	if len(packets) != 2 {
		t.Fatalf("report has %d packets, want 2", len(packets))
	}
	sdes, ok := packets[1].(*rtcp.SourceDescription)
	if !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Source != ourSSRC ||
		len(sdes.Chunks[0].Items) != 1 || sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME ||
		sdes.Chunks[0].Items[0].Text != "leg@callrec" {
		t.Fatalf("second packet is not our CNAME: %#v", packets[1])
	}
	return packets
}

func TestReportBeforeAnythingIsAnEmptyRR(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	data, err := l.Report(t0())
	if err != nil {
		t.Fatal(err)
	}
	packets := unmarshalReport(t, data)
	rr, ok := packets[0].(*rtcp.ReceiverReport)
	if !ok || rr.SSRC != ourSSRC || len(rr.Reports) != 0 {
		t.Fatalf("first packet %#v, want an RR without blocks", packets[0])
	}
}

func TestReportIsSRAfterSendingWithABlockAboutThePeer(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	// We receive 1001 packets, every tenth lost, and send 50 of 160 bytes.
	feed(l, 40000, 0, t0(), 1001, func(i int) bool { return i%10 == 5 })
	for i := range 50 {
		h := &rtp.Header{SSRC: ourSSRC, SequenceNumber: uint16(i), Timestamp: 1000 + uint32(i)*160}
		l.Sent(h, 160, t0().Add(time.Duration(i)*20*time.Millisecond))
	}
	now := t0().Add(49*20*time.Millisecond + 10*time.Millisecond)
	data, err := l.Report(now)
	if err != nil {
		t.Fatal(err)
	}
	packets := unmarshalReport(t, data)
	sr, ok := packets[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("first packet %T, want a sender report", packets[0])
	}
	if sr.SSRC != ourSSRC || sr.PacketCount != 50 || sr.OctetCount != 50*160 {
		t.Fatalf("sender info %+v", sr)
	}
	if sr.NTPTime != ntpTime(now) {
		t.Fatalf("NTP time %x, want %x", sr.NTPTime, ntpTime(now))
	}
	if want := uint32(1000 + 49*160 + 80); sr.RTPTime != want {
		t.Fatalf("RTP time %d, want %d (last timestamp + 10 ms)", sr.RTPTime, want)
	}
	if len(sr.Reports) != 1 {
		t.Fatalf("%d report blocks, want 1", len(sr.Reports))
	}
	b := sr.Reports[0]
	if b.SSRC != peerSSRC || b.TotalLost != 100 || b.FractionLost != 25 ||
		b.LastSequenceNumber != 40000+1000 || b.LastSenderReport != 0 || b.Delay != 0 {
		t.Fatalf("block %+v", b)
	}

	// Nothing sent since: the next report is an RR, and its interval saw
	// no loss.
	feed(l, uint16(40000+1001), 1001*160, now, 10, nil)
	data, err = l.Report(now.Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	packets = unmarshalReport(t, data)
	rr, ok := packets[0].(*rtcp.ReceiverReport)
	if !ok || len(rr.Reports) != 1 {
		t.Fatalf("second report %#v, want an RR with one block", packets[0])
	}
	if rr.Reports[0].FractionLost != 0 || rr.Reports[0].TotalLost != 100 {
		t.Fatalf("second block %+v, want fraction 0 total 100", rr.Reports[0])
	}
}

func TestRTTFromSRAndTheirRR(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	l.Sent(&rtp.Header{SSRC: ourSSRC, Timestamp: 0}, 160, t0())
	sentAt := t0().Add(time.Second)
	data, err := l.Report(sentAt)
	if err != nil {
		t.Fatal(err)
	}
	sr := unmarshalReport(t, data)[0].(*rtcp.SenderReport)

	// The peer holds our SR for 500 ms before answering; the network adds
	// 60 ms each way, so the RR comes back 620 ms after we sent the SR.
	rr := &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{
		SSRC:             ourSSRC,
		FractionLost:     64, // 25 %
		Jitter:           240,
		LastSenderReport: uint32(sr.NTPTime >> 16),
		Delay:            durationShort(500 * time.Millisecond),
	}}}
	if err := l.HandleRTCP(mustMarshal(t, rr), sentAt.Add(620*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	s := l.Summary()
	if !s.HaveRTT || !near(s.RTTMS, 120, 0.05) {
		t.Fatalf("RTT %v (have %v), want 120 ms", s.RTTMS, s.HaveRTT)
	}
	if !s.HaveRemote || s.RemoteLossPercent != 25 || s.RemoteJitterMS != 30 {
		t.Fatalf("remote loss %v jitter %v (have %v), want 25 %% and 30 ms", s.RemoteLossPercent, s.RemoteJitterMS, s.HaveRemote)
	}
	wantR, _ := EModel("PCMU", 60+PacketisationMS, 0)
	if !near(s.RFactor, wantR, 0.01) {
		t.Fatalf("R %v, want %v (half the RTT as delay)", s.RFactor, wantR)
	}
}

func TestPeerSREchoedInOurBlock(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	feed(l, 1, 0, t0(), 11, nil)
	peerNTP := uint64(0x1122334455667788)
	sr := &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: peerNTP, RTPTime: 1600, PacketCount: 11, OctetCount: 1760}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: peerSSRC, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer"}},
	}}}
	arrival := t0().Add(300 * time.Millisecond)
	if err := l.HandleRTCP(mustMarshal(t, sr, sdes), arrival); err != nil {
		t.Fatal(err)
	}
	data, err := l.Report(arrival.Add(250 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	b := unmarshalReport(t, data)[0].(*rtcp.ReceiverReport).Reports[0]
	if b.LastSenderReport != 0x33445566 {
		t.Fatalf("LSR %x, want 33445566", b.LastSenderReport)
	}
	if b.Delay != 250*65536/1000 {
		t.Fatalf("DLSR %d, want %d", b.Delay, 250*65536/1000)
	}
	s := l.Summary()
	if s.HaveRTT || s.HaveRemote {
		t.Fatalf("an SR without blocks about us gave RTT or remote figures: %+v", s)
	}
	if s.PeerPacketsSent != 11 || s.PeerOctetsSent != 1760 {
		t.Fatalf("peer sender info %d/%d, want 11/1760", s.PeerPacketsSent, s.PeerOctetsSent)
	}
}

func TestBlocksAboutOthersAndOurEchoIgnored(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	rr := &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{SSRC: 42, FractionLost: 128}}}
	own := &rtcp.ReceiverReport{SSRC: ourSSRC, Reports: []rtcp.ReceptionReport{{SSRC: ourSSRC, FractionLost: 128}}}
	if err := l.HandleRTCP(mustMarshal(t, rr, own), t0()); err != nil {
		t.Fatal(err)
	}
	if s := l.Summary(); s.HaveRemote {
		t.Fatalf("took a block not about us: %+v", s)
	}
}

func TestByeNoted(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	rr := &rtcp.ReceiverReport{SSRC: peerSSRC}
	bye := &rtcp.Goodbye{Sources: []uint32{peerSSRC}, Reason: "hangup"}
	if err := l.HandleRTCP(mustMarshal(t, rr, bye), t0()); err != nil {
		t.Fatal(err)
	}
	if !l.Summary().PeerSentBye {
		t.Fatal("BYE not noted")
	}
}

func TestHandleRTCPRejectsGarbage(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	for _, data := range [][]byte{nil, {0x80}, []byte("not rtcp at all"), {0x80, 0xC9, 0x00, 0x09, 1, 2, 3, 4}} {
		if err := l.HandleRTCP(data, t0()); err == nil {
			t.Errorf("HandleRTCP(%x) accepted garbage", data)
		}
	}
	if err := l.HandleRTCP([]byte("x"), t0()); err == nil || errors.Unwrap(err) == nil {
		t.Errorf("error %v does not wrap the parser's", err)
	}
}

// seedCompounds are real compound packets: SR+SDES, RR+SDES+BYE, an SR with
// blocks, and an empty RR.
func seedCompounds(t testing.TB) [][]byte {
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: peerSSRC, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer@host"}},
	}}}
	block := rtcp.ReceptionReport{SSRC: ourSSRC, FractionLost: 3, TotalLost: 9, LastSequenceNumber: 70000, Jitter: 40, LastSenderReport: 0xABCD0000, Delay: 1000}
	return [][]byte{
		mustMarshal(t, &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: 0xE0000000_80000000, RTPTime: 8000, PacketCount: 50, OctetCount: 8000}, sdes),
		mustMarshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{block}}, sdes, &rtcp.Goodbye{Sources: []uint32{peerSSRC}}),
		mustMarshal(t, &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: 1, Reports: []rtcp.ReceptionReport{block, block}}),
		mustMarshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC}),
	}
}

func FuzzHandleRTCP(f *testing.F) {
	for _, seed := range seedCompounds(f) {
		f.Add(seed)
	}
	f.Add([]byte{0x80, 0xC8, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
		l.Sent(&rtp.Header{SSRC: ourSSRC}, 160, t0())
		if _, err := l.Report(t0()); err != nil {
			t.Fatal(err)
		}
		_ = l.HandleRTCP(data, t0().Add(time.Second))
		s := l.Summary()
		if s.RTTMS < 0 || s.RemoteLossPercent < 0 || s.RemoteLossPercent > 100 || s.MOS < 1 || s.MOS > 4.5 {
			t.Fatalf("summary out of range after %x: %+v", data, s)
		}
		if _, err := l.Report(t0().Add(2 * time.Second)); err != nil {
			t.Fatalf("report after %x: %v", data, err)
		}
	})
}

// TestConcurrentUse drives a leg as a stream does, receive side and send
// side on their own goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	l := NewLeg(ourSSRC, 8000, "leg@callrec", "PCMU")
	rr := mustMarshal(t, &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{SSRC: ourSSRC, FractionLost: 1}}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			at := t0().Add(time.Duration(i) * 20 * time.Millisecond)
			l.Received(packet(uint16(i), uint32(i)*160), at)
			if i%250 == 0 {
				if err := l.HandleRTCP(rr, at); err != nil {
					t.Error(err)
				}
			}
		}
	}()
	for i := range 2000 {
		at := t0().Add(time.Duration(i) * 20 * time.Millisecond)
		l.Sent(&rtp.Header{SSRC: ourSSRC, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160}, 160, at)
		if i%250 == 0 {
			if _, err := l.Report(at); err != nil {
				t.Fatal(err)
			}
			_ = l.Summary()
		}
	}
	<-done
	if s := l.Summary(); s.PacketsReceived != 1999 || !s.HaveRemote {
		t.Fatalf("after concurrent use: %+v", s)
	}
}
