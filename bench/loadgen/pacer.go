package main

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/srtp"
)

// maxBurst is the most packets a stream sends on one tick to catch up
// after the generator was held up; packets further behind are skipped (the
// receiver sees them lost) rather than sent in a flood.
const maxBurst = 10

// outStream is the sending half of one call's media. Once added to a pacer
// it belongs to the pacer's goroutine until its removal is acknowledged.
type outStream struct {
	conn    *net.UDPConn
	dest    netip.AddrPort
	session *srtp.Session // nil for plain RTP
	tone    []byte        // looped, payloadBytes per packet
	header  rtp.Header

	start time.Time // when the first packet was due

	// Counts, read by the call once the pacer has let the stream go.
	sent, skipped, sendErrors int

	plain, wire []byte // reused packet buffers
}

// newOutStream returns a stream sending tone to dest from conn with the
// given payload type, encrypting with session when it is not nil.
func newOutStream(conn *net.UDPConn, dest netip.AddrPort, session *srtp.Session, payloadType uint8, tone []byte) *outStream {
	return &outStream{
		conn:    conn,
		dest:    dest,
		session: session,
		tone:    tone,
		header: rtp.Header{
			Version:        2,
			PayloadType:    payloadType,
			SequenceNumber: uint16(rand.Uint32()),
			Timestamp:      rand.Uint32(),
			SSRC:           rand.Uint32(),
		},
		plain: make([]byte, 0, 12+payloadBytes),
		wire:  make([]byte, 0, 12+payloadBytes+16),
	}
}

// packetsDue is how many packets a stream whose first packet was due at
// start should have sent by now: one at start, then one every
// packetInterval.
func packetsDue(start, now time.Time) int {
	if now.Before(start) {
		return 0
	}
	return int(now.Sub(start)/packetInterval) + 1
}

// sendDue sends the packets that are due at now, skipping all but the
// last maxBurst of them when the stream has fallen that far behind.
func (s *outStream) sendDue(now time.Time) {
	due := packetsDue(s.start, now)
	if behind := due - s.sent - s.skipped; behind > maxBurst {
		skip := behind - maxBurst
		s.skipped += skip
		s.header.SequenceNumber += uint16(skip)
		s.header.Timestamp += uint32(skip * samplesPerPacket)
	}
	for s.sent+s.skipped < due {
		s.sendOne()
	}
}

// sendOne sends the next packet of the tone and advances the RTP header.
func (s *outStream) sendOne() {
	n := s.sent + s.skipped
	s.header.Marker = n == 0
	at := (n * payloadBytes) % len(s.tone)
	pkt := rtp.Packet{Header: s.header, Payload: s.tone[at : at+payloadBytes]}
	s.sent++
	s.header.SequenceNumber++
	s.header.Timestamp += samplesPerPacket

	plain := s.plain[:pkt.MarshalSize()]
	if _, err := pkt.MarshalTo(plain); err != nil {
		s.sendErrors++
		return
	}
	wire := plain
	if s.session != nil {
		var err error
		if wire, err = s.session.EncryptRTP(s.wire[:0], plain); err != nil {
			s.sendErrors++
			return
		}
	}
	if _, err := s.conn.WriteToUDPAddrPort(wire, s.dest); err != nil {
		s.sendErrors++
	}
}

// pacer sends every active stream's packets from one goroutine on one
// shared tick, so a thousand calls cost one timer rather than a thousand.
type pacer struct {
	add    chan *outStream
	remove chan removal
}

// removal asks the pacer to let a stream go; done is closed once it has.
type removal struct {
	stream *outStream
	done   chan struct{}
}

// newPacer returns a pacer; run it with run.
func newPacer() *pacer {
	return &pacer{add: make(chan *outStream), remove: make(chan removal)}
}

// run sends the streams' packets until ctx ends, which must be after the
// last Stop. It owns every stream between its Start and its Stop.
func (p *pacer) run(ctx context.Context) {
	ticker := time.NewTicker(packetInterval)
	defer ticker.Stop()
	streams := map[*outStream]struct{}{}
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-p.add:
			s.start = time.Now()
			streams[s] = struct{}{}
			s.sendDue(s.start)
		case r := <-p.remove:
			delete(streams, r.stream)
			close(r.done)
		case now := <-ticker.C:
			for s := range streams {
				s.sendDue(now)
			}
		}
	}
}

// Start hands s to the pacer, which sends its first packet at once. The
// pacer must be running (its context not ended) until Stop returns.
func (p *pacer) Start(s *outStream) { p.add <- s }

// Stop takes s back from the pacer; after it returns, s's counts may be
// read.
func (p *pacer) Stop(s *outStream) {
	r := removal{stream: s, done: make(chan struct{})}
	p.remove <- r
	<-r.done
}
