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
	"github.com/callrec/callrec/internal/media/quality"
)

// FrameSamples is the number of 8 kHz samples in one 20 ms packet (and the
// RTP timestamp step of one 20 ms packet of every codec callrec speaks:
// G.722's RTP clock is 8000 Hz too, RFC 3551).
const FrameSamples = 160

// frameDuration is the packetisation interval.
const frameDuration = 20 * time.Millisecond

// Cipher protects a leg's packets (SRTP, RFC 3711); *srtp.Session is one.
// Encrypt methods are called under the stream's send lock, Decrypt methods
// from its receive goroutines.
type Cipher interface {
	EncryptRTP(dst, packet []byte) ([]byte, error)
	DecryptRTP(dst, packet []byte) ([]byte, error)
	EncryptRTCP(dst, packet []byte) ([]byte, error)
	DecryptRTCP(dst, packet []byte) ([]byte, error)
}

// Params are the negotiated media parameters of a leg.
type Params struct {
	// Remote is where the peer wants RTP (from its SDP).
	Remote netip.AddrPort
	// RemoteRTCP is where the peer wants RTCP (a=rtcp); zero means the
	// port after Remote's, or Remote itself with RTCPMux.
	RemoteRTCP netip.AddrPort
	// RTCPMux: RTP and RTCP share the RTP port (RFC 5761).
	RTCPMux bool
	// Codec and PayloadType are the negotiated audio codec.
	Codec       codec.Codec
	PayloadType uint8
	// TelephoneEvent is the RFC 4733 payload type, -1 when not negotiated
	// (then digits are detected in the audio, and sent as tones).
	TelephoneEvent int
	// OfferedTelephoneEvent is the RFC 4733 payload type of our own offer,
	// also accepted on receive: under RFC 3264 a peer sends with the payload
	// types of the SDP it received, even when its answer numbered
	// telephone-event differently. 0 means none (0 is PCMU, never an event).
	OfferedTelephoneEvent uint8
	// Cipher is the leg's SRTP session; nil for plain RTP. Keep the same
	// one across re-INVITEs that keep the keys: it holds the rollover
	// counters and the replay lists.
	Cipher Cipher
}

// Audio is one received packet's decoded audio.
type Audio struct {
	// PCM holds the samples at SampleRate (reused after the handler
	// returns).
	PCM []int16
	// SampleRate is the codec's: 8000 (G.711) or 16000 (G.722).
	SampleRate int
	// Timestamp and SSRC are the packet's RTP timestamp (at the 8 kHz RTP
	// clock) and source.
	Timestamp uint32
	SSRC      uint32
}

// Handlers receive what the leg's peer sends.
type Handlers struct {
	// OnAudio gets each packet's decoded audio.
	OnAudio func(a Audio)
	// OnDigit gets each digit once: an RFC 4733 event, or, on a leg that
	// negotiated no telephone-event, a tone detected in the audio.
	OnDigit func(digit byte)
}

// Stats counts packets.
type Stats struct {
	Received atomic.Uint64 // accepted RTP packets
	Lost     atomic.Uint64 // sequence gaps
	Foreign  atomic.Uint64 // packets from an unexpected source, dropped
	Invalid  atomic.Uint64 // unparsable or undecryptable packets, dropped
	Sent     atomic.Uint64
	RTCP     atomic.Uint64 // RTCP packets received
}

// Stream is the RTP endpoint of one call leg.
type Stream struct {
	socks Sockets
	log   *slog.Logger
	Stats Stats
	cname string

	// ctx ends with the stream (Close): digits forwarded in the
	// background stop with it.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	params     Params         // Remote: where we send (latched)
	declared   netip.AddrPort // the peer's address from its SDP
	latched    bool           // a packet from the peer fixed Remote
	exact      bool           // ... and it came from exactly declared
	rtcpRemote netip.AddrPort // where the peer's RTCP comes from, once it did

	// quality is the leg's RTCP state (set with the first parameters).
	quality atomic.Pointer[quality.Leg]
	// lastRecv is when the last RTP packet was accepted (UnixNano), 0
	// before the first.
	lastRecv atomic.Int64

	// send holds everything the sending side owns, under sendMu.
	sendMu sync.Mutex
	send   sender

	handlers atomic.Pointer[Handlers]
	peer     atomic.Pointer[Stream]
	prompts  atomic.Int32

	done     chan struct{}
	rtcpDone chan struct{}
}

// New wraps socks (from Ports.Listen) as a leg's media stream.
func New(socks Sockets, log *slog.Logger) *Stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stream{
		socks:    socks,
		log:      log,
		cname:    cname(),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		rtcpDone: make(chan struct{}),
	}
	s.send = newSender()
	return s
}

// cname is a random RTCP canonical name (RFC 7022: short-term
// persistent, not derived from any address).
func cname() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 16)
	for i := range b {
		b[i] = hex[rand.IntN(16)]
	}
	return string(b) + "@callrec"
}

// LocalPort is the RTP port of the stream.
func (s *Stream) LocalPort() int { return s.socks.RTP.LocalAddr().(*net.UDPAddr).Port }

// Sockets are the stream's sockets (for releasing them to Ports).
func (s *Stream) Sockets() Sockets { return s.socks }

// SetParams sets (or, on a re-INVITE, changes) the negotiated parameters.
func (s *Stream) SetParams(p Params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Remote != s.declared {
		// A new address or port (re-INVITE): latch again.
		s.declared = p.Remote
		s.latched, s.exact = false, false
		s.rtcpRemote = netip.AddrPort{}
	} else if s.latched {
		p.Remote = s.params.Remote // keep sending where the peer sends from
	}
	s.params = p
	if s.quality.Load() == nil && p.Codec.Valid() {
		s.quality.Store(quality.NewLeg(s.ssrc(), 8000, s.cname, p.Codec.Name()))
	}
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

// LastReceived is when the peer's last RTP packet arrived (zero before the
// first): the media timeout watches it.
func (s *Stream) LastReceived() time.Time {
	n := s.lastRecv.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Quality is the leg's call-quality summary so far; ok is false before
// the stream had parameters.
func (s *Stream) Quality() (sum quality.Summary, ok bool) {
	q := s.quality.Load()
	if q == nil {
		return quality.Summary{}, false
	}
	return q.Summary(), true
}

// Run reads RTP (and RTCP, on its own socket) until ctx ends or Close is
// called.
func (s *Stream) Run(ctx context.Context) {
	defer close(s.done)
	stop := context.AfterFunc(ctx, s.Close)
	defer stop()
	if s.socks.RTCP != nil {
		go s.runRTCP()
	} else {
		close(s.rtcpDone)
	}
	defer func() { <-s.rtcpDone }()
	buf := make([]byte, 1500)
	var rs recvState
	for {
		n, src, err := s.socks.RTP.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			continue
		}
		s.handle(&rs, src, buf[:n], time.Now())
	}
}

// recvState is the receive loop's scratch state.
type recvState struct {
	pkt      rtp.Packet
	plain    []byte
	pcm      []int16
	dtmf     dtmf.Receiver
	dec      codec.Decoder
	detector *dtmf.Detector
	detRate  int
	lastSeq  uint16
	haveSeq  bool
	// tones are the digits the detector found in the current packet.
	tones []byte
}

// isRTCP reports whether a datagram on a multiplexed port is RTCP: its
// second byte is an RTCP packet type, 192-223 (RFC 5761 section 4).
func isRTCP(data []byte) bool { return len(data) >= 2 && data[1] >= 192 && data[1] <= 223 }

// handle processes one datagram: source check, decryption, RTP parse,
// then digits or audio (to the handlers and the bridged peer). Bad input
// is counted and dropped.
func (s *Stream) handle(rs *recvState, src netip.AddrPort, data []byte, now time.Time) {
	if !s.accept(src) {
		s.Stats.Foreign.Add(1)
		return
	}
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if isRTCP(data) {
		s.handleRTCP(data, src, p, now)
		return
	}
	if p.Cipher != nil {
		plain, err := p.Cipher.DecryptRTP(rs.plain[:0], data)
		if err != nil {
			s.Stats.Invalid.Add(1)
			return
		}
		rs.plain, data = plain, plain
	}
	pkt := &rs.pkt
	if err := pkt.Unmarshal(data); err != nil || pkt.Version != 2 {
		s.Stats.Invalid.Add(1)
		return
	}
	s.Stats.Received.Add(1)
	s.lastRecv.Store(now.UnixNano())
	if q := s.quality.Load(); q != nil {
		q.Received(&pkt.Header, now)
	}
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
	h := s.handlers.Load()
	peer := s.peer.Load()
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
		if peer != nil {
			if !peer.forwardEvent(pkt.Timestamp, pkt.Payload) && ok {
				peer.ForwardDigit(digit) // the peer takes no events: a tone
			}
		}
	case pkt.PayloadType == p.PayloadType:
		if rs.dec == nil || rs.dec.Codec() != p.Codec {
			dec, err := codec.NewDecoder(p.Codec)
			if err != nil {
				s.Stats.Invalid.Add(1)
				return
			}
			rs.dec = dec
		}
		rs.pcm = rs.dec.Decode(rs.pcm[:0], pkt.Payload)
		if h != nil && h.OnAudio != nil {
			h.OnAudio(Audio{PCM: rs.pcm, SampleRate: p.Codec.SampleRate(), Timestamp: pkt.Timestamp, SSRC: pkt.SSRC})
		}
		if p.TelephoneEvent < 0 && p.OfferedTelephoneEvent == 0 {
			s.detectTones(rs, p.Codec.SampleRate(), h, peer)
		}
		if peer != nil && peer.prompts.Load() == 0 {
			peer.relay(p.Codec, pkt.Payload)
		}
	default:
		// Comfort noise and other payloads are ignored.
	}
}

// detectTones looks for in-band digits in the packet just decoded (a leg
// without telephone-event: a digit can only come this way, so it is never
// counted twice). The tones themselves reach the peer with the audio; a
// peer that takes RFC 4733 events gets the digit as one too.
func (s *Stream) detectTones(rs *recvState, rate int, h *Handlers, peer *Stream) {
	if rs.detector == nil || rs.detRate != rate {
		d, err := dtmf.NewDetector(rate)
		if err != nil {
			return
		}
		rs.detector, rs.detRate = d, rate
	}
	rs.tones = rs.tones[:0]
	rs.detector.Push(rs.pcm, func(d byte) { rs.tones = append(rs.tones, d) })
	for _, d := range rs.tones {
		if h != nil && h.OnDigit != nil {
			h.OnDigit(d)
		}
		if peer != nil && peer.Params().TelephoneEvent >= 0 {
			peer.ForwardDigit(d)
		}
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

// Close stops Run and everything the stream does in the background
// (closing the sockets is left to Ports.Release).
func (s *Stream) Close() {
	s.cancel()
	s.socks.RTP.SetReadDeadline(time.Unix(1, 0))
	if s.socks.RTCP != nil {
		s.socks.RTCP.SetReadDeadline(time.Unix(1, 0))
	}
}

// Done is closed when Run has returned.
func (s *Stream) Done() <-chan struct{} { return s.done }
