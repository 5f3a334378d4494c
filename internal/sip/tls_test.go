package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// tlsPeer is a SIP endpoint over TLS in the test process: a phone that
// calls callrec's TLS listener (dialling with roots), or a trunk with
// cert that answers INVITEs and OPTIONS.
type tlsPeer struct {
	addr    string
	ua      *sipgo.UserAgent
	cli     *sipgo.Client
	uac     *sipgo.DialogClientCache
	uas     *sipgo.DialogServerCache
	invites chan *sip.Request
	acks    chan *sip.Request
}

func newTLSPeer(t *testing.T, dial *tls.Config, cert *tls.Certificate) *tlsPeer {
	t.Helper()
	log := newTestLogger(t, slog.LevelWarn, "side", "tls-peer")
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("tls-peer"), sipgo.WithUserAgentHostname("127.0.0.1"), sipgo.WithUserAgenTLSConfig(dial),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsPeer{ua: ua, invites: make(chan *sip.Request, 16), acks: make(chan *sip.Request, 16)}
	host, port := "127.0.0.1", 0
	if cert != nil {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		p.addr = l.Addr().String()
		host, port = splitHostPort(p.addr)
		go func() { _ = srv.ServeTLS(l) }()
		t.Cleanup(func() { l.Close() })
	}
	p.cli, err = sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname(host), sipgo.WithClientPort(port))
	if err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "peer", Host: host, Port: port, UriParams: sip.NewParams()}}
	contact.Address.UriParams.Add("transport", "tls")
	p.uac = sipgo.NewDialogClientCache(p.cli, contact)
	p.uas = sipgo.NewDialogServerCache(p.cli, contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		p.invites <- req
		dlg, err := p.uas.ReadInvite(req, tx)
		if err != nil {
			return
		}
		_ = dlg.RespondSDP(testSDP())
		<-dlg.Context().Done()
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.uas.ReadAck(req, tx); p.acks <- req })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.uas.ReadBye(req, tx); err != nil {
			_ = p.uac.ReadBye(req, tx)
		}
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Server", "tls-trunk/1"))
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, OPTIONS"))
		_ = tx.Respond(res)
	})
	t.Cleanup(func() { ua.Close() })
	return p
}

// withTLSListener gives the server a TLS listener with cert.
func withTLSListener(t *testing.T, cert issued) serverOpts {
	certFile, keyFile := cert.write(t, t.TempDir())
	return func(c *Config) { c.TLSListen, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", certFile, keyFile }
}

// withTLSTrunk makes trunk (a TLS peer) the server's trunk, trusting ca
// and expecting name on its certificate.
func withTLSTrunk(t *testing.T, trunk *tlsPeer, ca *testCA, name string) serverOpts {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeTestFile(t, caFile, ca.pem)
	return func(c *Config) {
		c.TrunkAddress, c.TrunkTransport, c.TrunkTLSCAFile, c.TrunkTLSServerName = trunk.addr, "tls", caFile, name
	}
}

// TestInboundInviteOverTLS: a caller reaches the TLS listener; the call
// is answered with a Contact for TLS, acknowledged and hung up.
func TestInboundInviteOverTLS(t *testing.T) {
	ca := newTestCA(t)
	ts := startServer(t, withTLSListener(t, ca.valid(t, 2, "callrec.test")))
	phone := newTLSPeer(t, &tls.Config{RootCAs: ca.pool(), ServerName: "callrec.test"}, nil)
	host, port := splitHostPort(ts.TLSAddr())
	target := sip.Uri{Scheme: "sip", User: "+4930999", Host: host, Port: port, UriParams: sip.NewParams()}
	target.UriParams.Add("transport", "tls")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	dlgc := make(chan *sipgo.DialogClientSession, 1)
	errc := make(chan error, 1)
	go func() {
		req := sip.NewRequest(sip.INVITE, target)
		req.SetBody(testSDP())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetTransport("TLS")
		d, err := phone.uac.WriteInvite(ctx, req)
		if err != nil {
			errc <- err
			return
		}
		if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
			errc <- err
			return
		}
		dlgc <- d
	}()
	leg := ts.nextLeg(t)
	if !strings.EqualFold(leg.req.Transport(), "TLS") {
		t.Errorf("leg transport %s, want TLS", leg.req.Transport())
	}
	answered := answer(leg, testSDP())
	var d *sipgo.DialogClientSession
	select {
	case d = <-dlgc:
	case err := <-errc:
		t.Fatalf("phone: %v", err)
	case <-time.After(waitFor):
		t.Fatal("no answer over TLS")
	}
	if c := d.InviteResponse.Contact(); c == nil || !strings.Contains(c.Value(), "transport=tls") || c.Address.Port != port {
		t.Errorf("200 Contact %v, want our TLS address with transport=tls", c)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatalf("ACK: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("BYE: %v", err)
	}
	closed(t, leg.Done(), "leg ended by BYE")
}

// TestDialThroughTLSTrunk: an outbound call over TLS verifies the trunk's
// certificate against trunk.tls_ca with the configured name, and the
// INVITE says TLS in Via and Contact.
func TestDialThroughTLSTrunk(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.valid(t, 3, "trunk.test")
	trunk := newTLSPeer(t, &tls.Config{RootCAs: ca.pool()}, &cert.tls)
	ts := startServer(t, withTLSTrunk(t, trunk, ca, "trunk.test"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	leg, err := dial(ctx, ts, 0, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	inv := recv(t, trunk.invites, "INVITE at the TLS trunk")
	if v := inv.Via(); v == nil || v.Transport != "TLS" {
		t.Errorf("Via %v, want SIP/2.0/TLS", inv.Via())
	}
	if c := inv.Contact(); c == nil || !strings.Contains(c.Value(), "transport=tls") {
		t.Errorf("Contact %v, want transport=tls", inv.Contact())
	}
	recv(t, trunk.acks, "ACK at the TLS trunk")
	if c := ts.TrunkCertificate(); c == nil || c.SerialNumber.Int64() != 3 {
		t.Errorf("TrunkCertificate = %v, want the trunk's", c)
	}
	if err := leg.Hangup(ctx, 200); err != nil {
		t.Errorf("Hangup: %v", err)
	}
}

// TestTLSTrunkCertificateRefused: a certificate for another name, an
// expired one, or one from an unknown CA fails the dial with a clear
// error.
func TestTLSTrunkCertificateRefused(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name string
		cert func() issued
		ca   *testCA
		want string
	}{
		{"wrong name", func() issued { return ca.valid(t, 4, "other.test") }, ca, "not trunk.test"},
		{"expired", func() issued { return ca.issue(t, 5, at().Add(-48*time.Hour), at().Add(-24*time.Hour), "trunk.test") }, ca, "expired"},
		{"unknown CA", func() issued { return ca.valid(t, 6, "trunk.test") }, newTestCA(t), "unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.cert()
			trunk := newTLSPeer(t, &tls.Config{}, &cert.tls)
			ts := startServer(t, withTLSTrunk(t, trunk, tc.ca, "trunk.test"))
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			_, err := dial(ctx, ts, 0, nil)
			var de *DialError
			if !errors.As(err, &de) || !strings.Contains(de.Reason, tc.want) {
				t.Fatalf("Dial = %v, want a dial error with %q", err, tc.want)
			}
			if _, err := ts.CheckTrunk(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckTrunk = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestCheckTrunkOverTLS: the check reports the trunk's certificate and
// headers.
func TestCheckTrunkOverTLS(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.valid(t, 7, "trunk.test")
	trunk := newTLSPeer(t, &tls.Config{}, &cert.tls)
	ts := startServer(t, withTLSTrunk(t, trunk, ca, "trunk.test"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	got, err := ts.CheckTrunk(ctx)
	if err != nil {
		t.Fatalf("CheckTrunk: %v", err)
	}
	if got.StatusCode != 200 || got.Transport != "TLS" || got.Server != "tls-trunk/1" || !strings.Contains(got.Allow, "OPTIONS") {
		t.Errorf("CheckTrunk = %+v", got)
	}
	if got.Certificate == nil || got.Certificate.Subject.CommonName != "trunk.test" {
		t.Errorf("certificate %v, want trunk.test's", got.Certificate)
	}
}

// TestReloadTLS: a reload serves the new certificate to new connections;
// a bad file keeps the one in use.
func TestReloadTLS(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.valid(t, 10, "callrec.test").write(t, dir)
	ts := startServer(t, func(c *Config) { c.TLSListen, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", certFile, keyFile })
	served := func() int64 {
		t.Helper()
		d := net.Dialer{Timeout: waitFor}
		c, err := tls.DialWithDialer(&d, "tcp", ts.TLSAddr(), &tls.Config{RootCAs: ca.pool(), ServerName: "callrec.test"})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if n := served(); n != 10 {
		t.Fatalf("serial %d, want 10", n)
	}
	ca.valid(t, 11, "callrec.test").write(t, dir)
	if err := ts.ReloadTLS(); err != nil {
		t.Fatalf("ReloadTLS: %v", err)
	}
	if n := served(); n != 11 {
		t.Errorf("serial %d after reload, want 11", n)
	}
	writeTestFile(t, certFile, []byte("not a certificate"))
	if err := ts.ReloadTLS(); err == nil {
		t.Error("ReloadTLS accepted a bad certificate file")
	}
	if n := served(); n != 11 {
		t.Errorf("serial %d after a failed reload, want 11 kept", n)
	}
}

func TestTLSListenBadCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeTestFile(t, certFile, []byte("junk"))
	writeTestFile(t, keyFile, []byte("junk"))
	_, err := NewServer(Config{Listen: freeAddr(t), TLSListen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: newTestLogger(t, 0)})
	if err == nil || !strings.Contains(err.Error(), "sip.tls_cert") {
		t.Fatalf("NewServer = %v, want an error naming sip.tls_cert", err)
	}
}

func TestTrunkTLSCAMissing(t *testing.T) {
	_, err := NewServer(Config{Listen: freeAddr(t), TrunkAddress: "127.0.0.1:5061", TrunkTransport: "tls",
		TrunkTLSCAFile: filepath.Join(t.TempDir(), "missing.pem"), Logger: newTestLogger(t, 0)})
	if err == nil || !strings.Contains(err.Error(), "trunk.tls_ca") {
		t.Fatalf("NewServer = %v, want an error naming trunk.tls_ca", err)
	}
}
