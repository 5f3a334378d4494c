package quality

import (
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Leg keeps one RTP leg's reception and sending statistics and its RTCP
// state (RFC 3550).
//
// A stream calls Received and HandleRTCP from its receive goroutine and Sent
// and Report from its send side; every method takes one internal mutex, so
// these calls (and Summary) may come from any goroutine.
type Leg struct {
	ssrc      uint32
	clockRate uint32
	cname     string
	codec     string

	mu sync.Mutex // guards everything below

	recv reception

	sending sendState
	peer    peerState
}

// sendState is what the sender reports tell about our own stream.
type sendState struct {
	packets         uint32
	octets          uint32
	lastTimestamp   uint32
	lastSentAt      time.Time
	sentSinceReport bool
}

// peerState is what the peer's RTCP told us.
type peerState struct {
	// lastSR is the middle 32 bits of the NTP timestamp of the peer's
	// latest sender report (RFC 3550 LSR), lastSRArrival when it came.
	haveSR        bool
	lastSR        uint32
	lastSRArrival time.Time
	packets       uint32
	octets        uint32

	haveRTT bool
	rttMS   float64

	haveRemote   bool
	remoteLoss   float64
	remoteJitter float64

	bye bool
}

// NewLeg returns the statistics of a leg that sends with SSRC ssrc. clockRate
// is the RTP clock of the leg's audio (8000 for G.711 and for G.722, whose
// RTP clock stays 8000), cname the CNAME our SDES items carry, and codec the
// codec's name ("PCMU", "PCMA", "G722") for the E-model's equipment
// impairment. A clockRate of zero is taken as 8000.
func NewLeg(ssrc uint32, clockRate uint32, cname string, codec string) *Leg {
	if clockRate == 0 {
		clockRate = 8000
	}
	return &Leg{
		ssrc:      ssrc,
		clockRate: clockRate,
		cname:     cname,
		codec:     codec,
		recv:      reception{clockRate: clockRate},
	}
}

// Received counts one received RTP packet by its header: RFC 3550 A.1
// sequence validation (a new source, or a restarted sequence, is on
// probation until two packets follow in order), A.3 loss and A.8
// interarrival jitter against arrival. A packet seen twice is counted as a
// duplicate, not as received again. A header with a new SSRC starts a new
// source, keeping what the old one counted. It does not allocate.
func (l *Leg) Received(h *rtp.Header, arrival time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := &l.recv
	if !r.heard || h.SSRC != r.ssrc {
		r.start(h.SSRC, h.SequenceNumber)
	}
	if r.updateSeq(h.SequenceNumber) {
		r.updateJitter(h.Timestamp, arrival)
	}
}

// Sent counts one RTP packet we sent, with payloadLen payload bytes, for
// the sender reports.
func (l *Leg) Sent(h *rtp.Header, payloadLen int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.sending
	s.packets++
	s.octets += uint32(payloadLen)
	s.lastTimestamp = h.Timestamp
	s.lastSentAt = at
	s.sentSinceReport = true
}

// Summary is what a leg measured, for the call's record and metrics.
type Summary struct {
	// PacketsReceived counts the valid packets received from the peer
	// (duplicates and packets on probation not included), PacketsExpected
	// the packets the sequence numbers say were sent, PacketsLost their
	// difference (never below zero), Duplicates the packets seen again.
	PacketsReceived, PacketsExpected, PacketsLost, Duplicates uint64
	// LossPercent is PacketsLost / PacketsExpected * 100: what we measured
	// on what the peer sent.
	LossPercent float64
	// JitterMS is the latest interarrival jitter (RFC 3550 A.8) in ms,
	// MaxJitterMS the largest it has been.
	JitterMS    float64
	MaxJitterMS float64
	// RTTMS is the latest round-trip time from RTCP in ms; HaveRTT says
	// whether one was measured (RTTMS is 0 when not).
	RTTMS   float64
	HaveRTT bool
	// RemoteLossPercent (from the fraction lost) and RemoteJitterMS are the
	// peer's latest report about our stream; HaveRemote says whether the
	// peer sent one.
	RemoteLossPercent float64
	RemoteJitterMS    float64
	HaveRemote        bool
	// PeerPacketsSent and PeerOctetsSent are the sender information of
	// the peer's latest sender report (0 before one came).
	PeerPacketsSent, PeerOctetsSent uint32
	// PeerSentBye says whether the peer's RTCP carried a BYE.
	PeerSentBye bool
	// RFactor and MOS are the E-model's score (see EModel) for LossPercent
	// and a one-way delay of DefaultOneWayDelayMS, or half RTTMS when known,
	// plus a jitter buffer of twice JitterMS and PacketisationMS.
	RFactor float64
	MOS     float64
}

// DefaultOneWayDelayMS is the network's one-way delay the E-model assumes
// when RTCP has measured no round-trip time.
const DefaultOneWayDelayMS = 40

// PacketisationMS is the audio one packet carries, added to the one-way
// delay the E-model scores.
const PacketisationMS = 20

// Summary returns what the leg has measured so far.
func (l *Leg) Summary() Summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := &l.recv
	expected, received := r.totals()
	s := Summary{
		PacketsReceived:   received,
		PacketsExpected:   expected,
		PacketsLost:       lost(expected, received),
		Duplicates:        r.duplicates,
		JitterMS:          l.timestampMS(r.jitter),
		MaxJitterMS:       l.timestampMS(r.maxJitter),
		RTTMS:             l.peer.rttMS,
		HaveRTT:           l.peer.haveRTT,
		RemoteLossPercent: l.peer.remoteLoss,
		RemoteJitterMS:    l.peer.remoteJitter,
		HaveRemote:        l.peer.haveRemote,
		PeerPacketsSent:   l.peer.packets,
		PeerOctetsSent:    l.peer.octets,
		PeerSentBye:       l.peer.bye,
	}
	if expected > 0 {
		s.LossPercent = float64(s.PacketsLost) / float64(expected) * 100
	}
	delay := float64(DefaultOneWayDelayMS)
	if s.HaveRTT {
		delay = s.RTTMS / 2
	}
	delay += 2*s.JitterMS + PacketisationMS
	s.RFactor, s.MOS = EModel(l.codec, delay, s.LossPercent)
	return s
}

// timestampMS converts RTP timestamp units to milliseconds.
func (l *Leg) timestampMS(units float64) float64 {
	return units * 1000 / float64(l.clockRate)
}
