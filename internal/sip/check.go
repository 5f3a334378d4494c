package sip

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TrunkCheck is what the trunk answered to an OPTIONS (callrec trunk
// check).
type TrunkCheck struct {
	// Transport is the transport the OPTIONS went over ("UDP", "TCP",
	// "TLS").
	Transport string
	// StatusCode and Reason are the final response's status line.
	StatusCode int
	Reason     string
	// RoundTrip is the time from sending the OPTIONS (the last one, when it
	// was challenged) to its final response.
	RoundTrip time.Duration
	// Server is the responder's Server header, else its User-Agent.
	Server string
	// Allow and Supported are those headers of the response.
	Allow, Supported string
	// SeenAt is where the trunk saw the request come from, from the
	// response's Via received and rport ("" when it wrote neither): the
	// NAT's mapping of callrec's socket.
	SeenAt string
	// Certificate is the certificate the trunk presented over TLS.
	Certificate *x509.Certificate
}

// CheckTrunk sends one OPTIONS to the trunk over its transport (answering
// a digest challenge with the configured credentials) and reports the
// final response. An error means the trunk did not answer (timeout,
// refused connection, TLS failure), or refused the credentials (401/407
// after they were sent, or with none to send).
func (s *Server) CheckTrunk(ctx context.Context) (*TrunkCheck, error) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("options: SIP socket not served: %w", ctx.Err())
	}
	s.resolveTrunk(ctx)
	req := s.trunkRequest(sip.OPTIONS, s.cfg.Username)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	client := s.clientFor(req.Transport())
	start := time.Now()
	res, err := client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("options to %s over %s: %w", s.cfg.TrunkAddress, req.Transport(), err)
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && s.cfg.Password != "" {
		start = time.Now()
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: s.cfg.Username, Password: s.cfg.Password})
		if err != nil {
			return nil, fmt.Errorf("options (authenticated): %w", err)
		}
	}
	rtt := time.Since(start)
	check := &TrunkCheck{
		Transport: req.Transport(), StatusCode: res.StatusCode, Reason: res.Reason, RoundTrip: rtt,
		Server: firstValue(res, "Server"), Allow: firstValue(res, "Allow"), Supported: firstValue(res, "Supported"),
		SeenAt: seenAt(res),
	}
	if check.Server == "" {
		check.Server = firstValue(res, "User-Agent")
	}
	if req.Transport() == "TLS" {
		check.Certificate = s.TrunkCertificate()
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		if s.cfg.Password == "" {
			return check, fmt.Errorf("trunk answered %d %s and no trunk.password is set", res.StatusCode, res.Reason)
		}
		return check, fmt.Errorf("trunk refused the credentials of %q: %d %s", s.cfg.Username, res.StatusCode, res.Reason)
	}
	return check, nil
}

// firstValue is the value of m's first header called name, or "".
func firstValue(m sip.Message, name string) string {
	v, _ := headerValue(m, name)
	return v
}

// seenAt reads received and rport from a response's top Via: where the
// responder saw our request come from.
func seenAt(res *sip.Response) string {
	via := res.Via()
	if via == nil {
		return ""
	}
	host, hasHost := via.Params.Get("received")
	port, hasPort := via.Params.Get("rport")
	if !hasHost && (!hasPort || port == "") {
		return ""
	}
	if host == "" {
		host = via.Host
	}
	if port == "" {
		if via.Port > 0 {
			port = strconv.Itoa(via.Port)
		} else {
			return host
		}
	}
	return net.JoinHostPort(host, port)
}
