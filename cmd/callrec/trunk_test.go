package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/callrec/callrec/internal/config"
)

const (
	checkUser  = "alice"
	checkPass  = "s3cret"
	checkRealm = "trunk.test"
	checkNonce = "n0nce"
)

// checkTrunk is an in-process UDP trunk: it answers OPTIONS with its
// headers and REGISTERs with a digest challenge, counting what arrives.
type checkTrunk struct {
	addr      string
	registers chan *sip.Request
	options   chan *sip.Request
}

func newCheckTrunk(t *testing.T) *checkTrunk {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-trunk/2.0"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &checkTrunk{addr: pc.LocalAddr().String(), registers: make(chan *sip.Request, 16), options: make(chan *sip.Request, 16)}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tr.options <- req
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Server", "test-trunk/2.0"))
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"))
		res.AppendHeader(sip.NewHeader("Supported", "replaces, timer"))
		_ = tx.Respond(res)
	})
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		tr.registers <- req
		if req.GetHeader("Authorization") == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm=%q, nonce=%q, algorithm=MD5`, checkRealm, checkNonce)))
			_ = tx.Respond(res)
			return
		}
		if !digestOK(req) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Expires", req.GetHeader("Expires").Value()))
		_ = tx.Respond(res)
	})
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() { ua.Close(); pc.Close() })
	return tr
}

// digestOK checks an RFC 2617 digest (no qop) for checkUser/checkPass.
func digestOK(req *sip.Request) bool {
	v, ok := strings.CutPrefix(req.GetHeader("Authorization").Value(), "Digest ")
	if !ok {
		return false
	}
	params := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		params[k] = strings.Trim(val, `"`)
	}
	md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1 := md5hex(params["username"] + ":" + checkRealm + ":" + checkPass)
	ha2 := md5hex(string(req.Method) + ":" + params["uri"])
	return params["username"] == checkUser && params["response"] == md5hex(ha1+":"+checkNonce+":"+ha2)
}

// checkConfig is a configuration whose trunk is at addr.
func checkConfig(addr string) *config.Config {
	cfg := config.Default()
	cfg.ServiceNumber, cfg.OwnerNumber = "+15550100000", "+15550100001"
	cfg.SIP.Listen = "127.0.0.1:5060" // never bound: the check takes an ephemeral port
	cfg.Trunk.Address = addr
	return cfg
}

func runCheck(t *testing.T, cfg *config.Config, timeout time.Duration) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cmdTrunkCheck(context.Background(), cfg, trunkCheckOptions{timeout: timeout}, &out, &errOut)
	return out.String(), err
}

func TestTrunkCheckOptions(t *testing.T) {
	trunk := newCheckTrunk(t)
	out, err := runCheck(t, checkConfig(trunk.addr), 5*time.Second)
	if err != nil {
		t.Fatalf("trunk check: %v\n%s", err, out)
	}
	for _, want := range []string{
		"trunk " + trunk.addr + " over UDP", "OPTIONS: 200 OK in ", "server:      test-trunk/2.0",
		"allow:       INVITE, ACK, BYE, CANCEL, OPTIONS", "supported:   replaces, timer", "seen at:     127.0.0.1:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "REGISTER") {
		t.Errorf("registered with trunk.register off:\n%s", out)
	}
	req := <-trunk.options
	if req.Via() == nil || !req.Via().Params.Has("rport") {
		t.Errorf("OPTIONS Via %v lacks rport", req.Via())
	}
}

func TestTrunkCheckRegisters(t *testing.T) {
	trunk := newCheckTrunk(t)
	cfg := checkConfig(trunk.addr)
	cfg.Trunk.Register, cfg.Trunk.Username, cfg.Trunk.Password = true, checkUser, checkPass
	out, err := runCheck(t, cfg, 5*time.Second)
	if err != nil {
		t.Fatalf("trunk check: %v\n%s", err, out)
	}
	for _, want := range []string{"REGISTER: registered, for 1h0m0s", "un-REGISTER: done (Expires: 0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	var expires []string
	for len(trunk.registers) > 0 {
		req := <-trunk.registers
		expires = append(expires, req.GetHeader("Expires").Value())
	}
	if got := strings.Join(expires, ","); got != "3600,3600,0,0" {
		t.Errorf("REGISTER Expires %s, want a challenged registration then a challenged un-registration", got)
	}
}

func TestTrunkCheckBadCredentials(t *testing.T) {
	trunk := newCheckTrunk(t)
	cfg := checkConfig(trunk.addr)
	cfg.Trunk.Register, cfg.Trunk.Username, cfg.Trunk.Password = true, checkUser, "wrong"
	_, err := runCheck(t, cfg, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "trunk.username and trunk.password") {
		t.Fatalf("trunk check = %v, want an error about the credentials", err)
	}
}

func TestTrunkCheckNoAnswer(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, err = runCheck(t, checkConfig(silent.LocalAddr().String()), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not answer OPTIONS within 300ms") {
		t.Fatalf("trunk check = %v, want a no-answer error", err)
	}
}

func TestTrunkCheckRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := checkConfig(addr)
	cfg.Trunk.Transport = "tcp"
	_, err = runCheck(t, cfg, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "refused the connection") {
		t.Fatalf("trunk check = %v, want a refused-connection error", err)
	}
}

// TestTrunkCheckExitStatus runs the command line: 1 and a message when
// the trunk does not answer.
func TestTrunkCheckExitStatus(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	t.Setenv("CALLREC_CONFIG", "")
	t.Setenv("CALLREC_SERVICE_NUMBER", "+15550100000")
	t.Setenv("CALLREC_OWNER_NUMBER", "+15550100001")
	t.Setenv("CALLREC_TRUNK_ADDRESS", silent.LocalAddr().String())
	code, _, stderr := runCLI("trunk", "check", "--timeout", "200ms")
	if code != 1 || !strings.Contains(stderr, "did not answer OPTIONS") {
		t.Errorf("exit %d, stderr %q; want 1 and a no-answer message", code, stderr)
	}
}

func TestTrunkCheckHelp(t *testing.T) {
	for _, args := range [][]string{{"trunk", "check", "--help"}, {"help", "trunk", "check"}} {
		code, stdout, stderr := runCLI(args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, want := range []string{"Usage:\n  callrec trunk check", "--from-listen", "--timeout DURATION", "--config FILE",
			"\nExample:\n  callrec trunk check", "ephemeral port", "received/rport"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%v: no %q in\n%s", args, want, stdout)
			}
		}
	}
	if _, stdout, _ := runCLI("help"); !strings.Contains(stdout, "callrec trunk check") {
		t.Errorf("root help does not list callrec trunk check:\n%s", stdout)
	}
}
