package stream

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// reportEvery is the RTCP report interval (RFC 3550 section 6.2: 5 s is
// the recommended minimum for a two-party session), jittered per report
// by ±50 % as the RFC asks.
const reportEvery = 5 * time.Second

// runRTCP reads the RTCP socket until the stream closes.
func (s *Stream) runRTCP() {
	defer close(s.rtcpDone)
	buf := make([]byte, 1500)
	for {
		n, src, err := s.socks.RTCP.ReadFromUDPAddrPort(buf)
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
		if !s.acceptRTCP(src) {
			s.Stats.Foreign.Add(1)
			continue
		}
		s.mu.Lock()
		p := s.params
		s.mu.Unlock()
		s.handleRTCP(buf[:n], src, p, time.Now())
	}
}

// acceptRTCP takes RTCP from the IP address the peer's SDP named, any
// port (its RTCP port is often remapped by a NAT).
func (s *Stream) acceptRTCP(src netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.declared
	return want.IsValid() && !want.Addr().IsUnspecified() && src.Addr().Unmap() == want.Addr().Unmap()
}

// handleRTCP decrypts (SRTCP) and reads one RTCP compound packet, and
// remembers where it came from: our reports go back there.
func (s *Stream) handleRTCP(data []byte, src netip.AddrPort, p Params, now time.Time) {
	if p.Cipher != nil {
		plain, err := p.Cipher.DecryptRTCP(nil, data)
		if err != nil {
			s.Stats.Invalid.Add(1)
			return
		}
		data = plain
	}
	q := s.quality.Load()
	if q == nil {
		return
	}
	if err := q.HandleRTCP(data, now); err != nil {
		s.Stats.Invalid.Add(1)
		return
	}
	s.Stats.RTCP.Add(1)
	s.mu.Lock()
	s.rtcpRemote = src
	s.mu.Unlock()
}

// rtcpTarget is where our RTCP goes: where the peer's comes from, else
// its a=rtcp address, else (RFC 3550) the port after its RTP port; with
// rtcp-mux, where our RTP goes.
func (s *Stream) rtcpTarget() (netip.AddrPort, Params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params
	switch {
	case !p.Remote.IsValid() || p.Remote.Addr().IsUnspecified():
		return netip.AddrPort{}, p
	case p.RTCPMux:
		return p.Remote, p
	case s.rtcpRemote.IsValid():
		return s.rtcpRemote, p
	case p.RemoteRTCP.IsValid():
		return p.RemoteRTCP, p
	}
	return netip.AddrPortFrom(s.declared.Addr(), s.declared.Port()+1), p
}

// reportRTCP sends an RTCP report when one is due.
func (s *Stream) reportRTCP(now time.Time, jitter func() float64) {
	q := s.quality.Load()
	if q == nil {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	snd := &s.send
	if now.Before(snd.nextRTCP) {
		return
	}
	first := snd.nextRTCP.IsZero()
	snd.nextRTCP = now.Add(time.Duration(float64(reportEvery) * (0.5 + jitter())))
	if first {
		return // the first report after one interval
	}
	to, p := s.rtcpTarget()
	if !to.IsValid() {
		return
	}
	pkt, err := q.Report(now)
	if err != nil {
		return
	}
	if p.Cipher != nil {
		sealed, err := p.Cipher.EncryptRTCP(snd.rtcpBuf[:0], pkt)
		if err != nil {
			return
		}
		snd.rtcpBuf, pkt = sealed, sealed
	}
	conn := s.socks.RTCP
	if p.RTCPMux || conn == nil {
		conn = s.socks.RTP
	}
	_, _ = conn.WriteToUDPAddrPort(pkt, to)
}
