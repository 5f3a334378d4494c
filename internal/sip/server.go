// Package sip carries callrec's SIP signalling on github.com/emiago/sipgo:
// it accepts INVITEs from the trunk (admission control, dialogs, CANCEL,
// BYE, re-INVITE), places outbound INVITEs through the trunk (digest
// authentication, CANCEL on give-up), and registers with the provider when
// asked. It never touches audio: session descriptions pass through as bytes.
package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Config configures the SIP stack.
type Config struct {
	// Listen is the local host:port for UDP and TCP.
	Listen string
	// UserAgent is the User-Agent / Server header value.
	UserAgent string
	// TrunkAddress is host:port where outbound INVITEs go.
	TrunkAddress string
	// TrunkTransport is "udp" or "tcp".
	TrunkTransport string
	// TrunkDomain is the host part of Request-URI and From of outbound calls.
	TrunkDomain string
	// Username and Password answer digest challenges from the trunk.
	Username, Password string
	// AllowedSources lists the networks that may send INVITEs.
	AllowedSources []netip.Prefix
	// Logger receives structured logs.
	Logger *slog.Logger
}

// CallHandler is called for every admitted new inbound call, on its own
// goroutine. It owns the leg and returns when the call is over.
type CallHandler func(leg *InboundLeg)

// AdmitFunc decides whether one more call may start; a non-nil error
// rejects the INVITE with 503 and the error's text as the reason phrase.
type AdmitFunc func() error

// Server is the SIP endpoint.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	dialog  sipgo.DialogUA
	contact sip.ContactHeader

	onCall CallHandler
	admit  AdmitFunc

	draining atomic.Bool

	mu      sync.Mutex
	inbound map[string]*InboundLeg  // by UAS dialog id
	outbnd  map[string]*OutboundLeg // by UAC dialog id

	// Registration dialog state (REGISTER refreshes).
	regMu     sync.Mutex
	regCallID string
	regTag    string
	regCSeq   uint32

	udp   net.PacketConn
	tcp   net.Listener
	ready chan struct{}
}

// NewServer builds the SIP stack and binds its sockets (so a busy port is
// reported at start-up); Serve starts answering.
func NewServer(cfg Config, onCall CallHandler, admit AdmitFunc) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %q: bad port: %w", cfg.Listen, err)
	}
	libLog := slog.New(NewQuietHandler(cfg.Logger.Handler(), time.Minute)).With("component", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(libLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(libLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(libLog))
	if err != nil {
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(libLog), sipgo.WithClientHostname(host), sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(cfg.Listen))
	if err != nil {
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		ua:      ua,
		srv:     srv,
		client:  client,
		onCall:  onCall,
		admit:   admit,
		inbound: map[string]*InboundLeg{},
		outbnd:  map[string]*OutboundLeg{},
		ready:   make(chan struct{}),
	}
	s.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: port}}
	s.dialog = sipgo.DialogUA{Client: client, ContactHDR: s.contact}

	s.udp, err = net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %s (udp): %w", cfg.Listen, err)
	}
	s.tcp, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.udp.Close()
		return nil, fmt.Errorf("sip.listen %s (tcp): %w", cfg.Listen, err)
	}

	srv.OnInvite(s.handleInvite)
	srv.OnAck(s.handleAck)
	srv.OnBye(s.handleBye)
	srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched a pending INVITE was handled by the
		// transaction layer; this one matched nothing.
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
	})
	srv.OnOptions(s.handleOptions)
	srv.OnUpdate(s.handleUpdate)
	srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) { s.respond(tx, req, 200, "OK") })
	return s, nil
}

// Serve answers SIP until ctx is cancelled.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.srv.ServeUDP(s.udp) }()
	go func() { errc <- s.srv.ServeTCP(s.tcp) }()
	go s.markReady(ctx)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if ctx.Err() == nil {
			s.close()
			return fmt.Errorf("sip: serve: %w", err)
		}
	}
	s.close()
	return nil
}

func (s *Server) close() {
	s.udp.Close()
	s.tcp.Close()
	s.ua.Close()
}

// markReady closes ready once sipgo serves the UDP socket, so requests we
// send (REGISTER) leave from it rather than trying to bind it again.
func (s *Server) markReady(ctx context.Context) {
	addr := s.udp.LocalAddr().String()
	for {
		if c, err := s.ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			close(s.ready)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Ready is closed when the server is serving.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Drain makes the server refuse new calls with 503 (graceful shutdown).
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "code", code, "err", err)
	}
}

func (s *Server) sourceAllowed(src string) bool {
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range s.cfg.AllowedSources {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			s.handleReinvite(req, tx)
			return
		}
	}
	log := s.log.With("sip_call_id", callID(req), "source", req.Source())
	if !s.sourceAllowed(req.Source()) {
		log.Warn("INVITE from a source outside trunk.allowed_sources rejected")
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	if s.draining.Load() {
		s.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"))
		return
	}
	if s.admit != nil {
		if err := s.admit(); err != nil {
			log.Warn("call refused", "reason", err)
			s.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
			return
		}
	}
	if req.From() == nil || req.To() == nil || req.Contact() == nil {
		s.respond(tx, req, 400, "Bad Request (missing From, To or Contact)")
		return
	}
	dlg, err := s.dialog.ReadInvite(req, tx)
	if err != nil {
		log.Warn("bad INVITE", "err", err)
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	leg := newInboundLeg(s, req, dlg)
	s.mu.Lock()
	s.inbound[dlg.ID] = leg
	s.mu.Unlock()
	_ = dlg.Respond(100, "Trying", nil)

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			s.mu.Lock()
			delete(s.inbound, dlg.ID)
			s.mu.Unlock()
		}()
		s.onCall(leg)
	}()
	// sipgo terminates the INVITE transaction when this handler returns, so
	// stay until the leg has its final response (or the call is over).
	select {
	case <-leg.final:
	case <-done:
	}
}

func (s *Server) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	if leg := s.inboundOf(req); leg != nil {
		s.answerInDialog(tx, req, leg.onReoffer)
		return
	}
	if leg := s.outboundOf(req); leg != nil {
		s.answerInDialog(tx, req, leg.onReoffer)
		return
	}
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// inboundOf finds the inbound leg an in-dialog request belongs to (we are
// its UAS), or nil.
func (s *Server) inboundOf(req *sip.Request) *InboundLeg {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inbound[id]
}

// outboundOf finds the outbound leg an in-dialog request belongs to (we
// are its UAC), or nil.
func (s *Server) outboundOf(req *sip.Request) *OutboundLeg {
	id, err := sip.DialogIDFromRequestUAC(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outbnd[id]
}

// answerInDialog answers a re-INVITE or UPDATE with our current session
// description (sipgo has no helper for this).
func (s *Server) answerInDialog(tx sip.ServerTransaction, req *sip.Request, reoffer func([]byte) ([]byte, error)) {
	if reoffer == nil {
		s.respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	body, err := reoffer(req.Body())
	if err != nil {
		s.log.Warn("re-INVITE refused", "sip_call_id", callID(req), "err", err)
		s.respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(sip.HeaderClone(&s.contact))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("re-INVITE respond failed", "err", err)
	}
}

func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if len(req.Body()) == 0 {
		s.respond(tx, req, 200, "OK")
		return
	}
	s.handleReinvite(req, tx)
}

func (s *Server) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	if leg := s.inboundOf(req); leg != nil {
		_ = leg.dlg.ReadAck(req, tx)
	}
}

func (s *Server) handleBye(req *sip.Request, tx sip.ServerTransaction) {
	if leg := s.inboundOf(req); leg != nil {
		if err := leg.dlg.ReadBye(req, tx); err != nil {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		}
		leg.setCause(byeCause(req))
		return
	}
	if leg := s.outboundOf(req); leg != nil {
		if err := leg.dlg.ReadBye(req, tx); err != nil {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		}
		leg.markEnded(byeCause(req))
		return
	}
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	code, reason := 200, "OK"
	if s.draining.Load() {
		code, reason = 503, "Service Unavailable"
	}
	s.respond(tx, req, code, reason,
		sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"),
		sip.NewHeader("Accept", "application/sdp"))
}

func callID(m sip.Message) string {
	if c := m.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// byeCause reads a BYE's Reason header (RFC 3326), if any.
func byeCause(req *sip.Request) string {
	if h := req.GetHeader("Reason"); h != nil {
		return h.Value()
	}
	return ""
}
