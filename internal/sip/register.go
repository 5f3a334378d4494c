package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Register sends one REGISTER to the trunk (answering a digest challenge)
// and returns the lifetime the registrar granted.
func (s *Server) Register(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	host, portStr, err := net.SplitHostPort(s.cfg.TrunkAddress)
	if err != nil {
		return 0, fmt.Errorf("register: trunk.address: %w", err)
	}
	domain := s.cfg.TrunkDomain
	port := 0
	if domain == "" || domain == host {
		domain = host
		port, _ = strconv.Atoi(portStr)
	}
	user := s.cfg.Username
	if user == "" {
		user = "callrec"
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain, Port: port})
	aor := sip.Uri{Scheme: "sip", User: user, Host: domain}
	// Refreshes keep the registration's Call-ID and From tag and count
	// CSeq up (RFC 3261 §10.2.4).
	s.regMu.Lock()
	if s.regCallID == "" {
		s.regCallID, s.regTag, s.regCSeq = uuid.NewString(), sip.GenerateTagN(16), 1
	}
	s.regCSeq++
	callID, tag, cseq := s.regCallID, s.regTag, s.regCSeq
	s.regMu.Unlock()
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", tag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.HeaderClone(s.contactFor(s.trunkTransport())))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry.Seconds()))))
	req.SetDestination(s.cfg.TrunkAddress)
	s.resolveTrunk(ctx) // the answer comes from where the name points now
	req.SetTransport(s.trunkTransport())
	client := s.clientFor(req.Transport())
	res, err := client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && s.cfg.Password != "" {
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: s.cfg.Username, Password: s.cfg.Password})
		if err != nil {
			return 0, fmt.Errorf("register (authenticated): %w", err)
		}
	}
	// DoDigestAuth sent the request again with the next CSeq.
	s.regMu.Lock()
	s.regCSeq = max(s.regCSeq, req.CSeq().SeqNo)
	s.regMu.Unlock()
	if !res.IsSuccess() {
		return 0, fmt.Errorf("register: trunk answered %d %s", res.StatusCode, res.Reason)
	}
	s.registered.Store(expiry > 0) // an Expires: 0 that succeeded ends it
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	if c := res.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				granted = time.Duration(n) * time.Second
			}
		}
	}
	return granted, nil
}

// RegisterLoop keeps a registration with the trunk alive until ctx ends:
// it refreshes at 80 % of the granted lifetime and retries failures with
// backoff (5 s doubling to 5 min).
func (s *Server) RegisterLoop(ctx context.Context, expiry time.Duration) {
	if expiry <= 0 {
		expiry = time.Hour
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		return
	}
	backoff := 5 * time.Second
	for {
		rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
		granted, err := s.Register(rctx, expiry)
		cancel()
		wait := granted * 8 / 10
		if err != nil {
			s.log.Error("registration with trunk failed; retrying", "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(backoff*2, 5*time.Minute)
		} else {
			s.log.Info("registered with trunk", "expires", granted)
			backoff = 5 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
