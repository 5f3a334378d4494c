package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// waitFor bounds every wait in these tests. It is a failure guard only:
// nothing passes or fails on how long something took.
const waitFor = 10 * time.Second

// recv waits for a value on ch, failing the test after waitFor.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// closed waits until ch is closed, failing the test after waitFor.
func closed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// isClosed reports whether ch is closed now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// testWriter sends log output to t.Log until the test has ended (sipgo's
// timers may still log after that, which t.Log would reject).
type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLogger(t *testing.T, level slog.Level, attrs ...any) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})).With(attrs...)
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// freeAddr returns a loopback address whose port is free for both UDP and
// TCP right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		addr := l.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return ""
}

// loopback is the allowed sources of test servers: all of 127/8.
func loopback() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

// testHandler is the call runtime's stand-in: it admits (or refuses) calls
// and hands each admitted leg to the test, which drives it.
type testHandler struct {
	mu       sync.Mutex
	admitErr error
	// admits counts Admit calls, calls HandleCall calls, returned the
	// HandleCalls that returned (the slots freed).
	admits, calls, returned atomic.Int32

	legs chan *InboundLeg
	stop chan struct{}
}

func newTestHandler() *testHandler {
	return &testHandler{legs: make(chan *InboundLeg, 16), stop: make(chan struct{})}
}

func (h *testHandler) Admit() error {
	h.admits.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.admitErr
}

// refuse makes Admit return err from now on.
func (h *testHandler) refuse(err error) {
	h.mu.Lock()
	h.admitErr = err
	h.mu.Unlock()
}

// HandleCall gives the leg to the test and stays until the leg ends or the
// test is over, as the runtime's call goroutine does.
func (h *testHandler) HandleCall(leg *InboundLeg) {
	h.calls.Add(1)
	defer h.returned.Add(1)
	select {
	case h.legs <- leg:
	case <-h.stop:
		return
	}
	select {
	case <-leg.Done():
	case <-h.stop:
	}
}

// testServer is a served Server on a loopback port.
type testServer struct {
	*Server
	addr   string
	h      *testHandler
	cancel context.CancelFunc
	served chan error
}

// serverOpts changes the Config of a test server.
type serverOpts func(*Config)

// startServer builds a Server on a free loopback port, serves it with a
// testHandler and waits until it is ready. It is shut down when the test
// ends.
func startServer(t *testing.T, opts ...serverOpts) *testServer {
	t.Helper()
	h := newTestHandler()
	var (
		s    *Server
		addr string
		err  error
	)
	for range 5 { // the free port may be taken between probe and bind
		addr = freeAddr(t)
		cfg := Config{
			Listen:         addr,
			UserAgent:      "callrec-test",
			TrunkTransport: "udp",
			AllowedSources: loopback(),
			Logger:         newTestLogger(t, slog.LevelInfo, "side", "callrec"),
		}
		for _, o := range opts {
			o(&cfg)
		}
		if s, err = NewServer(cfg); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, addr: addr, h: h, cancel: cancel, served: make(chan error, 1)}
	go func() { ts.served <- s.Serve(ctx, h) }()
	t.Cleanup(func() {
		close(h.stop)
		cancel()
		select {
		case err := <-ts.served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitFor):
			t.Error("Serve did not return after its context was cancelled")
		}
	})
	closed(t, s.Ready(), "server ready")
	return ts
}

// nextLeg waits for the next call handed to the handler.
func (ts *testServer) nextLeg(t *testing.T) *InboundLeg {
	t.Helper()
	return recv(t, ts.h.legs, "an inbound leg")
}

// uri is the server's address as a SIP URI with user.
func (ts *testServer) uri(user string) sip.Uri {
	host, port := splitHostPort(ts.addr)
	return sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}
}

func splitHostPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		panic(err)
	}
	return host, port
}

// peer is another SIP endpoint in the test process, on its own loopback
// port: the phone that calls callrec or the trunk callrec calls and
// registers with. It is built on sipgo's own client, server and dialog
// code.
type peer struct {
	t         *testing.T
	addr      string // host:port it listens on
	transport string // "UDP" or "TCP"
	ua        *sipgo.UserAgent
	cli       *sipgo.Client
	uac       *sipgo.DialogClientCache // calls the peer placed
	uas       *sipgo.DialogServerCache // calls the peer took
	contact   sip.ContactHeader

	byes chan *sip.Request // BYEs received, after they were answered
	acks chan *sip.Request // ACKs received

	// For the trunk role: INVITEs received, CANCELs of them, and the
	// dialogs of the calls it answered.
	invites chan *sip.Request
	cancels chan *sip.Request
	dialogs chan *sipgo.DialogServerSession
}

// peerHandlers are the peer's answers to requests; nil ones get defaults
// (ACK and BYE are matched to the peer's dialogs, others get 405).
type peerHandlers struct {
	invite   func(p *peer, req *sip.Request, tx sip.ServerTransaction)
	register func(p *peer, req *sip.Request, tx sip.ServerTransaction)
	// other answers further methods (PRACK, UPDATE, INFO…).
	other map[sip.RequestMethod]func(p *peer, req *sip.Request, tx sip.ServerTransaction)
}

func newPeer(t *testing.T, transport string, hs peerHandlers) *peer {
	t.Helper()
	transport = strings.ToUpper(transport)
	log := newTestLogger(t, slog.LevelWarn, "side", "peer")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("peer"),
		sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
	)
	if err != nil {
		t.Fatalf("peer UA: %v", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatalf("peer server: %v", err)
	}
	p := &peer{t: t, transport: transport, ua: ua,
		byes: make(chan *sip.Request, 16), acks: make(chan *sip.Request, 16),
		invites: make(chan *sip.Request, 16), cancels: make(chan *sip.Request, 16),
		dialogs: make(chan *sipgo.DialogServerSession, 16)}

	var (
		serve func() error
		sock  io.Closer
	)
	switch transport {
	case "UDP":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("peer listen: %v", err)
		}
		p.addr, sock = pc.LocalAddr().String(), pc
		serve = func() error { return srv.ServeUDP(pc) }
	case "TCP":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("peer listen: %v", err)
		}
		p.addr, sock = l.Addr().String(), l
		serve = func() error { return srv.ServeTCP(l) }
	default:
		t.Fatalf("peer transport %q", transport)
	}
	host, port := splitHostPort(p.addr)
	copts := []sipgo.ClientOption{sipgo.WithClientLogger(log), sipgo.WithClientHostname(host), sipgo.WithClientPort(port)}
	if transport == "UDP" {
		// Send from the listening socket, as a phone does.
		copts = append(copts, sipgo.WithClientConnectionAddr(p.addr))
	}
	p.cli, err = sipgo.NewClient(ua, copts...)
	if err != nil {
		t.Fatalf("peer client: %v", err)
	}
	p.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "peer", Host: host, Port: port}}
	if transport == "TCP" {
		p.contact.Address.UriParams = sip.NewParams()
		p.contact.Address.UriParams.Add("transport", "tcp")
	}
	p.uac = sipgo.NewDialogClientCache(p.cli, p.contact)
	p.uas = sipgo.NewDialogServerCache(p.cli, p.contact)

	if hs.invite != nil {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			tx.OnCancel(func(r *sip.Request) {
				select {
				case p.cancels <- r:
				default:
				}
			})
			select {
			case p.invites <- req:
			default:
			}
			hs.invite(p, req, tx)
		})
	}
	if hs.register != nil {
		srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) { hs.register(p, req, tx) })
	}
	for m, h := range hs.other {
		srv.OnRequest(m, func(req *sip.Request, tx sip.ServerTransaction) { h(p, req, tx) })
	}
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = p.uas.ReadAck(req, tx)
		select {
		case p.acks <- req:
		default:
		}
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		err := p.uac.ReadBye(req, tx)
		if errors.Is(err, sipgo.ErrDialogDoesNotExists) {
			err = p.uas.ReadBye(req, tx)
		}
		if err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
		select {
		case p.byes <- req:
		default:
		}
	})

	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	t.Cleanup(func() {
		ua.Close()
		sock.Close()
		select {
		case <-errc:
		case <-time.After(waitFor):
			t.Error("peer did not stop serving")
		}
	})
	// The listener is served once sipgo knows the connection; requests
	// sent before that would open a second socket.
	if transport == "UDP" {
		deadline := time.After(waitFor)
		for {
			if c, err := ua.TransportLayer().GetConnection("udp", p.addr); err == nil && c != nil {
				break
			}
			select {
			case <-deadline:
				t.Fatal("peer UDP socket not served")
			case <-time.After(time.Millisecond):
			}
		}
	}
	return p
}

// request builds a request from the peer to target with the headers a UA
// puts in (From with tag, To, Call-ID, CSeq, Max-Forwards, Contact);
// callers may remove or add headers before sending it.
func (p *peer) request(method sip.RequestMethod, target sip.Uri) *sip.Request {
	req := sip.NewRequest(method, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+4930111", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: target.User, Host: target.Host}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(20))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.HeaderClone(&p.contact))
	req.SetTransport(p.transport)
	return req
}

// do sends a request built by request (only a Via is added) and returns
// the final response.
func (p *peer) do(req *sip.Request) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := p.cli.Do(ctx, req, func(c *sipgo.Client, r *sip.Request) error {
		if err := sipgo.ClientRequestAddVia(c, r); err != nil {
			return err
		}
		if r.Body() == nil {
			r.SetBody(nil)
		}
		if p.transport == "UDP" {
			host, port := splitHostPort(p.addr)
			r.Laddr = sip.Addr{IP: net.ParseIP(host), Port: port, Hostname: host}
		}
		return nil
	})
	if err != nil {
		p.t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// call is a call the peer placed to callrec.
type call struct {
	dlg         *sipgo.DialogClientSession
	provisional chan *sip.Response
	answered    chan error // WaitAnswer's result
}

// invite calls target at the server (Request-URI user number) with an SDP
// offer and extra headers, and returns at once; the answer arrives on
// call.answered.
func (p *peer) invite(ts *testServer, number string, sdp []byte, hdrs ...sip.Header) *call {
	p.t.Helper()
	target := ts.uri(number)
	if p.transport == "TCP" {
		target.UriParams = sip.NewParams()
		target.UriParams.Add("transport", "tcp")
	}
	req := sip.NewRequest(sip.INVITE, target)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	if req.From() == nil {
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+4930111", Host: "127.0.0.1"}, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(10))
		req.AppendHeader(from)
	}
	if req.To() == nil {
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: target.Host}, Params: sip.NewParams()})
	}
	if sdp != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(sdp)
	}
	req.SetTransport(p.transport)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	p.t.Cleanup(cancel)
	dlg, err := p.uac.WriteInvite(ctx, req)
	if err != nil {
		p.t.Fatalf("INVITE: %v", err)
	}
	c := &call{dlg: dlg, provisional: make(chan *sip.Response, 16), answered: make(chan error, 1)}
	go func() {
		c.answered <- dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
			if res.IsProvisional() {
				c.provisional <- res
			}
			return nil
		}})
	}()
	return c
}

// final waits for the call's final response: nil for 2xx, else the status.
func (c *call) final(t *testing.T) (int, error) {
	t.Helper()
	err := recv(t, c.answered, "final response to INVITE")
	if err == nil {
		return c.dlg.InviteResponse.StatusCode, nil
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode, nil
	}
	return 0, err
}

// provisionalCode waits for the next provisional response above 100.
func (c *call) provisionalCode(t *testing.T) *sip.Response {
	t.Helper()
	for {
		res := recv(t, c.provisional, "provisional response")
		if res.StatusCode != 100 {
			return res
		}
	}
}

// cancel sends CANCEL for the call's INVITE and returns the CANCEL's
// final response.
func (p *peer) cancel(c *call) *sip.Response {
	p.t.Helper()
	inv := c.dlg.InviteRequest
	req := sip.NewRequest(sip.CANCEL, inv.Recipient)
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	req.Laddr = inv.Laddr
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := p.cli.Do(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil {
		p.t.Fatalf("CANCEL: %v", err)
	}
	return res
}

// ack acknowledges the call's 2xx.
func (c *call) ack(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.dlg.Ack(ctx); err != nil {
		t.Fatalf("ACK: %v", err)
	}
}

// bye sends BYE in the call's dialog, with extra headers.
func (c *call) bye(t *testing.T, hdrs ...sip.Header) {
	t.Helper()
	bye := sip.NewRequest(sip.BYE, c.dlg.InviteResponse.Contact().Address)
	for _, h := range hdrs {
		bye.AppendHeader(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.dlg.WriteBye(ctx, bye); err != nil {
		t.Fatalf("BYE: %v", err)
	}
}

// digestChallenge is what the fake trunk asks for.
const (
	testRealm = "trunk.test"
	testNonce = "5b1f0c4a8e2d"
	testUser  = "callrec-user"
	testPass  = "s3cret"
)

// challenge answers req with 401 (or 407 when proxy is true) asking for
// digest credentials.
func challenge(req *sip.Request, tx sip.ServerTransaction, proxy bool) {
	code, reason, hdr := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, hdr = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader(hdr, fmt.Sprintf(`Digest realm=%q, nonce=%q, algorithm=MD5`, testRealm, testNonce)))
	_ = tx.Respond(res)
}

// checkDigest verifies req's Authorization (or Proxy-Authorization) with
// RFC 2617 digest (no qop) for testUser/testPass; "" means it is right.
func checkDigest(req *sip.Request, proxy bool) string {
	name := "Authorization"
	if proxy {
		name = "Proxy-Authorization"
	}
	h := req.GetHeader(name)
	if h == nil {
		return "no " + name + " header"
	}
	v, ok := strings.CutPrefix(h.Value(), "Digest ")
	if !ok {
		return "not a digest: " + h.Value()
	}
	params := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		params[k] = strings.Trim(val, `"`)
	}
	if params["username"] != testUser || params["realm"] != testRealm || params["nonce"] != testNonce {
		return "wrong username, realm or nonce: " + h.Value()
	}
	md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1 := md5hex(testUser + ":" + testRealm + ":" + testPass)
	ha2 := md5hex(string(req.Method) + ":" + params["uri"])
	if want := md5hex(ha1 + ":" + testNonce + ":" + ha2); params["response"] != want {
		return "wrong digest response: " + h.Value()
	}
	return ""
}

// recordHandler is an slog.Handler that keeps every record it is given.
type recordHandler struct {
	mu      *sync.Mutex
	records *[]slog.Record
	attrs   []slog.Attr
}

func newRecordHandler() *recordHandler {
	return &recordHandler{mu: &sync.Mutex{}, records: &[]slog.Record{}}
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	*h.records = append(*h.records, r)
	h.mu.Unlock()
	return nil
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{mu: h.mu, records: h.records, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// all returns a copy of the records kept so far.
func (h *recordHandler) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), *h.records...)
}

// attr returns the value of the record's attribute key, as a string.
func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// inDialog sends method in the call's dialog (a re-INVITE or UPDATE, with
// body as SDP when not nil) and returns the final response; a 2xx to a
// re-INVITE is acknowledged.
func (c *call) inDialog(t *testing.T, method sip.RequestMethod, body []byte) *sip.Response {
	t.Helper()
	req := sip.NewRequest(method, c.dlg.InviteResponse.Contact().Address)
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := c.dlg.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if method == sip.INVITE && res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, c.dlg.InviteResponse.Contact().Address)
		if err := c.dlg.WriteRequest(ack); err != nil {
			t.Fatalf("ACK to re-INVITE: %v", err)
		}
	}
	return res
}

// outOfDialog builds a request that claims a dialog nobody has (both tags
// set, unknown Call-ID).
func (p *peer) outOfDialog(method sip.RequestMethod, target sip.Uri) *sip.Request {
	req := p.request(method, target)
	req.To().Params.Add("tag", sip.GenerateTagN(10))
	return req
}

// answer answers the call on leg in the background; the result (after the
// caller's ACK) arrives on the returned channel.
func answer(leg interface{ Answer([]byte) error }, sdp []byte) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- leg.Answer(sdp) }()
	return errc
}

// countingMetrics is the metrics' stand-in: it counts refusals by reason.
type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func newCountingMetrics() *countingMetrics { return &countingMetrics{n: map[string]int{}} }

func (m *countingMetrics) SIPRejected(reason string) {
	m.mu.Lock()
	m.n[reason]++
	m.mu.Unlock()
}

// count is how many refusals for reason were counted.
func (m *countingMetrics) count(reason string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n[reason]
}

// wait waits until at least n refusals for reason were counted.
func (m *countingMetrics) wait(t *testing.T, reason string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for m.count(reason) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d refusals counted for %s, want at least %d", m.count(reason), reason, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawRequest is a request as text from local over transport ("UDP",
// "TCP"): a complete one with the headers a UA sends (an INVITE with
// Contact and an SDP offer), and extra header lines.
func rawRequest(method, transport, local, target string, n int, extra ...string) string {
	body := ""
	if method == "INVITE" {
		body = string(testSDP())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:+4930999@%s SIP/2.0\r\n", method, target)
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-raw%s%d\r\n", transport, local, method, n)
	fmt.Fprintf(&b, "From: <sip:+4930111@%s>;tag=raw%d\r\n", local, n)
	fmt.Fprintf(&b, "To: <sip:+4930999@%s>\r\n", target)
	fmt.Fprintf(&b, "Call-ID: raw-%s-%d@%s\r\n", method, n, local)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\n", method)
	fmt.Fprintf(&b, "Contact: <sip:+4930111@%s>\r\nMax-Forwards: 70\r\n", local)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// rawUDP is a UDP socket that sends text and collects what comes back.
type rawUDP struct {
	t    *testing.T
	conn *net.UDPConn
}

// newRawUDP binds a UDP socket on ip (a loopback address).
func newRawUDP(t *testing.T, ip string) *rawUDP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen udp %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{t: t, conn: c}
}

func (r *rawUDP) addr() string { return r.conn.LocalAddr().String() }

func (r *rawUDP) send(to, msg string) {
	r.t.Helper()
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.conn.WriteToUDP([]byte(msg), ua); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// next waits for the next datagram, failing after waitFor.
func (r *rawUDP) next() string {
	r.t.Helper()
	buf := make([]byte, 65536)
	_ = r.conn.SetReadDeadline(time.Now().Add(waitFor))
	n, _, err := r.conn.ReadFromUDP(buf)
	if err != nil {
		r.t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

// collect returns every datagram that arrives within d (a window in
// which nothing more may come, not a measure of speed).
func (r *rawUDP) collect(d time.Duration) []string {
	var got []string
	buf := make([]byte, 65536)
	deadline := time.Now().Add(d)
	for {
		_ = r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}

// statusLine is the first line of a message.
func statusLine(m string) string {
	line, _, _ := strings.Cut(m, "\r\n")
	return line
}

// header is the value of the first header name in message m, or "".
func header(m, name string) string {
	head, _, _ := strings.Cut(m, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
