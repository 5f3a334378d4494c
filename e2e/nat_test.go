package e2e

// callrec behind NAT, as in an office: the box in a private network behind
// a masquerading router (harness_netns_test.go), the trunk and the phones
// outside. With port forwards and sip/media.external_address set to the
// router's public address, calls go both ways with audio both ways; with no
// forwards, callrec registers through the NAT and its keep-alives hold the
// binding open past the router's (shortened) UDP timeout so calls still
// reach it. And with external_address set, a call from loopback is still
// answered, with the external address written as for any peer.

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// Ports inside the NAT tests' namespaces, which are the test's own.
const (
	natSIPPort   = 5060
	natRTPLo     = 30000
	natRTPHi     = 30039
	natTrunkPort = 5070 // the trunk (SIPp) outside
	natPhonePort = 5080 // a phone (SIPp) outside
	natRegPort   = 5090 // the registrar (Kamailio) outside
)

// externalValue is what to give the external-address key: ip, or ip:port
// when the example configuration writes the key as host:port.
func externalValue(t *testing.T, key, ip string, port int) string {
	t.Helper()
	if v, _ := configKey(t, key); strings.Contains(fmt.Sprint(v), ":") {
		return fmt.Sprintf("%s:%d", ip, port)
	}
	return ip
}

// natOffice is callrec in the office namespace of a natNet.
type natOffice struct {
	n  *natNet
	cr *callrec
}

// startNATOffice builds the NAT network and starts callrec in the office
// with its trunk outside at trunkAddr ("": the SIPp trunk's); forward adds the port forwards (SIP
// over UDP and TCP, the RTP range) and the external addresses.
func startNATOffice(t *testing.T, forward bool, trunkAddr string, trunk map[string]any, extraEnv ...string) natOffice {
	t.Helper()
	n := newNATNet(t)
	if trunkAddr == "" {
		trunkAddr = fmt.Sprintf("%s:%d", n.OutsideIP, natTrunkPort)
	}
	y := nsCallrecYAML{
		IP: n.OfficeIP, SIPPort: natSIPPort, RTPLo: natRTPLo, RTPHi: natRTPHi,
		TrunkAddr: trunkAddr, Allowed: []string{n.OutsideIP + "/32"}, Trunk: trunk,
	}
	if forward {
		n.forward(t, "udp", natSIPPort, natSIPPort)
		n.forward(t, "tcp", natSIPPort, natSIPPort)
		n.forward(t, "udp", natRTPLo, natRTPHi)
		y.SIP = map[string]any{"external_address": externalValue(t, "sip.external_address", n.PublicIP, natSIPPort)}
		y.Media = map[string]any{"external_address": externalValue(t, "media.external_address", n.PublicIP, 0)}
	}
	return natOffice{n: n, cr: startCallrecIn(t, n.Office, y, extraEnv...)}
}

// outsideSIPp starts SIPp outside the NAT on port (media port+1000).
func (o natOffice) outsideSIPp(t *testing.T, name string, port int, remote, scenario string) *sipp {
	t.Helper()
	return startSIPpIn(t, o.n.Outside, sippOpts{Name: name, LocalIP: o.n.OutsideIP, Port: port, MediaPort: port + 1000,
		Remote: remote, Scenario: scenario})
}

// checkPublic fails the test unless what callrec sent (m, as a peer
// outside received it) names the public address in its SDP, Via and
// Contact, and the private address nowhere but (logged) the SDP origin.
func (o natOffice) checkPublic(t *testing.T, what string, m sipMsg) {
	t.Helper()
	for _, line := range strings.Split(m.Raw, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case !strings.Contains(line, o.n.OfficeIP):
		case strings.HasPrefix(line, "o="):
			// The SDP origin only names the session; RFC 4566 lets it
			// be any address, so it is reported, not failed.
			t.Logf("%s: the SDP origin names the private address: %q", what, line)
		default:
			t.Errorf("%s names the office's private address %s: %q", what, o.n.OfficeIP, line)
		}
	}
	if m.Body != "" {
		if ip, _ := sdpAudio(m.Body); ip != o.n.PublicIP {
			t.Errorf("%s: SDP media address %q, want the public address %s", what, ip, o.n.PublicIP)
		}
	}
	if c := m.Header("Contact"); c != "" && !strings.Contains(c, o.n.PublicIP) {
		t.Errorf("%s: Contact %q, want the public address %s", what, c, o.n.PublicIP)
	}
}

// TestNATPortForward: the office box behind the router with SIP and the
// RTP range forwarded to it and sip/media.external_address set to the
// router's public address. A stranger calls in and the owner is called out
// (Go sockets outside for media, so what each side received is checked);
// the owner dials out (SIPp streams and types keys through the NAT). What
// callrec sends names only the public address, and the recordings carry
// both sides.
func TestNATPortForward(t *testing.T) {
	t.Parallel()
	requireNetns(t)
	requireConfigKey(t, "sip.external_address", "media.external_address")
	t.Run("call-in", func(t *testing.T) {
		t.Parallel()
		o := startNATOffice(t, true, "", nil)
		n := o.n
		strangerEar := rtpSinkOn(t, n.Outside.listenUDP(n.OutsideIP, 7000))
		ownerEar := rtpSinkOn(t, n.Outside.listenUDP(n.OutsideIP, 7100))
		trunk := o.outsideSIPp(t, "trunk", natTrunkPort, "", trunkScenario{}.renderSDP(t, sdp([]codec{pcmu}, 0, 7100)))
		stranger := o.outsideSIPp(t, "stranger", natPhonePort, fmt.Sprintf("%s:%d", n.PublicIP, natSIPPort), callerScenario{
			From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Codecs: []codec{pcmu},
			SDPPort: 7000, Steps: []step{pause(8000), hangup()},
		}.render(t))
		early := stranger.waitMessage(20*time.Second, "183 with SDP", func(m sipMsg) bool {
			return !m.Sent && m.Status == 183 && m.CSeq == "INVITE"
		})
		go strangerEar.sendTone(otherHz, sdpTarget(t, early.Body), stranger.done)
		inv := trunk.waitMessage(30*time.Second, "INVITE from callrec", func(m sipMsg) bool {
			return !m.Sent && m.Method == "INVITE"
		})
		go ownerEar.sendTone(ownerHz, sdpTarget(t, inv.Body), trunk.done)
		stranger.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}
		o.checkPublic(t, "callrec's 183 to the stranger", early)
		o.checkPublic(t, "callrec's 200 to the stranger", firstOK(t, stranger, "1"))
		o.checkPublic(t, "callrec's INVITE to the trunk", inv)
		b := bridged(t, trunk)
		for _, ear := range []struct {
			name string
			sink *rtpSink
			hz   int
		}{{"stranger", strangerEar, ownerHz}, {"trunk", ownerEar, otherHz}} {
			hits, _ := toneFrames(g711Samples(ear.sink.packets()), float64(ear.hz))
			if heard, want := float64(hits*frameMS)/1000, b.Seconds()-2.5; heard < want {
				t.Errorf("the %s heard the other side's %d Hz for %.2f s through the NAT; bridged %.2f s, want at least %.2f s", ear.name, ear.hz, heard, b.Seconds(), want)
			}
		}
		checkRecording(t, o.cr, o.cr.oneCall(), b, math.Max(2, b.Seconds()-3))
	})
	t.Run("dial-out", func(t *testing.T) {
		t.Parallel()
		o := startNATOffice(t, true, "", nil)
		n := o.n
		tn := makeTones(t)
		trunk := o.outsideSIPp(t, "trunk", natTrunkPort, "", trunkScenario{Tone: tn.other}.render(t))
		owner := o.outsideSIPp(t, "owner", natPhonePort, fmt.Sprintf("%s:%d", n.PublicIP, natSIPPort), ownerDialsOut(t, tn, "2125550123", 5000).render(t))
		owner.mustPass(callTimeout)
		trunk.mustPass(10 * time.Second)
		if t.Failed() {
			return
		}
		inv := trunkINVITE(t, trunk)
		checkOutboundINVITE(t, inv, "+12125550123")
		o.checkPublic(t, "callrec's INVITE to the trunk", inv)
		o.checkPublic(t, "callrec's 200 to the owner", firstOK(t, owner, "1"))
		rec := o.cr.oneCall()
		if rec.Direction != "outbound" || rec.Status != "completed" {
			t.Errorf("call record %v: want outbound, completed", rec)
		}
		b := bridged(t, trunk)
		checkRecording(t, o.cr, rec, b, math.Max(2, b.Seconds()-3))
	})
}

// natRegistered is callrec registered through a NAT without port forwards
// with Kamailio outside, and the router's UDP binding timeout shortened.
type natRegistered struct {
	natOffice
	registrar *nsProcess
}

// natBindingSeconds is the router's shortened UDP binding timeout in the
// registration tests.
const natBindingSeconds = 3

// startNATRegistered starts the NAT network, Kamailio as registrar and
// proxy outside, and callrec registering with it (trunk holds more trunk
// keys, such as the keep-alive), and waits until callrec is registered.
func startNATRegistered(t *testing.T, trunk map[string]any) natRegistered {
	t.Helper()
	requireTool(t, "kamailio", "kamailio")
	n := newNATNet(t)
	n.udpBindingTimeout(t, natBindingSeconds)
	regAddr := fmt.Sprintf("%s:%d", n.OutsideIP, natRegPort)
	reg := startRegistrar(t, n.Outside, kamailioRegistrar{
		IP: n.OutsideIP, Port: natRegPort, AOR: trunkUser + "@" + n.OutsideIP, BoxIP: n.PublicIP,
		TrunkAddr: fmt.Sprintf("%s:%d", n.OutsideIP, natTrunkPort),
	})
	keys := map[string]any{"username": trunkUser, "password": trunkPass, "register": true, "register_expiry": "1m"}
	for k, v := range trunk {
		keys[k] = v
	}
	y := nsCallrecYAML{IP: n.OfficeIP, SIPPort: natSIPPort, RTPLo: natRTPLo, RTPHi: natRTPHi,
		TrunkAddr: regAddr, Allowed: []string{n.OutsideIP + "/32"}, Trunk: keys}
	cr := startCallrecIn(t, n.Office, y)
	cr.waitLog(15*time.Second, "registered with trunk")
	regLine := func() bool { return strings.Contains(reg.out.String(), "registered sip:"+trunkUser) }
	for deadline := time.Now().Add(5 * time.Second); !regLine(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Kamailio logged no registration of %s:\n%s", trunkUser, reg.out)
		}
	}
	return natRegistered{natOffice: natOffice{n: n, cr: cr}, registrar: reg}
}

// callAfterIdle waits past twice the binding timeout, then has a stranger
// call the service number at the registrar (which sends it to callrec's
// registered binding), with the trunk answering for the owner. It
// returns the stranger's SIPp once its scenario has run.
func (r natRegistered) callAfterIdle(t *testing.T, c callerScenario) *sipp {
	t.Helper()
	time.Sleep(2*natBindingSeconds*time.Second + 500*time.Millisecond)
	r.registrar.alive(t)
	tn := makeTones(t)
	trunk := r.outsideSIPp(t, "trunk", natTrunkPort, "", trunkScenario{Tone: tn.owner}.render(t))
	stranger := r.outsideSIPp(t, "stranger", natPhonePort, fmt.Sprintf("%s:%d", r.n.OutsideIP, natRegPort), c.render(t))
	stranger.mustPass(callTimeout)
	if c.Expect == 0 || c.Expect == 200 {
		trunk.mustPass(10 * time.Second)
	}
	return stranger
}

// keepaliveKeys are the trunk keys that turn callrec's NAT keep-alive on
// (every second) or off, in the form the binary's example configuration
// gives trunk.keepalive (a duration, or a switch with
// trunk.keepalive_interval beside it); ok is false when the binary has no
// such key.
func keepaliveKeys(t *testing.T, on bool) (keys map[string]any, ok bool) {
	t.Helper()
	v, ok := configKey(t, "trunk.keepalive")
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case bool:
		keys = map[string]any{"keepalive": on}
		if _, ok := configKey(t, "trunk.keepalive_interval"); ok && on {
			keys["keepalive_interval"] = "1s"
		}
	default:
		keys = map[string]any{"keepalive": "1s"}
		if !on {
			keys["keepalive"] = "0s"
		}
	}
	return keys, true
}

// TestNATRegisterKeepalive: no port forwards; callrec registers through
// the NAT with Kamailio outside, the router forgets an idle UDP binding
// after 3 s, and callrec's trunk.keepalive holds it open: a call that
// arrives after twice that reaches callrec and is bridged.
func TestNATRegisterKeepalive(t *testing.T) {
	t.Parallel()
	requireNetns(t)
	requireConfigKey(t, "trunk.keepalive")
	keys, _ := keepaliveKeys(t, true)
	r := startNATRegistered(t, keys)
	stranger := r.callAfterIdle(t, callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101, Steps: []step{pause(4000), hangup()},
	})
	if t.Failed() {
		t.Logf("router's UDP conntrack:\n%s", r.n.conntrackUDP(t))
		return
	}
	if got := statuses(stranger.messages(), "INVITE", false); !contains(got, 183) || !contains(got, 200) {
		t.Errorf("the stranger got %v to the INVITE, want callrec's 183 and 200 through the NAT", got)
	}
	rec := r.cr.oneCall()
	if rec.Direction != "inbound" || rec.Status != "completed" {
		t.Errorf("call record %v: want inbound, completed", rec)
	}
}

// TestNATBindingExpires is TestNATRegisterKeepalive's control: with no
// keep-alive the router forgets callrec's binding, so the same call never
// reaches callrec (the registrar gives up with 408). It shows the shortened
// binding timeout really bites, so the keep-alive test proves something.
func TestNATBindingExpires(t *testing.T) {
	t.Parallel()
	requireNetns(t)
	requireCallrec(t)
	keys, _ := keepaliveKeys(t, false)
	r := startNATRegistered(t, keys)
	r.callAfterIdle(t, callerScenario{From: strangerNum, To: serviceNumber, Expect: 408})
	if t.Failed() {
		return
	}
	recs, err := r.cr.calls()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("callrec took a call although its NAT binding should have expired: %v", recs)
	}
}

// TestNATExternalAddressOnLoopback documents a choice: with
// sip.external_address and media.external_address set, callrec writes the
// external address for every peer, one on loopback (no NAT in between)
// too: Via and Contact of what it sends, and the SDP of both legs. It still
// answers such a peer, because its responses go back where the request
// came from (RFC 3581), not to what the peer's Via or callrec's own
// Contact say, so the call is answered, bridged and hung up. The external
// address here is a loopback address nothing listens on, so media sent to
// it is lost: a box with both local and remote peers needs its router to
// hairpin the public address. The media and the recording are therefore
// not checked.
func TestNATExternalAddressOnLoopback(t *testing.T) {
	t.Parallel()
	requireConfigKey(t, "sip.external_address", "media.external_address")
	const external = "127.0.0.9"
	cr := startCallrec(t, config{},
		"CALLREC_SIP_EXTERNAL_ADDRESS="+external, "CALLREC_MEDIA_EXTERNAL_ADDRESS="+external)
	stranger, trunk := callThrough(t, cr, trunkScenario{}, "stranger", callerScenario{
		From: strangerNum, To: serviceNumber, Early: true, EventPT: 101,
		Steps: []step{pause(4000), hangup()},
	}, sippOpts{})
	if t.Failed() {
		return
	}
	for _, m := range []struct {
		what string
		msg  sipMsg
	}{
		{"callrec's 200 to the stranger", firstOK(t, stranger, "1")},
		{"callrec's INVITE to the trunk", trunkINVITE(t, trunk)},
	} {
		if c := m.msg.Header("Contact"); !strings.Contains(c, external) {
			t.Errorf("%s: Contact %q, want the external address %s", m.what, c, external)
		}
		if ip, _ := sdpAudio(m.msg.Body); ip != external {
			t.Errorf("%s: SDP media address %q, want the external address %s", m.what, ip, external)
		}
	}
	if v := trunkINVITE(t, trunk).Header("Via"); !strings.Contains(v, external) {
		t.Errorf("callrec's INVITE to the trunk: Via %q, want the external address %s as sent-by", v, external)
	}
	rec := cr.oneCall()
	if rec.Status != "completed" || rec.AnsweredAt == nil {
		t.Errorf("call record %v: want completed and answered", rec)
	}
}
