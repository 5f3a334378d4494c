// Package sip carries callrec's SIP signalling on github.com/emiago/sipgo:
// it accepts INVITEs from the trunk (admission control, dialogs, CANCEL,
// BYE, re-INVITE), places outbound INVITEs through the trunk (digest
// authentication, CANCEL on give-up), and registers with the provider when
// asked. It never touches audio: session descriptions pass through as bytes.
package sip

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
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
	// TrunkTransport is "udp", "tcp" or "tls".
	TrunkTransport string
	// ExternalAddress is the host or IP, with an optional port, written in
	// Via sent-by, Contact and the registered Contact instead of Listen's
	// (the sockets still bind Listen); empty means Listen's. Without a port
	// Listen's port is written (the TLS listener's over TLS). See nat.go.
	ExternalAddress string
	// TLSListen is the host:port SIP over TLS listens on; empty means none.
	// TLSCertFile and TLSKeyFile are its certificate (chain) and key, PEM;
	// ReloadTLS re-reads them.
	TLSListen, TLSCertFile, TLSKeyFile string
	// TrunkTLSCAFile is a PEM bundle trusted for the trunk's certificate
	// besides the system roots; TrunkTLSServerName the name it must carry
	// (empty: the host of TrunkAddress).
	TrunkTLSCAFile, TrunkTLSServerName string
	// Keepalive is how often the trunk gets a keep-alive (a CRLF ping on
	// TCP and TLS connections to it, OPTIONS over UDP); zero sends none.
	// OPTIONS go only while callrec is registered with the trunk or has an
	// external address (it is behind NAT): see keepalive.go.
	Keepalive time.Duration
	// TrunkDomain is the host part of Request-URI and From of outbound calls.
	TrunkDomain string
	// Username and Password answer digest challenges from the trunk.
	Username, Password string
	// AllowedSources lists the networks that may send requests. The
	// trunk's own address (TrunkAddress, resolved when it is a name) is
	// trusted too: responses to our requests and in-dialog requests of
	// our outbound calls come from it.
	AllowedSources []netip.Prefix
	// RejectUntrusted is what requests from other sources get: nothing
	// (UntrustedDrop, also for ""), or one 403 sent statelessly
	// (Untrusted403).
	RejectUntrusted UntrustedPolicy

	// TCPMaxConnections caps the TCP connections open at once, and
	// TCPMaxPerSource those from one IP address; further ones are closed
	// as they arrive. Zero means DefaultTCPMaxConnections and
	// DefaultTCPMaxPerSource.
	TCPMaxConnections, TCPMaxPerSource int
	// TCPFirstMessageTimeout closes a TCP connection that has not
	// delivered a complete SIP message this long after it was accepted;
	// TCPIdleTimeout one on which nothing arrived for that long since.
	// Zero means DefaultTCPFirstMessageTimeout and DefaultTCPIdleTimeout.
	TCPFirstMessageTimeout, TCPIdleTimeout time.Duration
	// FileLimit is the process's open-file limit (see RaiseFileLimit);
	// when it is known (not 0), TCPMaxConnections is lowered to half of it
	// so that idle connections cannot take the files calls need.
	FileLimit uint64

	// RejectLogInterval is how often refused requests are summarised in
	// the log; zero means a minute.
	RejectLogInterval time.Duration
	// SessionExpires is the session interval (RFC 4028) our INVITEs ask
	// for and our answers grant at most; zero means DefaultSessionExpires.
	// MinSE is the shortest one accepted (an INVITE asking for less gets
	// 422); zero means DefaultMinSE, and it is never below MinSEFloor.
	SessionExpires, MinSE time.Duration
	// timing is the timers' clock; only tests change it.
	timing timing

	// Metrics counts refused requests by reason; nil counts nothing.
	Metrics Metrics
	// Logger receives structured logs.
	Logger *slog.Logger
}

// UntrustedPolicy is what requests from outside Config.AllowedSources get.
type UntrustedPolicy string

// The policies for untrusted sources.
const (
	// UntrustedDrop answers nothing: UDP datagrams are dropped before they
	// are parsed, TCP connections are closed as they are accepted.
	UntrustedDrop UntrustedPolicy = "drop"
	// Untrusted403 answers each request once with 403, statelessly (never
	// retransmitted), and closes TCP connections
	// TCPFirstMessageTimeout after they were accepted.
	Untrusted403 UntrustedPolicy = "403"
)

// allowMethods is the Allow header of OPTIONS and 405 responses.
const allowMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, PRACK"

// Handler takes the inbound calls the server admits (the call runtime is
// one).
//
// A call slot is taken only by a call that can go somewhere: the server
// makes every other check on an INVITE (its source, draining, Require,
// missing headers, the dialog it opens) before it calls Admit, and after
// Admit returns nil it calls HandleCall, with nothing in between that can
// fail. So Admit may reserve a slot that HandleCall's return frees.
type Handler interface {
	// Admit decides whether one more call may start, and may reserve its
	// slot; a non-nil error rejects the INVITE with 503 (and HandleCall
	// is not called).
	Admit() error
	// HandleCall runs one admitted inbound call on its own goroutine. It
	// owns the leg and returns when the call is over. It is called exactly
	// once for each Admit that returned nil.
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
	// tlsClient and tlsDialog send over TLS, with tlsContact
	// (transport=tls, the TLS listener's port).
	tlsClient  *sipgo.Client
	tlsDialog  sipgo.DialogUA
	tlsContact sip.ContactHeader
	// tcpContact is the Contact of dialogs over TCP (transport=tcp).
	tcpContact sip.ContactHeader
	// advHost and advPort are what Via and Contact carry (nat.go).
	advHost string
	advPort int
	// libLog is sipgo's logger.
	libLog *slog.Logger

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

	// handlers are the request handlers by method (handleNoRoute for the
	// rest); serveRequest runs them behind the checks every request
	// passes.
	handlers map[sip.RequestMethod]sipgo.RequestHandler
	// refused counts refusals for the metrics and the summary log.
	refused *refusals
	// trunkAddrs are the trunk's addresses, trusted like AllowedSources.
	trunkAddrs atomic.Pointer[[]netip.Addr]
	// writeStateless sends a response outside any transaction (sipgo's
	// Server.WriteResponse): it goes once and is never retransmitted.
	writeStateless func(*sip.Response) error

	udp   net.PacketConn
	tcp   *tcpListener
	ready chan struct{}

	// tlsTCP is the TLS listener's TCP side (caps, timeouts) and tlsLn
	// the TLS listener sipgo serves; certs its certificate. All nil
	// without Config.TLSListen.
	tlsTCP *tcpListener
	tlsLn  net.Listener
	certs  *certHolder
	// trunkCert is the trunk's certificate seen last over TLS.
	trunkCert atomic.Pointer[x509.Certificate]
	// registered is set while a registration with the trunk stands (the
	// last REGISTER that succeeded asked for a lifetime).
	registered atomic.Bool
}

// NewServer builds the SIP stack and binds its sockets (so a busy port is
// reported at start-up); Serve starts answering. Close releases the
// sockets of a server that is never served.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg = withDefaults(cfg)
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %q: bad port: %w", cfg.Listen, err)
	}
	refused := newRefusals(cfg.Logger, cfg.Metrics, cfg.RejectLogInterval)
	quiet := newQuietHandler(cfg.Logger.Handler(), time.Minute, func() { refused.add(netip.Addr{}, reasonMalformed) })
	libLog := slog.New(quiet).With("component", "sipgo")
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		refused: refused,
		inbound: map[string]*InboundLeg{},
		outbnd:  map[string]*OutboundLeg{},
		ready:   make(chan struct{}),
	}
	s.setTrunkLiteral()
	dialTLS, err := s.trunkTLSConfig()
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgenTLSConfig(dialTLS),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(libLog),
			sip.WithTransportLayerReadFilter(s.filterDatagram),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(libLog),
			// A response that matches none of our transactions (a late
			// retransmission, or junk) is dropped without a line.
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {}),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(libLog))
	if err != nil {
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	s.ua, s.srv, s.libLog = ua, srv, libLog
	s.writeStateless = srv.WriteResponse

	s.udp, err = net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip.listen %s (udp): %w", cfg.Listen, err)
	}
	if port == 0 {
		// An ephemeral port (callrec trunk check): TCP takes the one UDP got.
		port = s.udp.LocalAddr().(*net.UDPAddr).Port
		cfg.Listen = net.JoinHostPort(host, strconv.Itoa(port))
		s.cfg.Listen = cfg.Listen
	}
	tl, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.udp.Close()
		ua.Close()
		return nil, fmt.Errorf("sip.listen %s (tcp): %w", cfg.Listen, err)
	}
	s.tcp = newTCPListener(tl, s.tcpLimits(), s.trusted, cfg.RejectUntrusted != Untrusted403, refused, cfg.Logger, cfg.RejectLogInterval)
	if err := s.listenTLS(); err != nil {
		s.Close()
		return nil, err
	}
	advHost, advPort, err := advertisedHostPort(cfg.ExternalAddress, host, port)
	if err == nil {
		err = s.setAdvertised(advHost, advPort, libLog)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sip.external_address: %w", err)
	}
	// A message sipgo parsed from a TCP or TLS connection is its first
	// complete one: from then on the connection has the idle timeout.
	ua.TransportLayer().OnMessage(func(m sip.Message) {
		switch sip.NetworkToLower(m.Transport()) {
		case "tcp":
			s.tcp.delivered(m.Source())
		case "tls":
			if s.tlsTCP != nil {
				s.tlsTCP.delivered(m.Source())
			}
		}
	})

	s.handlers = map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE:  s.handleInvite,
		sip.ACK:     s.handleAck,
		sip.BYE:     s.handleBye,
		sip.CANCEL:  s.handleCancel,
		sip.OPTIONS: s.handleOptions,
		sip.UPDATE:  s.handleUpdate,
		sip.INFO:    s.handleInfo,
		sip.PRACK:   s.handlePrack,
	}
	for m := range s.handlers {
		srv.OnRequest(m, s.tracked(s.serveRequest))
	}
	srv.OnNoRoute(s.tracked(s.serveRequest))
	return s, nil
}

// withDefaults fills in the zero fields of cfg that have defaults.
func withDefaults(cfg Config) Config {
	if cfg.RejectUntrusted == "" {
		cfg.RejectUntrusted = UntrustedDrop
	}
	if cfg.TCPMaxConnections <= 0 {
		cfg.TCPMaxConnections = DefaultTCPMaxConnections
	}
	if cfg.TCPMaxPerSource <= 0 {
		cfg.TCPMaxPerSource = DefaultTCPMaxPerSource
	}
	if cfg.TCPFirstMessageTimeout <= 0 {
		cfg.TCPFirstMessageTimeout = DefaultTCPFirstMessageTimeout
	}
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.RejectLogInterval <= 0 {
		cfg.RejectLogInterval = time.Minute
	}
	if cfg.FileLimit > 0 && uint64(cfg.TCPMaxConnections) > cfg.FileLimit/2 {
		lowered := int(max(cfg.FileLimit/2, 1))
		cfg.Logger.Warn("sip.tcp_max_connections lowered to half the open-file limit, so that TCP connections leave files for calls",
			"configured", cfg.TCPMaxConnections, "open_file_limit", cfg.FileLimit, "tcp_max_connections", lowered)
		cfg.TCPMaxConnections = lowered
	}
	cfg.TCPMaxPerSource = min(cfg.TCPMaxPerSource, cfg.TCPMaxConnections)
	return withSessionDefaults(cfg)
}

// tcpLimits are the TCP listener's limits from the config.
func (s *Server) tcpLimits() tcpLimits {
	return tcpLimits{
		maxConns: s.cfg.TCPMaxConnections, maxPerSource: s.cfg.TCPMaxPerSource,
		firstMessage: s.cfg.TCPFirstMessageTimeout, idle: s.cfg.TCPIdleTimeout,
	}
}

// clientFor is the client that sends over transport ("UDP", "TCP",
// "TLS").
func (s *Server) clientFor(transport string) *sipgo.Client {
	switch sip.NetworkToLower(transport) {
	case "tcp":
		return s.tcpClient
	case "tls":
		return s.tlsClient
	}
	return s.client
}

// dialogFor is the dialog user agent for dialogs over transport.
func (s *Server) dialogFor(transport string) *sipgo.DialogUA {
	switch sip.NetworkToLower(transport) {
	case "tcp":
		return &s.tcpDialog
	case "tls":
		return &s.tlsDialog
	}
	return &s.dialog
}

// trunkTransport is the transport towards the trunk as sipgo names it.
func (s *Server) trunkTransport() string {
	switch s.cfg.TrunkTransport {
	case "tcp":
		return "TCP"
	case "tls":
		return "TLS"
	}
	return "UDP"
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
	sumCtx, stopSum := context.WithCancel(context.Background())
	sumDone := make(chan struct{})
	go func() { defer close(sumDone); s.refused.run(sumCtx) }()
	defer func() { stopSum(); <-sumDone }()
	go s.resolveTrunk(ctx)
	errc := make(chan error, 3)
	go func() { errc <- s.srv.ServeUDP(s.udp) }()
	go func() { errc <- s.srv.ServeTCP(s.tcp) }()
	if s.tlsLn != nil {
		go func() { errc <- s.srv.ServeTLS(s.tlsLn) }()
	}
	go s.markReady(ctx)
	kaCtx, stopKA := context.WithCancel(ctx)
	kaDone := make(chan struct{})
	go func() { defer close(kaDone); s.keepalive(kaCtx, s.cfg.Keepalive) }()
	defer func() { stopKA(); <-kaDone }()
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
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
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

// trusted reports whether requests from addr are served: it is in
// AllowedSources or one of the trunk's addresses.
func (s *Server) trusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.cfg.AllowedSources {
		if p.Contains(addr) {
			return true
		}
	}
	if ta := s.trunkAddrs.Load(); ta != nil {
		for _, a := range *ta {
			if a == addr {
				return true
			}
		}
	}
	return false
}

func (s *Server) sourceAllowed(src string) bool { return s.trusted(sourceAddr(src)) }

// maxTrunkAddrs bounds how many of the trunk name's addresses are kept.
const maxTrunkAddrs = 16

// setTrunkLiteral trusts the trunk's address when it is an IP literal.
func (s *Server) setTrunkLiteral() {
	host, _, err := net.SplitHostPort(s.cfg.TrunkAddress)
	if err != nil {
		return
	}
	if a, err := netip.ParseAddr(host); err == nil {
		addrs := []netip.Addr{a.Unmap()}
		s.trunkAddrs.Store(&addrs)
	}
}

// resolveTrunk looks up the trunk's host name (a literal needs nothing)
// and trusts what it resolves to, as sipgo will send there. On failure the
// addresses known stay.
func (s *Server) resolveTrunk(ctx context.Context) {
	host, _, err := net.SplitHostPort(s.cfg.TrunkAddress)
	if err != nil || host == "" {
		return
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	found, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		s.log.Debug("trunk address lookup failed", "trunk", host, "err", err)
		return
	}
	addrs := make([]netip.Addr, 0, min(len(found), maxTrunkAddrs))
	for _, a := range found[:min(len(found), maxTrunkAddrs)] {
		addrs = append(addrs, a.Unmap())
	}
	s.trunkAddrs.Store(&addrs)
}

// filterDatagram is sipgo's read filter: with UntrustedDrop, a UDP
// datagram from an untrusted source is dropped before it is parsed (no
// response, no transaction, nothing logged but the count). TCP is
// filtered as connections are accepted.
func (s *Server) filterDatagram(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if sip.NetworkToLower(p.Transport) != "udp" || s.cfg.RejectUntrusted == Untrusted403 {
		return data, nil
	}
	addr := netAddrIP(p.RemoteAddr)
	if s.trusted(addr) {
		return data, nil
	}
	s.refused.add(addr, reasonUntrusted)
	return nil, nil
}

// serveRequest is every request's way in: a request from an untrusted
// source is dropped or refused, one that requires an extension callrec
// lacks gets 420, and the rest go to the handler for their method.
func (s *Server) serveRequest(req *sip.Request, tx sip.ServerTransaction) {
	if !s.sourceAllowed(req.Source()) {
		s.refuseUntrusted(req, tx)
		return
	}
	if req.Method != sip.ACK && req.Method != sip.CANCEL && req.Method != sip.BYE {
		// RFC 3261 §8.2.2.3. ACK and CANCEL are exempt; so is BYE, so that
		// nothing keeps a call up that the caller wants ended.
		if tags, found := unsupportedExtensions(req); found {
			s.refuse(req, reasonBadExtension)
			var hdrs []sip.Header
			if len(tags) > 0 {
				hdrs = append(hdrs, sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
			}
			s.respond(tx, req, 420, "Bad Extension", hdrs...)
			return
		}
	}
	h, ok := s.handlers[req.Method]
	if !ok {
		h = s.handleNoRoute
	}
	h(req, tx)
}

// refuseUntrusted drops req (UntrustedDrop) or answers it 403 once,
// outside its transaction (Untrusted403); either way the transaction ends
// now, so nothing is retransmitted to a source that may be spoofed.
func (s *Server) refuseUntrusted(req *sip.Request, tx sip.ServerTransaction) {
	s.refused.add(sourceAddr(req.Source()), reasonUntrusted)
	defer tx.Terminate()
	if s.cfg.RejectUntrusted != Untrusted403 || req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	if err := s.writeStateless(res); err != nil {
		s.log.Debug("sip stateless 403 failed", "err", err)
	}
}

// refuse counts a refusal of a request from a trusted source (the
// response is the caller's to send).
func (s *Server) refuse(req *sip.Request, reason string) {
	s.refused.add(sourceAddr(req.Source()), reason)
	s.log.Debug("SIP request refused", "reason", reason, "method", string(req.Method),
		"sip_call_id", callID(req), "source", req.Source())
}

// maxUnsupported bounds the option tags a 420 lists.
const maxUnsupported = 16

// unsupportedExtensions reports whether req's Require headers name an
// extension callrec does not support (any but 100rel and timer),
// and lists those that may be sent back in Unsupported: option tags that
// are tokens, at most maxUnsupported.
func unsupportedExtensions(req *sip.Request) (tags []string, found bool) {
	for _, h := range req.GetHeaders("Require") {
		for _, t := range strings.Split(h.Value(), ",") {
			t = strings.TrimSpace(t)
			if t == "" || extensionSupported(t) {
				continue
			}
			found = true
			if isToken(t) && len(tags) < maxUnsupported {
				tags = append(tags, t)
			}
		}
	}
	return tags, found
}

// extensionSupported reports whether callrec supports the SIP extension
// named by an option tag (Require, Supported): 100rel (RFC 3262) and
// timer (RFC 4028).
func extensionSupported(tag string) bool {
	return strings.EqualFold(tag, "100rel") || strings.EqualFold(tag, "timer")
}

// isToken reports whether t is an RFC 3261 token of at most 64 bytes (an
// option tag that can be sent back in Unsupported as it came).
func isToken(t string) bool {
	if len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func (s *Server) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			s.handleReinvite(req, tx)
			return
		}
	}
	if s.draining.Load() {
		s.refuse(req, reasonDraining)
		s.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"))
		return
	}
	if req.From() == nil || req.To() == nil || req.Contact() == nil {
		s.refuse(req, reasonBadRequest)
		s.respond(tx, req, 400, "Bad Request (missing From, To or Contact)")
		return
	}
	if minSE, tooBrief := s.sessionTooBrief(req); tooBrief {
		s.refuse(req, reasonBadRequest)
		s.respond(tx, req, 422, "Session Interval Too Small", sip.NewHeader("Min-SE", strconv.FormatUint(uint64(minSE), 10)))
		return
	}
	dlg, err := s.dialogFor(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		s.refuse(req, reasonBadRequest)
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	if err := s.handler.Admit(); err != nil {
		s.refuse(req, reasonBusy)
		s.log.Debug("call refused", "reason", err, "sip_call_id", callID(req), "source", req.Source())
		s.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
		return
	}
	// Admit may have reserved a slot that only HandleCall's return frees:
	// from here to HandleCall nothing may fail or return.
	leg := newInboundLeg(s, req, tx, dlg)
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
		s.answerInDialog(tx, req, leg.onReoffer, &leg.sessionState)
		return
	}
	if leg := s.outboundOf(req); leg != nil {
		s.answerInDialog(tx, req, leg.onReoffer, &leg.sessionState)
		return
	}
	s.refuse(req, reasonNoDialog)
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
// description (sipgo has no helper for this); a 2xx refreshes the session
// timer of st.
func (s *Server) answerInDialog(tx sip.ServerTransaction, req *sip.Request, reoffer func([]byte) ([]byte, error), st *sessionState) {
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
	res.AppendHeader(sip.HeaderClone(s.contactFor(req.Transport())))
	st.noteSDP(body)
	for _, h := range st.refreshedBy(req) {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("re-INVITE respond failed", "err", err)
	}
}

func (s *Server) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if len(req.Body()) == 0 {
		// Nothing to answer (a session timer refresh), but only within a
		// dialog we have.
		st := s.sessionOf(req)
		if st == nil {
			s.refuse(req, reasonNoDialog)
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
			return
		}
		s.respond(tx, req, 200, "OK", st.refreshedBy(req)...)
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
	s.refuse(req, reasonNoDialog)
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// handleCancel answers a CANCEL that matched no pending INVITE (one that
// did was handled by the transaction layer).
func (s *Server) handleCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.refuse(req, reasonNoDialog)
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// handleNoRoute answers the methods callrec does not serve (REGISTER:
// callrec is no registrar; MESSAGE, SUBSCRIBE…) with 405, counted, without
// a line per request.
func (s *Server) handleNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	s.refuse(req, reasonNotAllowed)
	s.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowMethods))
}

func (s *Server) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	code, reason := 200, "OK"
	if s.draining.Load() {
		code, reason = 503, "Service Unavailable"
	}
	s.respond(tx, req, code, reason,
		sip.NewHeader("Allow", allowMethods),
		sip.NewHeader("Supported", supportedExtensions),
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
