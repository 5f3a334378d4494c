package stream

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/dtmf"
)

// FrameSamples is the number of 8 kHz samples in one 20 ms packet.
const FrameSamples = 160

// frameDuration is the packetisation interval.
const frameDuration = 20 * time.Millisecond

// Params are the negotiated media parameters of a leg.
type Params struct {
	// Remote is where the peer wants RTP (from its SDP).
	Remote netip.AddrPort
	// Codec and PayloadType are the negotiated audio codec.
	Codec       codec.Codec
	PayloadType uint8
	// TelephoneEvent is the RFC 4733 payload type, -1 when not negotiated.
	TelephoneEvent int
	// OfferedTelephoneEvent is the RFC 4733 payload type of our own offer,
	// also accepted on receive: under RFC 3264 a peer sends with the payload
	// types of the SDP it received, even when its answer numbered
	// telephone-event differently. 0 means none (0 is PCMU, never an event).
	OfferedTelephoneEvent uint8
}

// Handlers receive what the leg's peer sends.
type Handlers struct {
	// OnAudio gets each packet's decoded 8 kHz samples (the slice is
	// reused after the call returns).
	OnAudio func(pcm []int16)
	// OnDigit gets each RFC 4733 digit once.
	OnDigit func(digit byte)
}

// Stats counts packets.
type Stats struct {
	Received atomic.Uint64 // accepted RTP packets
	Lost     atomic.Uint64 // sequence gaps
	Foreign  atomic.Uint64 // packets from an unexpected source, dropped
	Invalid  atomic.Uint64 // unparsable packets, dropped
	Sent     atomic.Uint64
}

// Stream is the RTP endpoint of one call leg.
type Stream struct {
	conn  *net.UDPConn
	log   *slog.Logger
	Stats Stats

	mu       sync.Mutex
	params   Params         // Remote: where we send (latched)
	declared netip.AddrPort // the peer's address from its SDP
	latched  bool           // a packet from the peer fixed Remote
	exact    bool           // ... and it came from exactly declared

	sendMu   sync.Mutex
	ssrc     uint32
	seq      uint16
	ts       uint32
	marker   bool
	sendBuf  []byte
	pcmOut   []byte
	evtSrcTS uint32
	evtDstTS uint32
	evtOn    bool

	handlers atomic.Pointer[Handlers]
	peer     atomic.Pointer[Stream]
	prompts  atomic.Int32

	done chan struct{}
}

// New wraps conn (from Ports.Listen) as a leg's media stream.
func New(conn *net.UDPConn, log *slog.Logger) *Stream {
	return &Stream{
		conn:    conn,
		log:     log,
		ssrc:    rand.Uint32(),
		seq:     uint16(rand.Uint32()),
		ts:      rand.Uint32(),
		marker:  true,
		sendBuf: make([]byte, 0, 1500),
		done:    make(chan struct{}),
	}
}

// LocalPort is the RTP port of the stream.
func (s *Stream) LocalPort() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// Conn is the stream's socket (for releasing it to Ports).
func (s *Stream) Conn() *net.UDPConn { return s.conn }

// SetParams sets (or, on a re-INVITE, changes) the negotiated parameters.
func (s *Stream) SetParams(p Params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Remote != s.declared {
		// A new address or port (re-INVITE): latch again.
		s.declared = p.Remote
		s.latched, s.exact = false, false
	} else if s.latched {
		p.Remote = s.params.Remote // keep sending where the peer sends from
	}
	s.params = p
}

// Params returns the current parameters.
func (s *Stream) Params() Params {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// SetHandlers installs the receive callbacks.
func (s *Stream) SetHandlers(h Handlers) { s.handlers.Store(&h) }

// Bridge relays this stream's received audio and digits to peer (one
// direction; call it on both streams for a two-way bridge). nil unbridges.
func (s *Stream) Bridge(peer *Stream) { s.peer.Store(peer) }

// Run reads RTP until ctx ends or the socket is closed.
func (s *Stream) Run(ctx context.Context) {
	defer close(s.done)
	stop := context.AfterFunc(ctx, func() { s.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 1500)
	var rs recvState
	for {
		n, src, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			continue
		}
		s.handle(&rs, src, buf[:n])
	}
}

// recvState is the receive loop's scratch state.
type recvState struct {
	pkt     rtp.Packet
	pcm     []int16
	dtmf    dtmf.Receiver
	lastSeq uint16
	haveSeq bool
}

// handle processes one datagram: source check, RTP parse, then digits or
// audio (to the handlers and the bridged peer). Bad input is counted and
// dropped.
func (s *Stream) handle(rs *recvState, src netip.AddrPort, data []byte) {
	if !s.accept(src) {
		s.Stats.Foreign.Add(1)
		return
	}
	pkt := &rs.pkt
	if err := pkt.Unmarshal(data); err != nil || pkt.Version != 2 {
		s.Stats.Invalid.Add(1)
		return
	}
	s.Stats.Received.Add(1)
	// Audio, RFC 4733 events and comfort noise share one sequence: a gap
	// in it, whatever the payload, is what was lost.
	if rs.haveSeq {
		if gap := pkt.SequenceNumber - rs.lastSeq; gap > 1 && gap < 1000 {
			s.Stats.Lost.Add(uint64(gap - 1))
		}
	}
	if gap := pkt.SequenceNumber - rs.lastSeq; !rs.haveSeq || gap > 0 && gap < 1000 {
		rs.lastSeq, rs.haveSeq = pkt.SequenceNumber, true
	}
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	h := s.handlers.Load()
	switch {
	case p.TelephoneEvent >= 0 && int(pkt.PayloadType) == p.TelephoneEvent,
		p.OfferedTelephoneEvent != 0 && pkt.PayloadType == p.OfferedTelephoneEvent:
		digit, ok, err := rs.dtmf.Push(pkt.Timestamp, pkt.Payload)
		if err != nil {
			s.Stats.Invalid.Add(1)
			return
		}
		if ok && h != nil && h.OnDigit != nil {
			h.OnDigit(digit)
		}
		if peer := s.peer.Load(); peer != nil {
			peer.forwardEvent(pkt.Timestamp, pkt.Payload)
		}
	case pkt.PayloadType == p.PayloadType:
		rs.pcm = p.Codec.Decode(rs.pcm[:0], pkt.Payload)
		if h != nil && h.OnAudio != nil {
			h.OnAudio(rs.pcm)
		}
		if peer := s.peer.Load(); peer != nil && peer.prompts.Load() == 0 {
			peer.relay(p.Codec, pkt.Payload)
		}
	default:
		// Comfort noise and other payloads are ignored.
	}
}

// accept implements symmetric RTP: packets must come from the IP address
// the peer's SDP named. Packets from exactly the SDP's address and port are
// always taken (and we send there); until then the first packet from
// another port of that IP fixes where we send (a peer behind NAT), and
// other ports are dropped.
func (s *Stream) accept(src netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.declared
	if !want.IsValid() || want.Addr().IsUnspecified() {
		return false
	}
	if src.Addr().Unmap() != want.Addr().Unmap() {
		return false
	}
	switch {
	case src == want:
		s.latched, s.exact = true, true
		s.params.Remote = src
		return true
	case !s.latched:
		s.latched = true
		s.params.Remote = src
		return true
	}
	return !s.exact && src == s.params.Remote
}

// Close stops Run (closing the socket is left to Ports.Release).
func (s *Stream) Close() {
	s.conn.SetReadDeadline(time.Unix(1, 0))
}

// Done is closed when Run has returned.
func (s *Stream) Done() <-chan struct{} { return s.done }

// relay sends a payload received from the bridged peer.
func (s *Stream) relay(from codec.Codec, payload []byte) {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out := payload
	if from != p.Codec {
		s.pcmOut = codec.Transcode(s.pcmOut[:0], from, p.Codec, payload)
		out = s.pcmOut
	}
	s.writeLocked(p, p.PayloadType, out, uint32(len(out)))
}

// forwardEvent re-sends an RFC 4733 event from the bridged peer with this
// leg's payload type, sequence and timestamp.
func (s *Stream) forwardEvent(srcTS uint32, payload []byte) {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if p.TelephoneEvent < 0 || len(payload) < 4 {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if !s.evtOn || srcTS != s.evtSrcTS {
		s.evtOn, s.evtSrcTS, s.evtDstTS = true, srcTS, s.ts
		s.marker = true
	}
	ts := s.ts
	s.ts = s.evtDstTS
	s.writeLocked(p, uint8(p.TelephoneEvent), payload[:4], 0)
	s.ts = ts
}

// writeLocked sends one packet and advances the timestamp by samples.
func (s *Stream) writeLocked(p Params, pt uint8, payload []byte, samples uint32) {
	if !p.Remote.IsValid() || p.Remote.Addr().IsUnspecified() {
		return
	}
	h := rtp.Header{
		Version:        2,
		Marker:         s.marker,
		PayloadType:    pt,
		SequenceNumber: s.seq,
		Timestamp:      s.ts,
		SSRC:           s.ssrc,
	}
	s.marker = false
	s.seq++
	s.ts += samples
	buf := s.sendBuf[:h.MarshalSize()]
	if _, err := h.MarshalTo(buf); err != nil {
		return
	}
	buf = append(buf, payload...)
	s.sendBuf = buf[:0]
	if _, err := s.conn.WriteToUDPAddrPort(buf, p.Remote); err == nil {
		s.Stats.Sent.Add(1)
	}
}

// Play sends pcm (8 kHz mono) paced in real time; while it plays, audio
// relayed from a bridged peer is held back so the prompt is heard clearly.
func (s *Stream) Play(ctx context.Context, pcm []int16) error {
	s.prompts.Add(1)
	defer s.prompts.Add(-1)
	s.sendMu.Lock()
	s.marker = true
	s.sendMu.Unlock()
	frame := make([]int16, FrameSamples)
	var payload []byte
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i*FrameSamples < len(pcm); i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		chunk := pcm[i*FrameSamples:]
		if len(chunk) > FrameSamples {
			chunk = chunk[:FrameSamples]
		}
		n := copy(frame, chunk)
		clear(frame[n:])
		s.mu.Lock()
		p := s.params
		s.mu.Unlock()
		payload = p.Codec.Encode(payload[:0], frame)
		s.sendMu.Lock()
		s.writeLocked(p, p.PayloadType, payload, FrameSamples)
		s.sendMu.Unlock()
		timer.Reset(time.Until(start.Add(time.Duration(i+1) * frameDuration)))
	}
	// Let the last packet play out before the caller moves on.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	return nil
}

// SendDigit sends one RFC 4733 digit (about 100 ms) to the peer.
func (s *Stream) SendDigit(ctx context.Context, digit byte) error {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if p.TelephoneEvent < 0 {
		return errors.New("peer did not negotiate telephone-event")
	}
	events, err := dtmf.Events(digit, 10, 800, FrameSamples)
	if err != nil {
		return err
	}
	s.prompts.Add(1)
	defer s.prompts.Add(-1)
	s.sendMu.Lock()
	s.marker = true
	s.sendMu.Unlock()
	var payload []byte
	for i, ev := range events {
		payload = ev.Marshal(payload[:0])
		s.sendMu.Lock()
		ts := s.ts
		s.writeLocked(p, uint8(p.TelephoneEvent), payload, 0)
		s.ts = ts
		if i == len(events)-1 {
			s.ts += uint32(ev.Duration)
		}
		s.sendMu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(frameDuration):
		}
	}
	return nil
}
