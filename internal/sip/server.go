// Package sip carries callrec's SIP signalling on github.com/emiago/sipgo:
// it accepts INVITEs from the trunk (admission control, dialogs, CANCEL,
// BYE, re-INVITE), places outbound INVITEs through the trunk (digest
// authentication, CANCEL on give-up), and registers with the provider when
// asked. It never touches audio: session descriptions pass through as bytes.
package sip

import (
	"context"
	"errors"
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

// Handler takes the inbound calls the server admits (the call runtime is
// one).
type Handler interface {
	// Admit decides whether one more call may start; a non-nil error
	// rejects the INVITE with 503 (the error is logged).
	Admit() error
	// HandleCall runs one admitted inbound call on its own goroutine. It
	// owns the leg and returns when the call is over.
	HandleCall(leg *InboundLeg)
}

// Server is the SIP endpoint.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	dialog  sipgo.DialogUA
	contact sip.ContactHeader
	// tcpClient and tcpDialog send over TCP. They do not force the
	// listening address as the local one: for TCP that would mean binding
	// the listening port (which fails) or, once a peer has connected to
	// us, writing to whichever connection was accepted last, whoever the
	// request is for.
	tcpClient *sipgo.Client
	tcpDialog sipgo.DialogUA

	// handler is set by Serve before the sockets are served.
	handler Handler
	// inflight counts request handlers running, so that Serve closes the
	// sockets only once every response has been written. stopping (under
	// inflightMu) is set when Serve starts waiting: handlers that would
	// start after that are not run, as a WaitGroup must not gain its first
	// member while it is being waited for.
	inflight   sync.WaitGroup
	inflightMu sync.Mutex
	stopping   bool

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
// reported at start-up); Serve starts answering. Close releases the
// sockets of a server that is never served.
func NewServer(cfg Config) (*Server, error) {
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
	tcpClient, err := sipgo.NewClient(ua, sipgo.WithClientLogger(libLog), sipgo.WithClientHostname(host), sipgo.WithClientPort(port))
	if err != nil {
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		ua:        ua,
		srv:       srv,
		client:    client,
		tcpClient: tcpClient,
		inbound:   map[string]*InboundLeg{},
		outbnd:    map[string]*OutboundLeg{},
		ready:     make(chan struct{}),
	}
	s.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: port}}
	s.dialog = sipgo.DialogUA{Client: client, ContactHDR: s.contact}
	s.tcpDialog = sipgo.DialogUA{Client: tcpClient, ContactHDR: s.contact}

	s.udp, err = net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %s (udp): %w", cfg.Listen, err)
	}
	s.tcp, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.udp.Close()
		ua.Close()
		return nil, fmt.Errorf("sip.listen %s (tcp): %w", cfg.Listen, err)
	}

	srv.OnInvite(s.tracked(s.handleInvite))
	srv.OnAck(s.tracked(s.handleAck))
	srv.OnBye(s.tracked(s.handleBye))
	srv.OnCancel(s.tracked(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched a pending INVITE was handled by the
		// transaction layer; this one matched nothing.
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
	}))
	srv.OnOptions(s.tracked(s.handleOptions))
	srv.OnUpdate(s.tracked(s.handleUpdate))
	srv.OnInfo(s.tracked(func(req *sip.Request, tx sip.ServerTransaction) { s.respond(tx, req, 200, "OK") }))
	return s, nil
}

// clientFor is the client that sends over transport ("UDP", "TCP").
func (s *Server) clientFor(transport string) *sipgo.Client {
	if sip.NetworkToLower(transport) == "tcp" {
		return s.tcpClient
	}
	return s.client
}

// dialogFor is the dialog user agent for dialogs over transport.
func (s *Server) dialogFor(transport string) *sipgo.DialogUA {
	if sip.NetworkToLower(transport) == "tcp" {
		return &s.tcpDialog
	}
	return &s.dialog
}

// tracked counts h in s.inflight while it runs.
func (s *Server) tracked(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.inflightMu.Lock()
		if s.stopping {
			s.inflightMu.Unlock()
			return
		}
		s.inflight.Add(1)
		s.inflightMu.Unlock()
		defer s.inflight.Done()
		h(req, tx)
	}
}

// Serve answers SIP, handing admitted calls to h, until ctx is cancelled
// or a socket fails. It then waits for the request handlers still running
// (so responses already decided go out), up to closeWait, and closes the
// sockets; requests that arrive while it waits are not handled.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	if h == nil {
		s.Close()
		return errors.New("sip: serve: no call handler")
	}
	s.handler = h
	errc := make(chan error, 2)
	go func() { errc <- s.srv.ServeUDP(s.udp) }()
	go func() { errc <- s.srv.ServeTCP(s.tcp) }()
	go s.markReady(ctx)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if ctx.Err() == nil {
			err = fmt.Errorf("sip: serve: %w", err)
		} else {
			err = nil
		}
	}
	s.waitHandlers(closeWait)
	s.Close()
	return err
}

// closeWait bounds how long Serve waits for running request handlers.
const closeWait = 5 * time.Second

// waitHandlers waits until no request handler runs, or d has passed.
func (s *Server) waitHandlers(d time.Duration) {
	s.inflightMu.Lock()
	s.stopping = true
	s.inflightMu.Unlock()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("SIP request handlers still running at shutdown; closing the sockets anyway")
	}
}

// Close releases the server's sockets. Serve calls it when it returns;
// call it yourself only for a server that is never served.
func (s *Server) Close() {
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
	if err := s.handler.Admit(); err != nil {
		log.Warn("call refused", "reason", err)
		s.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
		return
	}
	if req.From() == nil || req.To() == nil || req.Contact() == nil {
		s.respond(tx, req, 400, "Bad Request (missing From, To or Contact)")
		return
	}
	dlg, err := s.dialogFor(req.Transport()).ReadInvite(req, tx)
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
		s.handler.HandleCall(leg)
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
		// Nothing to answer (a session timer refresh), but only within a
		// dialog we have.
		if s.inboundOf(req) == nil && s.outboundOf(req) == nil {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
			return
		}
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
	// The cause is recorded before ReadBye ends the dialog: whoever waits
	// on the leg's Done reads Cause at once.
	if leg := s.inboundOf(req); leg != nil {
		prev := leg.swapCause(byeCause(req))
		if err := leg.dlg.ReadBye(req, tx); err != nil {
			leg.swapCause(prev) // not a BYE for this dialog after all
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		}
		return
	}
	if leg := s.outboundOf(req); leg != nil {
		leg.setCause(byeCause(req))
		if err := leg.dlg.ReadBye(req, tx); err != nil {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		}
		leg.markEnded("")
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
