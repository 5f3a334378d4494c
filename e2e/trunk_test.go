package e2e

// The SIP trunk's account: digest authentication of callrec's INVITEs,
// and registration with the trunk and its refresh.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The trunk account callrec is given, as environment variables (the
// config template cannot set trunk.* keys): the credentials the tests'
// trunk and registrar check, and the same with registration (60 s).
var (
	trunkAccountEnv  = []string{"CALLREC_TRUNK_USERNAME=" + trunkUser, "CALLREC_TRUNK_PASSWORD=" + trunkPass}
	trunkRegisterEnv = []string{"CALLREC_TRUNK_USERNAME=" + trunkUser, "CALLREC_TRUNK_PASSWORD=" + trunkPass,
		"CALLREC_TRUNK_REGISTER=true", "CALLREC_TRUNK_REGISTER_EXPIRY=60s"}
)

// TestTrunkDigestAuth: with trunk.username and trunk.password set, the
// trunk answers callrec's INVITE with 401; callrec sends it again with an
// Authorization the trunk verifies (SIPp verifyauth), and the call is
// bridged and recorded.
func TestTrunkDigestAuth(t *testing.T) {
	t.Parallel()
	for _, qop := range []bool{false, true} {
		t.Run(fmt.Sprintf("qop=%v", qop), func(t *testing.T) {
			t.Parallel()
			tn := makeTones(t)
			cfg := config{TrunkPort: freePorts(t, 1, true)}
			trunk := startSIPp(t, sippOpts{Name: "trunk", Port: cfg.TrunkPort, Scenario: authPeer{
				Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: qop, Tone: tn.owner,
			}.render(t, "trunk-auth")})
			cr := startCallrec(t, cfg, trunkAccountEnv...)
			stranger := call(t, cr, "stranger", callerScenario{
				From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Tone: tn.other,
				Steps: []step{pause(4000), hangup()},
			}, sippOpts{})
			stranger.mustPass(callTimeout)
			trunk.mustPass(10 * time.Second)
			if t.Failed() {
				return
			}
			invs := requests(trunk.messages(), "INVITE", false)
			if len(invs) != 2 {
				t.Fatalf("trunk got %d INVITEs, want 2 (challenged, then authenticated): %s", len(invs), trunk.summary())
			}
			if a := invs[0].Header("Authorization"); a != "" {
				t.Errorf("first INVITE already carries Authorization %q", a)
			}
			auth := invs[1].Header("Authorization")
			t.Logf("Authorization: %s", auth)
			for _, want := range []string{"Digest ", `username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, `nonce="` + trunkNonce + `"`, "response="} {
				if !strings.Contains(auth, want) {
					t.Errorf("second INVITE's Authorization %q lacks %s", auth, want)
				}
			}
			if strings.Contains(invs[1].Raw, trunkPass) {
				t.Error("the password appears in clear in the INVITE")
			}
			if invs[0].Header("Call-ID") != invs[1].Header("Call-ID") || invs[0].Header("CSeq") == invs[1].Header("CSeq") {
				t.Errorf("authenticated INVITE: Call-ID %q CSeq %q after %q %q; want the same Call-ID and a new CSeq",
					invs[1].Header("Call-ID"), invs[1].Header("CSeq"), invs[0].Header("Call-ID"), invs[0].Header("CSeq"))
			}
			if got := uriUser(invs[1].URI); got != ownerNumber {
				t.Errorf("authenticated INVITE to %q, want the owner %q", got, ownerNumber)
			}
			rec := cr.oneCall()
			if rec.Status != "completed" || rec.AnsweredAt == nil || rec.RecordingState != "complete" {
				t.Errorf("call record %v: want status completed, answered_at set, recording_state complete", rec)
			}
			checkRecording(t, cr, rec, bridged(t, trunk), 2)
		})
	}
}

// TestTrunkRegister: with trunk.register, callrec REGISTERs with the
// trunk as trunk.username, answers the 401 challenge, and takes the 60 s
// the registrar grants; its Contact is its SIP listen address.
func TestTrunkRegister(t *testing.T) {
	t.Parallel()
	cfg := config{TrunkPort: freePorts(t, 1, true), SIPPort: freePorts(t, 1, true)}
	reg := startSIPp(t, sippOpts{Name: "registrar", Port: cfg.TrunkPort, Scenario: authPeer{
		Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: true,
	}.render(t, "registrar")})
	start := time.Now()
	cr := startCallrec(t, cfg, trunkRegisterEnv...)
	// 20 s: room for one failed attempt and callrec's 5 s back-off (see
	// the end of the test), and a second one.
	reg.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}
	msgs := reg.messages()
	firstREGISTER := msgs[0].Time.Sub(start)
	t.Logf("registrar: %s; first REGISTER %v after callrec started, 200 %v later",
		reg.summary(), firstREGISTER.Round(time.Millisecond), msgs[len(msgs)-1].Time.Sub(msgs[0].Time).Round(time.Millisecond))
	line := cr.waitLog(5*time.Second, "registered with trunk")
	if !strings.Contains(line, "expires=1m0s") {
		t.Errorf("callrec logged %q; want the 60 s the registrar granted", line)
	}
	regs := requests(reg.messages(), "REGISTER", false)
	if len(regs) != 2 {
		t.Fatalf("registrar got %d REGISTERs, want 2 (challenged, then authenticated): %s", len(regs), reg.summary())
	}
	for i, r := range regs {
		for _, h := range []string{"To", "From"} {
			if got := uriUser(r.Header(h)); got != trunkUser {
				t.Errorf("REGISTER %d: %s %q has user %q, want trunk.username %q", i+1, h, r.Header(h), got, trunkUser)
			}
		}
		contact := r.Header("Contact")
		if !strings.Contains(contact, "@"+cr.SIPAddr()) && !strings.Contains(contact, "sip:"+cr.SIPAddr()) {
			t.Errorf("REGISTER %d: Contact %q does not point at callrec's SIP address %s", i+1, contact, cr.SIPAddr())
		}
		if e := r.Header("Expires"); e != "60" {
			t.Errorf("REGISTER %d: Expires %q, want 60 (trunk.register_expiry)", i+1, e)
		}
		if !strings.HasPrefix(r.URI, "sip:127.0.0.1") {
			t.Errorf("REGISTER %d: Request-URI %q, want the trunk's domain", i+1, r.URI)
		}
	}
	auth := regs[1].Header("Authorization")
	t.Logf("REGISTER: %s; Authorization: %s", regs[1].Header("Contact"), auth)
	for _, want := range []string{`username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, `nonce="` + trunkNonce + `"`, "qop=auth", "nc=", "cnonce="} {
		if !strings.Contains(auth, want) {
			t.Errorf("second REGISTER's Authorization %q lacks %s", auth, want)
		}
	}
	if regs[0].Header("Call-ID") != regs[1].Header("Call-ID") {
		t.Errorf("the authenticated REGISTER has a new Call-ID %q (was %q); RFC 3261 §10.2 wants the same", regs[1].Header("Call-ID"), regs[0].Header("Call-ID"))
	}
	if ok, found := firstResponse(reg.messages(), 200, "REGISTER", true); !found || ok.Header("Expires") != "60" {
		t.Errorf("registrar's 200: %q", ok.Raw)
	}

	// callrec should register as it starts, not after a failed attempt and
	// a 5 s back-off.
	if firstREGISTER > 2*time.Second {
		t.Errorf("the first REGISTER reached the trunk %v after callrec started, want at once", firstREGISTER)
	}
	for _, line := range strings.Split(cr.log.String(), "\n") {
		if strings.Contains(line, "registration with trunk failed") {
			t.Errorf("callrec: %s", line)
		}
	}
}

// TestRegisterRefresh: the registrar grants 3 s; callrec refreshes its
// registration at 80 % of that, 2.4 s after the 200, and the refresh is
// authenticated. The first registrar (registrar.xml.tmpl, 401 then
// 200) takes one dialog only, so a second one takes over the port for the
// refresh (which may come with credentials or be challenged again).
func TestRegisterRefresh(t *testing.T) {
	t.Parallel()
	const granted = 3
	cfg := config{TrunkPort: freePorts(t, 1, true), SIPPort: freePorts(t, 1, true)}
	peer := authPeer{Realm: trunkRealm, Nonce: trunkNonce, User: trunkUser, Pass: trunkPass, QOP: true}
	short := peer
	short.Expires = granted
	reg := startSIPp(t, sippOpts{Name: "registrar", Port: cfg.TrunkPort, Scenario: short.render(t, "registrar")})
	cr := startCallrec(t, cfg, trunkRegisterEnv...)
	reg.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}
	ok, found := firstResponse(reg.messages(), 200, "REGISTER", true)
	if !found {
		t.Fatalf("the registrar sent no 200: %s", reg.summary())
	}
	refresh := startSIPp(t, sippOpts{Name: "registrar-refresh", Port: cfg.TrunkPort, Scenario: peer.render(t, "registrar-refresh")})
	ready := time.Since(ok.Time)
	t.Logf("the second registrar was listening %v after the first 200", ready.Round(time.Millisecond))
	if ready > 2*time.Second {
		t.Fatalf("the second registrar took %v to listen after the 200; the refresh is due 2.4 s after it: the machine is too slow for this test", ready)
	}
	refresh.mustPass(20 * time.Second)
	if t.Failed() {
		return
	}

	first := requests(reg.messages(), "REGISTER", false)
	regs := requests(refresh.messages(), "REGISTER", false)
	t.Logf("registrar: %s; refresh registrar: %s", reg.summary(), refresh.summary())
	if len(regs) == 0 {
		t.Fatalf("no refresh REGISTER: %s", refresh.summary())
	}
	after := regs[0].Time.Sub(ok.Time)
	t.Logf("refresh REGISTER %v after the 200 that granted %d s", after.Round(time.Millisecond), granted)
	if after < 2200*time.Millisecond || after > granted*time.Second {
		t.Errorf("the refresh REGISTER came %v after the 200 granting %d s; want at 80 %% of it (2.4 s), before expiry", after, granted)
	}
	last := regs[len(regs)-1]
	auth := last.Header("Authorization")
	t.Logf("refresh: Call-ID %q CSeq %q, %d REGISTER(s); Authorization: %s", last.Header("Call-ID"), last.Header("CSeq"), len(regs), auth)
	for _, want := range []string{`username="` + trunkUser + `"`, `realm="` + trunkRealm + `"`, "response="} {
		if !strings.Contains(auth, want) {
			t.Errorf("the refresh's Authorization %q lacks %s", auth, want)
		}
	}
	for _, r := range regs {
		if e := r.Header("Expires"); e != "60" {
			t.Errorf("refresh REGISTER: Expires %q, want 60 (trunk.register_expiry)", e)
		}
		if c := r.Header("Contact"); !strings.Contains(c, cr.SIPAddr()) {
			t.Errorf("refresh REGISTER: Contact %q does not point at callrec's SIP address %s", c, cr.SIPAddr())
		}
		if strings.Contains(r.Raw, trunkPass) {
			t.Error("the password appears in clear in a REGISTER")
		}
	}
	cr.waitLog(5*time.Second, "registered with trunk", "expires=1m0s")
	if !strings.Contains(cr.log.String(), "expires=3s") {
		t.Errorf("callrec did not log the 3 s the first registrar granted")
	}
	for _, line := range strings.Split(cr.log.String(), "\n") {
		if strings.Contains(line, "registration with trunk failed") {
			t.Errorf("callrec: %s", line)
		}
	}
	if t.Failed() {
		return
	}
	// RFC 3261 §10.2.4: a refresh SHOULD reuse the Call-ID of the
	// registration (CSeq one higher), as the challenged REGISTER does.
	if cid := first[0].Header("Call-ID"); regs[0].Header("Call-ID") != cid {
		t.Errorf("the refresh REGISTER has a new Call-ID %q and CSeq %q (the registration had %q, CSeq %q); RFC 3261 §10.2.4 keeps them",
			regs[0].Header("Call-ID"), regs[0].Header("CSeq"), cid, first[len(first)-1].Header("CSeq"))
	}
}
