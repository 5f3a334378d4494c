package e2e

// SIP over TLS against the real binary: a stranger calls in over TLS
// (sip.tls_listen), and callrec dials the owner through a trunk it reaches
// over TLS (trunk.transport: tls), verifying the trunk's certificate
// against trunk.tls_ca. Debian's SIPp is built without TLS, so the stranger
// and the trunk here are SIP endpoints in the test process (sipgo), with
// certificates made by the test; SIPp drives the TLS listener too when it
// has TLS (TestTLSWithSIPp).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// tlsFiles are a test CA and a server certificate it signed, as PEM files.
type tlsFiles struct {
	ca, cert, key string
	pair          tls.Certificate
	pool          *x509.CertPool
}

// makeTLSFiles writes a CA and a certificate for names (DNS names or
// IPs) into a fresh directory.
func makeTLSFiles(t *testing.T, names ...string) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := tlsFiles{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	f.pool.AddCert(caCert)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	for name, data := range map[string][]byte{f.ca: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), f.cert: certPEM, f.key: keyPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if f.pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return f
}

// tlsEndpoint is a SIP endpoint over TLS in the test: the stranger
// (dialling callrec) or the trunk (listening with a certificate).
type tlsEndpoint struct {
	addr    string
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	uac     *sipgo.DialogClientCache
	uas     *sipgo.DialogServerCache
	rtp     net.PacketConn // absorbs the audio sent to this endpoint
	invites chan *sip.Request
	byes    chan *sip.Request
}

func newTLSEndpoint(t *testing.T, name string, dial *tls.Config, cert *tls.Certificate) *tlsEndpoint {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("e2e-"+name), sipgo.WithUserAgentHostname("127.0.0.1"), sipgo.WithUserAgenTLSConfig(dial))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &tlsEndpoint{ua: ua, srv: srv, rtp: rtp, invites: make(chan *sip.Request, 4), byes: make(chan *sip.Request, 4)}
	port := 0
	if cert != nil {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		e.addr = l.Addr().String()
		_, p, _ := net.SplitHostPort(e.addr)
		port, _ = strconv.Atoi(p)
		go func() { _ = srv.ServeTLS(l) }()
		t.Cleanup(func() { l.Close() })
	}
	if e.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port)); err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: name, Host: "127.0.0.1", Port: port, UriParams: sip.NewParams()}}
	contact.Address.UriParams.Add("transport", "tls")
	e.uac = sipgo.NewDialogClientCache(e.cli, contact)
	e.uas = sipgo.NewDialogServerCache(e.cli, contact)
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := e.uac.ReadBye(req, tx); err != nil {
			_ = e.uas.ReadBye(req, tx)
		}
		e.byes <- req
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = e.uas.ReadAck(req, tx) })
	t.Cleanup(func() { ua.Close(); rtp.Close() })
	return e
}

// sdp is an offer or answer with this endpoint's RTP socket, G.711 µ-law.
func (e *tlsEndpoint) sdp() []byte {
	_, port, _ := net.SplitHostPort(e.rtp.LocalAddr().String())
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + port +
		" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
}

// TestStrangerCallsInOverTLS: a stranger calls the service number on
// callrec's TLS listener; callrec calls the owner through the TLS trunk
// (its certificate verified against trunk.tls_ca with
// trunk.tls_server_name); the owner answers, the stranger is answered, and
// the owner hangs up: both legs end and the call is recorded as completed.
func TestStrangerCallsInOverTLS(t *testing.T) {
	t.Parallel()
	requireCallrec(t)
	callrecTLS := makeTLSFiles(t, "callrec.test")
	trunkTLS := makeTLSFiles(t, "trunk.test")

	// The owner's BYE goes to callrec's Contact: its TLS listener, whose
	// certificate the trunk verifies.
	trunk := newTLSEndpoint(t, "trunk", &tls.Config{RootCAs: callrecTLS.pool, ServerName: "callrec.test"}, &trunkTLS.pair)
	answered := make(chan *sipgo.DialogServerSession, 1)
	trunk.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		trunk.invites <- req
		dlg, err := trunk.uas.ReadInvite(req, tx)
		if err != nil {
			return
		}
		_ = dlg.Respond(180, "Ringing", nil)
		time.Sleep(500 * time.Millisecond) // the owner's phone rings a moment
		if err := dlg.RespondSDP(trunk.sdp()); err != nil {
			return
		}
		answered <- dlg
		<-dlg.Context().Done()
	})
	_, trunkPort, _ := net.SplitHostPort(trunk.addr)
	tlsPort := freePorts(t, 1, true)
	cfg := config{}
	cfg.TrunkPort, _ = strconv.Atoi(trunkPort)
	cr := startCallrec(t, cfg,
		"CALLREC_SIP_TLS_LISTEN=127.0.0.1:"+strconv.Itoa(tlsPort),
		"CALLREC_SIP_TLS_CERT="+callrecTLS.cert, "CALLREC_SIP_TLS_KEY="+callrecTLS.key,
		"CALLREC_TRUNK_TRANSPORT=tls", "CALLREC_TRUNK_TLS_CA="+trunkTLS.ca, "CALLREC_TRUNK_TLS_SERVER_NAME=trunk.test")
	cr.waitLog(10*time.Second, "TLS certificate loaded", "CN=callrec.test")

	stranger := newTLSEndpoint(t, "stranger", &tls.Config{RootCAs: callrecTLS.pool, ServerName: "callrec.test"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	target := sip.Uri{Scheme: "sip", User: serviceNumber, Host: "127.0.0.1", Port: tlsPort, UriParams: sip.NewParams()}
	target.UriParams.Add("transport", "tls")
	inv := sip.NewRequest(sip.INVITE, target)
	inv.SetTransport("TLS")
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: strangerNum, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	inv.AppendHeader(from)
	inv.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: serviceNumber, Host: "127.0.0.1"}, Params: sip.NewParams()})
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody(stranger.sdp())
	dlg, err := stranger.uac.WriteInvite(ctx, inv)
	if err != nil {
		t.Fatalf("stranger INVITE over TLS: %v", err)
	}
	var codes []int
	err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		codes = append(codes, res.StatusCode)
		return nil
	}})
	if err != nil {
		t.Fatalf("stranger not answered (responses %v): %v", codes, err)
	}
	if !containsInt(codes, 183) {
		t.Errorf("stranger got %v before the 200, want 183 (early media)", codes)
	}
	if c := dlg.InviteResponse.Contact(); c == nil || !strings.Contains(c.Value(), "transport=tls") {
		t.Errorf("200 Contact %v, want callrec's TLS address", dlg.InviteResponse.Contact())
	}
	if err := dlg.Ack(ctx); err != nil {
		t.Fatalf("stranger ACK: %v", err)
	}

	trunkInv := <-trunk.invites
	if got := trunkInv.Recipient.User; got != ownerNumber {
		t.Errorf("trunk INVITE to %q, want the owner %q", got, ownerNumber)
	}
	if v := trunkInv.Via(); v == nil || v.Transport != "TLS" {
		t.Errorf("trunk INVITE Via %v, want TLS", trunkInv.Via())
	}
	var owner *sipgo.DialogServerSession
	select {
	case owner = <-answered:
	case <-ctx.Done():
		t.Fatal("the trunk never answered")
	}
	time.Sleep(2 * time.Second) // the call goes on a moment
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := owner.Bye(bctx); err != nil {
		t.Fatalf("owner BYE: %v", err)
	}
	select {
	case <-stranger.byes:
	case <-time.After(15 * time.Second):
		t.Fatal("callrec did not hang up the stranger over TLS after the owner hung up")
	}
	if rec := cr.oneCall(); rec.Direction != "inbound" || rec.Party != strangerNum || rec.Status != "completed" {
		t.Errorf("call record %v: want inbound from %s, completed", rec, strangerNum)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestTLSWithSIPp: SIPp calls callrec's TLS listener when SIPp has TLS
// (Debian's does not: it is built without OpenSSL), and gets an answer to
// OPTIONS.
func TestTLSWithSIPp(t *testing.T) {
	t.Parallel()
	requireCallrec(t)
	probe, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A SIPp without TLS says so at once; one with TLS tries a port where
	// nothing listens and is stopped by the timeout.
	out, _ := exec.CommandContext(probe, env.sipp, "-t", "l1", "-sn", "uac", "-m", "1", "-timeout", "2s", "127.0.0.1:9").CombinedOutput()
	if strings.Contains(string(out), "compile SIPp with OpenSSL") {
		t.Skip("this SIPp has no TLS (built without OpenSSL); TestStrangerCallsInOverTLS covers TLS with in-test SIP endpoints")
	}
	callrecTLS := makeTLSFiles(t, "127.0.0.1")
	tlsPort := freePorts(t, 1, true)
	startCallrec(t, config{}, "CALLREC_SIP_TLS_LISTEN=127.0.0.1:"+strconv.Itoa(tlsPort),
		"CALLREC_SIP_TLS_CERT="+callrecTLS.cert, "CALLREC_SIP_TLS_KEY="+callrecTLS.key)
	scenario := mustRead(filepath.Join("testdata", "sipp", "options-tls.xml"))
	dir := t.TempDir()
	sf := filepath.Join(dir, "options-tls.xml")
	if err := os.WriteFile(sf, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t, 1, true)
	cmd := exec.Command(env.sipp, "-sf", sf, "-t", "l1", "-tls_cert", callrecTLS.cert, "-tls_key", callrecTLS.key,
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
		fmt.Sprintf("127.0.0.1:%d", tlsPort))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp over TLS: %v\n%s", err, out)
	}
}
