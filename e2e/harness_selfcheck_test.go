package e2e

// TestHarness* run the generated SIPp scenarios against each other, without
// callrec, with Go sockets standing in for media endpoints where the test
// needs to see the packets. If one of these fails, the call tests' failures
// say nothing about callrec.

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHarnessDialOut: an owner typing keys over RFC 4733 while streaming a
// tone, against a trunk that rings, answers with its own tone and waits
// for BYE. The SDP on each side points at a Go socket, so the test sees
// exactly what each SIPp sends.
func TestHarnessDialOut(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	dir := t.TempDir()
	fromOwner, fromTrunk := newRTPSink(t), newRTPSink(t)

	trunk := startSIPp(t, sippOpts{Name: "trunk", Scenario: trunkScenario{
		RingMS: 300, Tone: writeToneULaw(t, dir+"/other.ul", otherHz), SDPPort: fromOwner.Port(),
	}.render(t)})
	owner := startSIPp(t, sippOpts{Name: "owner", Remote: trunk.Addr(), Scenario: callerScenario{
		From: ownerNumber, To: serviceNumber, EventPT: 101, SDPPort: fromTrunk.Port(),
		Tone:  writeToneULaw(t, dir+"/owner.ul", ownerHz),
		Steps: []step{pause(300), junkKeys(t, 101), keys(t, "2125550123#", 101), keys(t, "55", 101), pause(500), hangup()},
	}.render(t)})
	owner.mustPass(30 * time.Second)
	trunk.mustPass(5 * time.Second)

	inv := requests(trunk.messages(), "INVITE", false)
	if len(inv) != 1 || uriUser(inv[0].URI) != serviceNumber || uriUser(inv[0].Header("From")) != ownerNumber {
		t.Errorf("trunk got INVITEs %v", inv)
	}
	if got := statuses(owner.messages(), "INVITE", false); !contains(got, 180) || !contains(got, 200) {
		t.Errorf("owner got INVITE responses %v, want 180 and 200", got)
	}
	if len(requests(trunk.messages(), "BYE", false)) != 1 {
		t.Errorf("trunk got no BYE")
	}

	pkts := fromOwner.packets()
	if got, want := dtmfKeys(t, pkts, 101), "2125550123#55"; got != want {
		t.Errorf("RFC 4733 keys from the owner = %q, want %q", got, want)
	}
	junk := 0
	for _, p := range pkts {
		if p.PT == 100 {
			junk++
		}
	}
	if junk != 4 {
		t.Errorf("owner sent %d telephone-events on payload type 100, want the junk pcap's 4", junk)
	}
	if st := analyseChannel(pcmuSamples(pkts)); st.share(ownerHz) < 0.9 || st.ToneHit[otherHz] > 0 {
		t.Errorf("owner's PCMU: %v; want %d Hz throughout", st, ownerHz)
	}
	if st := analyseChannel(pcmuSamples(fromTrunk.packets())); st.share(otherHz) < 0.9 || st.ToneHit[ownerHz] > 0 {
		t.Errorf("trunk's PCMU: %v; want %d Hz throughout", st, otherHz)
	}
	ssrcs := map[uint32]bool{}
	for _, p := range pkts {
		ssrcs[p.SSRC] = true
	}
	t.Logf("owner sent %d RTP packets in %d SSRCs", len(pkts), len(ssrcs))
}

// TestHarnessTrunkHangsUp: the trunk answers and later sends BYE (built from
// the From, To and Contact it captured from the INVITE); the caller answers it.
func TestHarnessTrunkHangsUp(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	trunk := startSIPp(t, sippOpts{Name: "trunk", Scenario: trunkScenario{HangupAfterMS: 1000}.render(t)})
	caller := startSIPp(t, sippOpts{Name: "stranger", Remote: trunk.Addr(), Scenario: callerScenario{
		From: strangerNum, To: serviceNumber, Steps: []step{awaitBye(10000)},
	}.render(t)})
	caller.mustPass(20 * time.Second)
	trunk.mustPass(5 * time.Second)
	if len(requests(caller.messages(), "BYE", false)) != 1 {
		t.Errorf("caller got no BYE: %s", caller.summary())
	}
}

// TestHarnessEarlyMedia: a caller that requires 183 before 200, and a trunk
// that sends 183 with SDP, then 200.
func TestHarnessEarlyMedia(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	trunk := startSIPp(t, sippOpts{Name: "trunk", Scenario: trunkScenario{RingMS: 500, Early183: true}.render(t)})
	caller := startSIPp(t, sippOpts{Name: "stranger", Remote: trunk.Addr(), Scenario: callerScenario{
		From: strangerNum, To: ownerNumber, Early: true, Steps: []step{pause(300), hangup()},
	}.render(t)})
	caller.mustPass(20 * time.Second)
	trunk.mustPass(5 * time.Second)
	if got := statuses(caller.messages(), "INVITE", false); !contains(got, 183) || !contains(got, 200) {
		t.Errorf("caller got %v, want 183 and 200", got)
	}
}

// TestHarnessReject: a caller expecting a failure status, and a trunk
// rejecting with it; both ACK and end cleanly.
func TestHarnessReject(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	for _, code := range []int{403, 486, 488, 503} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			trunk := startSIPp(t, sippOpts{Name: "trunk", Scenario: trunkScenario{Mode: "reject", Code: code}.render(t)})
			caller := startSIPp(t, sippOpts{Name: "caller", Remote: trunk.Addr(), Scenario: callerScenario{
				From: strangerNum, To: ownerNumber, Expect: code,
			}.render(t)})
			caller.mustPass(20 * time.Second)
			trunk.mustPass(5 * time.Second)
		})
	}
}

// TestHarnessCancel: a caller that CANCELs while the trunk rings (with 180,
// or with 183 and SDP); the trunk answers 200 to the CANCEL and 487 to the
// INVITE, and the caller ACKs that.
func TestHarnessCancel(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("early=%v", early), func(t *testing.T) {
			t.Parallel()
			trunk := startSIPp(t, sippOpts{Name: "trunk", Scenario: trunkScenario{Mode: "ring", Early183: early}.render(t)})
			caller := startSIPp(t, sippOpts{Name: "caller", Remote: trunk.Addr(), Scenario: callerScenario{
				From: strangerNum, To: ownerNumber, Early: early, CancelAfterMS: 500,
			}.render(t)})
			caller.mustPass(20 * time.Second)
			trunk.mustPass(5 * time.Second)
			if len(requests(trunk.messages(), "CANCEL", false)) != 1 {
				t.Errorf("trunk got no CANCEL: %s", trunk.summary())
			}
			if got := statuses(caller.messages(), "INVITE", false); !contains(got, 487) {
				t.Errorf("caller got %v, want 487", got)
			}
		})
	}
}

// TestHarnessSourceAddress: SIPp run with -i 127.0.0.2 sends from
// 127.0.0.2, which TestSourceNotAllowed relies on.
func TestHarnessSourceAddress(t *testing.T) {
	requireSIPp(t)
	t.Parallel()
	port := freePorts(t, 1, false)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caller := startSIPp(t, sippOpts{Name: "caller", LocalIP: "127.0.0.2", Remote: c.LocalAddr().String(),
		Scenario: callerScenario{From: strangerNum, To: serviceNumber, Expect: 403}.render(t)})
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no INVITE from SIPp: %v", err)
	}
	if !from.IP.Equal(net.IPv4(127, 0, 0, 2)) || !strings.HasPrefix(string(buf[:n]), "INVITE ") {
		t.Errorf("got %q from %v, want an INVITE from 127.0.0.2", firstLine(string(buf[:n])), from)
	}
	_ = caller // killed at cleanup: nobody answers it
}
