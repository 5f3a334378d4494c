package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/codec"
	"github.com/callrec/callrec/internal/media/dtmf"
)

// Who sent a stream's last packet: the keep-alive steps aside for
// everything else, and starts only when nothing else has sent for a while.
const (
	sentNothing = iota
	sentMedia   // relayed audio, prompts, digits
	sentKeepAlive
)

// keepAliveAfter is how long a leg may send nothing before callrec fills
// the silence with silence packets of its own (while it collects digits,
// between prompts, or while the bridged peer sends nothing), so that
// SBCs and NATs with media timeouts keep the call.
const keepAliveAfter = 100 * time.Millisecond

// maxKeepAliveBurst is the most keep-alive frames one tick sends to make
// up for ticks a loaded machine delivered late or dropped; further behind,
// the timestamp jumps instead.
const maxKeepAliveBurst = 5

// sender is the sending side's state, under Stream.sendMu.
type sender struct {
	ssrc   uint32
	seq    uint16
	ts     uint32
	marker bool
	buf    []byte // the packet being built
	sealed []byte // ... and encrypted
	out    []byte // transcoded or encoded payload
	pcm    []int16

	enc      codec.Encoder // for what callrec itself sends
	xcode    *codec.Transcoder
	xFrom    codec.Codec
	xTo      codec.Codec
	evtSrcTS uint32
	evtDstTS uint32
	evtOn    bool
	lastSent time.Time
	lastKind int
	// keepAliveDue is when the next keep-alive frame is due: one per
	// 20 ms since the keep-alive began, whenever the ticks come.
	keepAliveDue time.Time
	nextRTCP     time.Time
	rtcpBuf      []byte
}

func newSender() sender {
	return sender{
		ssrc:   rand.Uint32(),
		seq:    uint16(rand.Uint32()),
		ts:     rand.Uint32(),
		marker: true,
		buf:    make([]byte, 0, 1500),
	}
}

// ssrc is the stream's sending SSRC (fixed at New).
func (s *Stream) ssrc() uint32 { return s.send.ssrc }

// encoderLocked returns an encoder for p's codec.
func (s *Stream) encoderLocked(c codec.Codec) (codec.Encoder, error) {
	if s.send.enc == nil || s.send.enc.Codec() != c {
		enc, err := codec.NewEncoder(c)
		if err != nil {
			return nil, err
		}
		s.send.enc = enc
	}
	return s.send.enc, nil
}

// relay sends a payload received from the bridged peer, transcoded when
// the two legs speak different codecs.
func (s *Stream) relay(from codec.Codec, payload []byte) {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	out := payload
	if from != p.Codec {
		snd := &s.send
		if snd.xcode == nil || snd.xFrom != from || snd.xTo != p.Codec {
			x, err := codec.NewTranscoder(from, p.Codec)
			if err != nil {
				return
			}
			snd.xcode, snd.xFrom, snd.xTo = x, from, p.Codec
		}
		snd.out = snd.xcode.Transcode(snd.out[:0], payload)
		out = snd.out
	}
	// 20 ms of G.722 is 160 bytes as of G.711; both advance the 8 kHz
	// RTP clock by one sample per byte.
	s.writeLocked(p, p.PayloadType, out, uint32(len(out)), sentMedia)
}

// forwardEvent re-sends an RFC 4733 event from the bridged peer with this
// leg's payload type, sequence and timestamp. It reports false when this
// leg negotiated no telephone-event (the digit must reach it as a tone).
func (s *Stream) forwardEvent(srcTS uint32, payload []byte) bool {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if p.TelephoneEvent < 0 {
		return false
	}
	if len(payload) < 4 {
		return true
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	snd := &s.send
	if !snd.evtOn || srcTS != snd.evtSrcTS {
		snd.evtOn, snd.evtSrcTS, snd.evtDstTS = true, srcTS, snd.ts
		snd.marker = true
	}
	ts := snd.ts
	snd.ts = snd.evtDstTS
	s.writeLocked(p, uint8(p.TelephoneEvent), payload[:4], 0, sentMedia)
	snd.ts = ts
	return true
}

// writeLocked sends one packet and advances the timestamp by samples.
func (s *Stream) writeLocked(p Params, pt uint8, payload []byte, samples uint32, kind int) {
	if !p.Remote.IsValid() || p.Remote.Addr().IsUnspecified() {
		return
	}
	snd := &s.send
	h := rtp.Header{
		Version:        2,
		Marker:         snd.marker,
		PayloadType:    pt,
		SequenceNumber: snd.seq,
		Timestamp:      snd.ts,
		SSRC:           snd.ssrc,
	}
	snd.marker = false
	snd.seq++
	snd.ts += samples
	buf := snd.buf[:h.MarshalSize()]
	if _, err := h.MarshalTo(buf); err != nil {
		return
	}
	buf = append(buf, payload...)
	snd.buf = buf[:0]
	now := time.Now()
	snd.lastSent, snd.lastKind = now, kind
	if p.Cipher != nil {
		sealed, err := p.Cipher.EncryptRTP(snd.sealed[:0], buf)
		if err != nil {
			return
		}
		snd.sealed, buf = sealed, sealed
	}
	if _, err := s.socks.RTP.WriteToUDPAddrPort(buf, p.Remote); err == nil {
		s.Stats.Sent.Add(1)
		if q := s.quality.Load(); q != nil {
			q.Sent(&h, len(payload), now)
		}
	}
}

// frameLocked encodes one 20 ms frame of pcm for p's codec and sends it:
// 8 kHz pcm upsampled through up for a wideband codec, or, with up nil,
// pcm already at the codec's rate.
func (s *Stream) frameLocked(p Params, pcm []int16, up *codec.Upsampler, kind int) {
	enc, err := s.encoderLocked(p.Codec)
	if err != nil {
		return
	}
	snd := &s.send
	in := pcm
	if p.Codec.Wideband() && up != nil {
		snd.pcm = up.Up(snd.pcm[:0], pcm)
		in = snd.pcm
	}
	snd.out = enc.Encode(snd.out[:0], in)
	s.writeLocked(p, p.PayloadType, snd.out, FrameSamples, kind)
}

// Play sends pcm (8 kHz mono) paced in real time; while it plays, audio
// relayed from a bridged peer is held back so the prompt is heard clearly.
func (s *Stream) Play(ctx context.Context, pcm []int16) error {
	s.prompts.Add(1)
	defer s.prompts.Add(-1)
	s.sendMu.Lock()
	s.send.marker = true
	s.sendMu.Unlock()
	frame := make([]int16, FrameSamples)
	up := codec.NewUpsampler()
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
		s.sendMu.Lock()
		s.frameLocked(p, frame, up, sentMedia)
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

// errNoEvents: the leg negotiated no telephone-event.
var errNoEvents = errors.New("peer did not negotiate telephone-event")

// SendDigit sends one RFC 4733 digit (about 100 ms) to the peer.
func (s *Stream) SendDigit(ctx context.Context, digit byte) error {
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if p.TelephoneEvent < 0 {
		return errNoEvents
	}
	events, err := dtmf.Events(digit, 10, 800, FrameSamples)
	if err != nil {
		return err
	}
	s.prompts.Add(1)
	defer s.prompts.Add(-1)
	s.sendMu.Lock()
	s.send.marker = true
	s.sendMu.Unlock()
	var payload []byte
	for i, ev := range events {
		payload = ev.Marshal(payload[:0])
		s.sendMu.Lock()
		ts := s.send.ts
		s.writeLocked(p, uint8(p.TelephoneEvent), payload, 0, sentMedia)
		s.send.ts = ts
		if i == len(events)-1 {
			s.send.ts += uint32(ev.Duration)
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

// toneDuration is how long a digit forwarded as a tone sounds.
const toneDuration = 100 * time.Millisecond

// SendTone sends one digit as an in-band tone (for a leg without
// telephone-event).
func (s *Stream) SendTone(ctx context.Context, digit byte) error {
	tone, err := dtmf.Tone(nil, digit, 8000, toneDuration)
	if err != nil {
		return err
	}
	// A short pause after the tone, so that two digits are two presses.
	tone = append(tone, make([]int16, 8000*60/1000)...)
	return s.Play(ctx, tone)
}

// ForwardDigit sends a digit to the peer in the form it negotiated, in
// the background: an RFC 4733 event, else an in-band tone. It returns at
// once; the stream's end stops it.
func (s *Stream) ForwardDigit(digit byte) {
	go func() {
		if err := s.SendDigit(s.ctx, digit); errors.Is(err, errNoEvents) {
			_ = s.SendTone(s.ctx, digit)
		}
	}()
}

// keepAlive sends a silence frame when the leg has sent nothing else for
// keepAliveAfter, and then one per 20 ms while that lasts: a tick that
// comes late (the clock's ticker drops ticks its goroutine is too late
// for) sends the frames due since, up to maxKeepAliveBurst. The timestamp
// jumps over the gap, with the marker bit, as after silence suppression.
func (s *Stream) keepAlive(now time.Time) {
	if s.prompts.Load() > 0 {
		return
	}
	s.mu.Lock()
	p := s.params
	s.mu.Unlock()
	if !p.Codec.Valid() {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	snd := &s.send
	if snd.lastKind != sentKeepAlive {
		if now.Sub(snd.lastSent) < keepAliveAfter {
			return
		}
		if !snd.lastSent.IsZero() {
			if gap := now.Sub(snd.lastSent) - frameDuration; gap > 0 {
				snd.ts += uint32(gap / (time.Second / 8000))
			}
		}
		snd.marker = true
		snd.keepAliveDue = now
	}
	var silence [2 * FrameSamples]int16
	for n := 0; n < maxKeepAliveBurst && !snd.keepAliveDue.After(now); n++ {
		s.frameLocked(p, silence[:FrameSamples*p.Codec.SampleRate()/8000], nil, sentKeepAlive)
		snd.keepAliveDue = snd.keepAliveDue.Add(frameDuration)
	}
	if behind := now.Sub(snd.keepAliveDue); behind >= 0 {
		// Too far behind to make up: skip the rest, as after a gap.
		snd.ts += uint32(behind/frameDuration+1) * FrameSamples
		snd.keepAliveDue = now.Add(frameDuration)
		snd.marker = true
	}
}
