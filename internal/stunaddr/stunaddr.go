// Package stunaddr discovers the public address a UDP socket is seen at
// from outside a NAT, with one STUN Binding request (RFC 8489) sent from
// that socket, so that what callrec advertises in SIP and SDP is the
// address the NAT maps the socket to.
package stunaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v3"
)

// Retransmission schedule of the Binding request over UDP: the first wait
// and the number of tries (each wait doubles), as RFC 8489 §6.2.1 advises
// in shorter form for a start-up check.
const (
	firstWait = 500 * time.Millisecond
	tries     = 4
)

// maxResponse bounds a STUN response read from the socket.
const maxResponse = 1500

// Discover sends STUN Binding requests from conn to server (host:port)
// until one is answered or ctx ends, and returns the mapped address the
// server saw: XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an old server.
// conn must not be read by anyone else meanwhile; its read deadline is
// cleared when Discover returns.
func Discover(ctx context.Context, conn net.PacketConn, server string) (netip.AddrPort, error) {
	raddr, err := resolve(ctx, conn, server)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("stun: build request: %w", err)
	}
	wait := firstWait
	buf := make([]byte, maxResponse)
	for range tries {
		if _, err := conn.WriteTo(req.Raw, raddr); err != nil {
			return netip.AddrPort{}, fmt.Errorf("stun %s: send: %w", server, err)
		}
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		addr, err := readAnswer(conn, buf, req.TransactionID, deadline)
		if err == nil {
			return addr, nil
		}
		if !errors.Is(err, errNoAnswer) {
			return netip.AddrPort{}, fmt.Errorf("stun %s: %w", server, err)
		}
		if ctx.Err() != nil {
			return netip.AddrPort{}, fmt.Errorf("stun %s: no answer: %w", server, ctx.Err())
		}
		wait *= 2
	}
	return netip.AddrPort{}, fmt.Errorf("stun %s: no answer after %d tries", server, tries)
}

// errNoAnswer is a wait that ended without a matching response.
var errNoAnswer = errors.New("no answer")

// resolve turns server into a UDP address of the family of conn's local
// address when it has one.
func resolve(ctx context.Context, conn net.PacketConn, server string) (*net.UDPAddr, error) {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		return nil, fmt.Errorf("stun server %q: %w", server, err)
	}
	network := "ip"
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok && la.IP != nil && !la.IP.IsUnspecified() {
		if la.IP.To4() != nil {
			network = "ip4"
		} else {
			network = "ip6"
		}
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("stun server %q: cannot resolve: %v", server, err)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(addrs[0].Unmap().String(), port))
	if err != nil {
		return nil, fmt.Errorf("stun server %q: %w", server, err)
	}
	return net.UDPAddrFromAddrPort(ap), nil
}

// readAnswer reads datagrams until the response to the transaction id
// arrives (other datagrams are ignored) or the deadline passes.
func readAnswer(conn net.PacketConn, buf []byte, id [stun.TransactionIDSize]byte, deadline time.Time) (netip.AddrPort, error) {
	if err := conn.SetReadDeadline(deadline); err != nil {
		return netip.AddrPort{}, err
	}
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return netip.AddrPort{}, errNoAnswer
			}
			return netip.AddrPort{}, err
		}
		addr, err := ParseResponse(buf[:n], id)
		if errors.Is(err, errNotOurs) {
			continue
		}
		return addr, err
	}
}

// errNotOurs is a datagram that is no response to our request.
var errNotOurs = errors.New("not a response to our request")

// ParseResponse reads the mapped address from a STUN Binding response to
// the transaction id. An error response is an error naming its code.
func ParseResponse(raw []byte, id [stun.TransactionIDSize]byte) (netip.AddrPort, error) {
	if !stun.IsMessage(raw) {
		return netip.AddrPort{}, errNotOurs
	}
	m := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := m.Decode(); err != nil {
		return netip.AddrPort{}, errNotOurs
	}
	if m.TransactionID != id {
		return netip.AddrPort{}, errNotOurs
	}
	if m.Type.Method != stun.MethodBinding {
		return netip.AddrPort{}, errNotOurs
	}
	if m.Type.Class == stun.ClassErrorResponse {
		var code stun.ErrorCodeAttribute
		if err := code.GetFrom(m); err == nil {
			return netip.AddrPort{}, fmt.Errorf("error response %d %s", code.Code, code.Reason)
		}
		return netip.AddrPort{}, errors.New("error response")
	}
	if m.Type.Class != stun.ClassSuccessResponse {
		return netip.AddrPort{}, errNotOurs
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(m); err == nil {
		return toAddrPort(xor.IP, xor.Port)
	}
	var mapped stun.MappedAddress
	if err := mapped.GetFrom(m); err == nil {
		return toAddrPort(mapped.IP, mapped.Port)
	}
	return netip.AddrPort{}, errors.New("response carries no mapped address")
}

func toAddrPort(ip net.IP, port int) (netip.AddrPort, error) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || port < 0 || port > 65535 {
		return netip.AddrPort{}, errors.New("response carries a malformed mapped address")
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}
