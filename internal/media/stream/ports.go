// Package stream is one RTP endpoint of a call leg: a UDP socket from the
// configured port range, symmetric RTP, G.711 decode/encode, RFC 4733 digits
// in and out, prompt playback and relaying to a bridged peer.
package stream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Ports hands out even RTP ports from a range, round-robin so a port just
// released is not reused at once (late packets of the old call).
type Ports struct {
	addr     netip.Addr
	min, max int

	mu    sync.Mutex
	next  int
	inUse map[int]bool
}

// NewPorts serves even ports in [min, max] on addr.
func NewPorts(addr netip.Addr, min, max int) (*Ports, error) {
	if min <= 0 || max > 65535 || max < min+1 {
		return nil, fmt.Errorf("rtp port range %d-%d is invalid", min, max)
	}
	if min%2 == 1 {
		min++
	}
	return &Ports{addr: addr, min: min, max: max, next: min, inUse: map[int]bool{}}, nil
}

// ErrNoPorts is returned when every port of the range is taken.
var ErrNoPorts = errors.New("no free RTP port in sip.rtp_ports; widen the range")

// Listen binds a UDP socket on the next free even port.
func (p *Ports) Listen() (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := (p.max-p.min)/2 + 1
	for i := 0; i < n; i++ {
		port := p.next
		p.next += 2
		if p.next > p.max {
			p.next = p.min
		}
		if p.inUse[port] {
			continue
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.addr, uint16(port))))
		if err != nil {
			continue // taken by another process
		}
		p.inUse[port] = true
		return conn, nil
	}
	return nil, ErrNoPorts
}

// Release returns conn's port to the pool and closes conn.
func (p *Ports) Release(conn *net.UDPConn) {
	port := conn.LocalAddr().(*net.UDPAddr).Port
	conn.Close()
	p.mu.Lock()
	delete(p.inUse, port)
	p.mu.Unlock()
}
