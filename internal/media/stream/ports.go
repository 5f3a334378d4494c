// Package stream is one RTP endpoint of a call leg: a UDP socket pair from
// the configured port range, symmetric RTP, decoding and encoding (G.711,
// G.722), SRTP when the leg negotiated it, RFC 4733 and in-band digits in
// and out, RTCP with quality figures, prompt playback, keep-alive silence
// and relaying to a bridged peer.
package stream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Sockets are one leg's RTP socket, on an even port, and its RTCP socket
// on the next (odd) port (RFC 3550 section 11).
type Sockets struct {
	RTP, RTCP *net.UDPConn
}

// Ports hands out RTP/RTCP port pairs from a range, round-robin so a pair
// just released is not reused at once (late packets of the old call).
type Ports struct {
	addr     netip.Addr
	min, max int

	mu    sync.Mutex
	next  int
	inUse map[int]bool
}

// NewPorts serves port pairs (even RTP port, odd RTCP port) in [min, max]
// on addr.
func NewPorts(addr netip.Addr, min, max int) (*Ports, error) {
	if min <= 0 || max > 65535 || max < min+1 {
		return nil, fmt.Errorf("rtp port range %d-%d is invalid", min, max)
	}
	if min%2 == 1 {
		min++
	}
	if max < min+1 {
		return nil, fmt.Errorf("rtp port range %d-%d holds no even/odd port pair", min, max)
	}
	return &Ports{addr: addr, min: min, max: max, next: min, inUse: map[int]bool{}}, nil
}

// ErrNoPorts is returned when every port pair of the range is taken.
var ErrNoPorts = errors.New("no free RTP port in sip.rtp_ports; widen the range")

// Listen binds the next free pair: RTP on an even port, RTCP on the odd
// port after it.
func (p *Ports) Listen() (Sockets, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (p.max-p.min+1)/2 + 1
	for i := 0; i < n; i++ {
		port := p.next
		p.next += 2
		if p.next+1 > p.max {
			p.next = p.min
		}
		if p.inUse[port] || port+1 > p.max {
			continue
		}
		rtpConn, err := p.bind(port)
		if err != nil {
			continue // taken by another process
		}
		rtcpConn, err := p.bind(port + 1)
		if err != nil {
			rtpConn.Close()
			continue
		}
		p.inUse[port] = true
		return Sockets{RTP: rtpConn, RTCP: rtcpConn}, nil
	}
	return Sockets{}, ErrNoPorts
}

func (p *Ports) bind(port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.addr, uint16(port))))
}

// Release returns the pair to the pool and closes its sockets.
func (p *Ports) Release(s Sockets) {
	if s.RTP == nil {
		return
	}
	port := s.RTP.LocalAddr().(*net.UDPAddr).Port
	s.RTP.Close()
	if s.RTCP != nil {
		s.RTCP.Close()
	}
	p.mu.Lock()
	delete(p.inUse, port)
	p.mu.Unlock()
}
