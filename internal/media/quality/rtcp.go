package quality

import (
	"fmt"
	"time"

	"github.com/pion/rtcp"
)

// maxTotalLost is the largest cumulative loss a report block carries (24
// bits, signed).
const maxTotalLost = 0x7FFFFF

// HandleRTCP takes one RTCP compound packet that arrived at arrival. From a
// sender report it keeps the LSR and its arrival (for the DLSR of our next
// report) and the peer's packet and octet counts; from the report blocks of
// sender and receiver reports that are about our SSRC it takes the round
// trip time (arrival - LSR - DLSR, RFC 3550 6.4.1) and the peer's view of
// our loss and jitter; a BYE is noted. Other packet types are ignored. A
// datagram that is not RTCP is an error; nothing of it is taken then.
func (l *Leg) HandleRTCP(data []byte, arrival time.Time) error {
	packets, err := rtcp.Unmarshal(data)
	if err != nil {
		return fmt.Errorf("rtcp: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range packets {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if p.SSRC == l.ssrc {
				continue // our own report looped back
			}
			l.peer.haveSR = true
			l.peer.lastSR = uint32(p.NTPTime >> 16)
			l.peer.lastSRArrival = arrival
			l.peer.packets = p.PacketCount
			l.peer.octets = p.OctetCount
			l.takeBlocks(p.Reports, arrival)
		case *rtcp.ReceiverReport:
			if p.SSRC == l.ssrc {
				continue
			}
			l.takeBlocks(p.Reports, arrival)
		case *rtcp.Goodbye:
			for _, s := range p.Sources {
				if s != l.ssrc {
					l.peer.bye = true
				}
			}
		}
	}
	return nil
}

// takeBlocks reads the report blocks about our stream.
func (l *Leg) takeBlocks(blocks []rtcp.ReceptionReport, arrival time.Time) {
	for _, b := range blocks {
		if b.SSRC != l.ssrc {
			continue
		}
		l.peer.haveRemote = true
		l.peer.remoteLoss = float64(b.FractionLost) / 256 * 100
		l.peer.remoteJitter = l.timestampMS(float64(b.Jitter))
		if b.LastSenderReport == 0 {
			continue // the peer has had no sender report from us yet
		}
		rtt := ntpShort(arrival) - b.LastSenderReport - b.Delay
		if int32(rtt) < 0 {
			continue // clocks or a forged block say the reply came first
		}
		l.peer.haveRTT = true
		l.peer.rttMS = shortMS(rtt)
	}
}

// Report returns the RTCP compound packet to send at now: a sender report
// if we sent RTP since the last report, else a receiver report, with one
// report block about the peer's SSRC once we have heard the peer, then an
// SDES chunk with our CNAME. It starts a new loss interval.
func (l *Leg) Report(now time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var blocks []rtcp.ReceptionReport
	if l.recv.heard {
		blocks = []rtcp.ReceptionReport{l.block(now)}
	}
	var first rtcp.Packet
	s := &l.sending
	if s.sentSinceReport {
		first = &rtcp.SenderReport{
			SSRC:        l.ssrc,
			NTPTime:     ntpTime(now),
			RTPTime:     s.lastTimestamp + l.timestampUnits(now.Sub(s.lastSentAt)),
			PacketCount: s.packets,
			OctetCount:  s.octets,
			Reports:     blocks,
		}
		s.sentSinceReport = false
	} else {
		first = &rtcp.ReceiverReport{SSRC: l.ssrc, Reports: blocks}
	}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: l.ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: l.cname}},
	}}}
	data, err := rtcp.Marshal([]rtcp.Packet{first, sdes})
	if err != nil {
		return nil, fmt.Errorf("rtcp report: %w", err)
	}
	return data, nil
}

// block is the reception report about the peer's stream at now.
func (l *Leg) block(now time.Time) rtcp.ReceptionReport {
	r := &l.recv
	expected, received := r.totals()
	b := rtcp.ReceptionReport{
		SSRC:               r.ssrc,
		FractionLost:       r.interval(),
		TotalLost:          uint32(min(lost(expected, received), maxTotalLost)),
		LastSequenceNumber: r.extendedMax(),
		Jitter:             uint32(r.jitter),
	}
	if l.peer.haveSR {
		b.LastSenderReport = l.peer.lastSR
		b.Delay = durationShort(now.Sub(l.peer.lastSRArrival))
	}
	return b
}

// timestampUnits converts a duration to RTP timestamp units; negative
// durations are zero.
func (l *Leg) timestampUnits(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(int64(d/time.Second)*int64(l.clockRate) +
		int64(d%time.Second)*int64(l.clockRate)/int64(time.Second))
}
