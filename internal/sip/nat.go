package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// NAT traversal.
//
// What callrec writes about itself: Via sent-by, Contact and the
// registered Contact carry Config.ExternalAddress when it is set (the
// sockets still bind Config.Listen), so that a trunk outside the NAT
// answers and calls the public address. Our requests carry ";rport" in
// Via (RFC 3581), so the trunk answers to the address and port it saw
// them come from and tells us that address in received/rport (callrec
// trunk check prints it).
//
// What callrec does for peers behind NAT: responses to a request whose
// Via carried ";rport" get received= and rport= and go back to the
// request's source address and port (sipgo does this for every
// response). Requests callrec sends within a dialog go to the peer's
// Contact (RFC 3261), except when that Contact is a private, shared
// (100.64/10) or link-local IP that is not where the dialog's
// requests or responses came from: then they go to that source instead,
// the address the peer's NAT mapped (inbound calls: the BYE goes to the
// INVITE's source; outbound calls: ACK, BYE and the rest go to the
// answer's source). A host name in Contact is always used as it is.
// Over TCP and TLS, requests in an inbound dialog go over the connection
// the caller opened while it is open, whatever its Contact says.

// parseAdvertised splits an external address, host or IP with an optional
// port, into host and port (0 when it has none).
func parseAdvertised(s string) (host string, port int, err error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), 0, nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s, 0, nil // a bare host name
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("external address %q: bad port", s)
	}
	return h, n, nil
}

// advertisedHostPort is what Via and Contact carry: the external address
// when there is one (its port, else listenPort), else listenHost and
// listenPort.
func advertisedHostPort(external, listenHost string, listenPort int) (string, int, error) {
	if external == "" {
		return listenHost, listenPort, nil
	}
	host, port, err := parseAdvertised(external)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = listenPort
	}
	return host, port, nil
}

// setAdvertised builds the clients and the Contact headers that write
// host:port as callrec's address (Via sent-by, Contact); the sockets stay
// where they are bound. It runs before Serve.
func (s *Server) setAdvertised(host string, port int, libLog *slog.Logger) error {
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientLogger(libLog), sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(s.cfg.Listen), sipgo.WithClientNAT())
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	tcpClient, err := sipgo.NewClient(s.ua, sipgo.WithClientLogger(libLog), sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientNAT())
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	tlsPort := s.tlsAdvertisedPort()
	tlsClient, err := sipgo.NewClient(s.ua, sipgo.WithClientLogger(libLog), sipgo.WithClientHostname(host), sipgo.WithClientPort(tlsPort), sipgo.WithClientNAT())
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	s.client, s.tcpClient, s.tlsClient = client, tcpClient, tlsClient
	s.advHost, s.advPort = host, port
	s.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: port}}
	s.tlsContact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: tlsPort, UriParams: sip.NewParams()}}
	s.tlsContact.Address.UriParams.Add("transport", "tls")
	// A TCP dialog's Contact says TCP, or the peer would send its
	// in-dialog requests (ACK, BYE, re-INVITE) over UDP (RFC 3261 §8.1.1.8).
	s.tcpContact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: port, UriParams: sip.NewParams()}}
	s.tcpContact.Address.UriParams.Add("transport", "tcp")
	s.dialog = sipgo.DialogUA{Client: client, ContactHDR: s.contact}
	s.tcpDialog = sipgo.DialogUA{Client: tcpClient, ContactHDR: s.tcpContact}
	s.tlsDialog = sipgo.DialogUA{Client: tlsClient, ContactHDR: s.tlsContact}
	return nil
}

// contactFor is the Contact header for requests and dialogs over
// transport.
func (s *Server) contactFor(transport string) *sip.ContactHeader {
	switch sip.NetworkToLower(transport) {
	case "tls":
		return &s.tlsContact
	case "tcp":
		return &s.tcpContact
	}
	return &s.contact
}

// Advertised is the host:port callrec writes in Via and Contact (UDP and
// TCP).
func (s *Server) Advertised() string {
	return net.JoinHostPort(s.advHost, strconv.Itoa(s.advPort))
}

// DiscoverExternal finds the address callrec's UDP socket is seen at from
// outside with discover (STUN, run on the socket itself before it is
// served) and advertises it in Via and Contact from then on. Call it
// before Serve.
func (s *Server) DiscoverExternal(ctx context.Context, discover func(context.Context, net.PacketConn) (netip.AddrPort, error)) (netip.AddrPort, error) {
	found, err := discover(ctx, s.udp)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if err := s.setAdvertised(found.Addr().String(), int(found.Port()), s.libLog); err != nil {
		return netip.AddrPort{}, err
	}
	s.cfg.ExternalAddress = found.String() // before Serve: nothing else reads it yet
	return found, nil
}

// inDialogDestination is where a request in an inbound dialog goes instead
// of the caller's Contact, or "" for the Contact itself: over TCP or TLS
// the connection the caller opened, while it is open (a caller rarely
// listens where its Contact says, and callrec dials TLS only to the
// trunk); over UDP the request's source when the Contact is behind NAT.
func (s *Server) inDialogDestination(contact sip.Uri, source, transport string) string {
	network := sip.NetworkToLower(transport)
	if network == "tcp" || network == "tls" {
		c, err := s.ua.TransportLayer().GetConnection(network, source)
		if err != nil || c == nil {
			return ""
		}
		_, _ = c.TryClose() // GetConnection took a reference
		return source
	}
	if behindNAT(contact, source) {
		return source
	}
	return ""
}

// behindNAT reports whether a peer's Contact is an address that cannot be
// reached from here while its messages come from elsewhere (source,
// ip:port): a private, shared, link-local or loopback IP literal that is
// not the source's.
func behindNAT(contact sip.Uri, source string) bool {
	a, err := netip.ParseAddr(contact.Host)
	if err != nil {
		return false // a host name, or a bracketed IPv6 literal sipgo kept as is
	}
	a = a.Unmap()
	// Loopback is no NAT: a peer on this host is reached where it says.
	if !(a.IsPrivate() || a.IsLinkLocalUnicast() || inSharedAddressSpace(a)) {
		return false
	}
	src := sourceAddr(source)
	if !src.IsValid() {
		return false
	}
	port := contact.Port
	if port == 0 {
		port = 5060
	}
	_, srcPort, _ := net.SplitHostPort(source)
	return src != a || srcPort != strconv.Itoa(port)
}

// inSharedAddressSpace reports whether a is in RFC 6598's carrier-grade
// NAT range, 100.64.0.0/10.
func inSharedAddressSpace(a netip.Addr) bool {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10).Contains(a)
}

// routeToSource makes the requests of an answered outbound dialog (ACK,
// BYE) go to where the answer came from when the far end's Contact is
// behind NAT.
func routeToSource(dlg *sipgo.DialogClientSession) {
	c := dlg.InviteResponse.Contact()
	if c == nil || len(dlg.InviteResponse.GetHeaders("Record-Route")) > 0 || !behindNAT(c.Address, dlg.InviteResponse.Source()) {
		return
	}
	ua := *dlg.UA
	ua.RewriteContact = true
	dlg.UA = &ua
}
