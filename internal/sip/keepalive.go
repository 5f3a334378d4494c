package sip

import (
	"context"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// crlfPing is RFC 5626 §4.4.1's keep-alive ping on a connection.
const crlfPing = "\r\n\r\n"

// keepalive keeps the NAT binding towards the trunk open until ctx ends:
// every interval, a CRLF ping on each TCP or TLS connection open to the
// trunk, or an OPTIONS over UDP from the listening socket while
// needsUDPKeepalive. An interval of zero sends nothing. The OPTIONS' outcome is logged when it changes (the
// trunk stops or starts answering), not every time. This goroutine owns
// that state.
func (s *Server) keepalive(ctx context.Context, interval time.Duration) {
	if interval <= 0 || s.cfg.TrunkAddress == "" {
		return
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var state keepaliveState
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.trunkTransport() == "UDP" {
			if !s.needsUDPKeepalive() {
				continue
			}
			octx, cancel := context.WithTimeout(ctx, min(interval, 32*time.Second))
			res, err := s.optionsToTrunk(octx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			state.report(s, res, err)
			continue
		}
		s.pingTrunkConnections()
	}
}

// needsUDPKeepalive reports whether OPTIONS keep-alives are worth
// sending: callrec is registered with the trunk (the trunk sends calls to
// the registered Contact, through the NAT binding the registration made)
// or it has an external address (it is behind NAT). A trunk that reaches
// callrec at an address it was given, without a NAT in between, needs
// none.
func (s *Server) needsUDPKeepalive() bool {
	return s.registered.Load() || s.cfg.ExternalAddress != ""
}

// keepaliveState is the last outcome of the OPTIONS keep-alive.
type keepaliveState struct {
	known, up bool
}

// report logs the outcome of one OPTIONS keep-alive when it differs from
// the last one. Any response means the trunk is reachable.
func (k *keepaliveState) report(s *Server, res *sip.Response, err error) {
	up := err == nil && res != nil
	if k.known && k.up == up {
		return
	}
	k.known, k.up = true, up
	if up {
		s.log.Info("trunk answers keep-alive OPTIONS", "trunk", s.cfg.TrunkAddress, "status", res.StatusCode)
		return
	}
	s.log.Warn("trunk does not answer keep-alive OPTIONS; calls and registration may fail until it does",
		"trunk", s.cfg.TrunkAddress, "err", err)
}

// pingTrunkConnections writes a CRLF ping on the connections open to the
// trunk's addresses over its transport (none open: nothing to keep).
func (s *Server) pingTrunkConnections() {
	_, port, err := net.SplitHostPort(s.cfg.TrunkAddress)
	if err != nil {
		return
	}
	addrs := s.trunkAddrs.Load()
	if addrs == nil {
		return
	}
	network := sip.NetworkToLower(s.trunkTransport())
	for _, a := range *addrs {
		c, err := s.ua.TransportLayer().GetConnection(network, net.JoinHostPort(a.String(), port))
		if err != nil || c == nil {
			continue
		}
		if w, ok := c.(io.Writer); ok {
			if _, err := w.Write([]byte(crlfPing)); err != nil {
				s.log.Debug("keep-alive ping failed", "trunk", a, "err", err)
			}
		}
		_, _ = c.TryClose()
	}
}

// optionsToTrunk sends one OPTIONS to the trunk over its transport and
// returns the final response.
func (s *Server) optionsToTrunk(ctx context.Context) (*sip.Response, error) {
	req := s.trunkRequest(sip.OPTIONS, "")
	return s.clientFor(req.Transport()).Do(ctx, req)
}

// trunkRequest builds an out-of-dialog request to the trunk (OPTIONS,
// REGISTER): Request-URI sip:domain (with the trunk's port when the domain
// is its host), From and To the account (user, else "callrec"), our
// Contact, destination and transport the trunk's.
func (s *Server) trunkRequest(method sip.RequestMethod, user string) *sip.Request {
	host, portStr, _ := net.SplitHostPort(s.cfg.TrunkAddress)
	domain := s.cfg.TrunkDomain
	port := 0
	if domain == "" || domain == host {
		domain = host
		port, _ = strconv.Atoi(portStr)
	}
	if user == "" {
		user = "callrec"
	}
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", Host: domain, Port: port})
	aor := sip.Uri{Scheme: "sip", User: user, Host: domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	transport := s.trunkTransport()
	req.AppendHeader(sip.HeaderClone(s.contactFor(transport)))
	req.SetDestination(s.cfg.TrunkAddress)
	req.SetTransport(transport)
	return req
}
