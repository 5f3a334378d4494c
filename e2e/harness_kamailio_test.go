package e2e

// Kamailio and rtpengine, the other real SIP and media stacks the network
// tests put around callrec: an SBC in front of it (sbc.cfg.tmpl, media
// anchored by rtpengine) and a registrar outside a NAT
// (registrar.cfg.tmpl). The configurations are text/templates under
// testdata/kamailio/, filled in per test with its addresses and ports.

import (
	"bytes"
	"embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"
)

// kamailioFiles are the Kamailio configuration templates.
//
//go:embed testdata/kamailio/*.tmpl
var kamailioFiles embed.FS

// kamailioTemplates are kamailioFiles, parsed.
var kamailioTemplates = template.Must(template.New("kamailio").ParseFS(kamailioFiles, "testdata/kamailio/*.tmpl"))

// renderKamailio fills in testdata/kamailio/NAME.cfg.tmpl.
func renderKamailio(t *testing.T, name string, data any) string {
	t.Helper()
	var b bytes.Buffer
	if err := kamailioTemplates.ExecuteTemplate(&b, name+".cfg.tmpl", data); err != nil {
		t.Fatalf("kamailio config %s: %v", name, err)
	}
	return b.String()
}

// startKamailio writes cfg and runs Kamailio on it in the foreground
// inside ns (nil: this namespace), and waits until it has bound every UDP
// port in ports.
func startKamailio(t *testing.T, ns *netns, name, cfg string, ports ...int) *nsProcess {
	t.Helper()
	bin := requireTool(t, "kamailio", "kamailio")
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cmdIn(ns, bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("kamailio -c rejects its config: %v\n%s\n%s", err, out, numbered(cfg))
	}
	p := startIn(t, ns, name, bin, "-f", path, "-DD", "-E", "-Y", dir, "-w", dir, "-m", "32", "-M", "4")
	for _, port := range ports {
		p.waitBound(t, "udp", port, 10*time.Second)
	}
	return p
}

// numbered is s with line numbers, for a config a program rejected.
func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

// rtpengineOpts says how to run rtpengine (userspace only).
type rtpengineOpts struct {
	IP      string // the media interface: what SDP rewritten by it names
	NGPort  int    // the control (ng protocol) port, on 127.0.0.1
	PortMin int    // media ports PortMin–PortMax on IP
	PortMax int
}

// startRtpengine runs rtpengine in the foreground inside ns (nil: this
// namespace) and waits until its control port is bound.
func startRtpengine(t *testing.T, ns *netns, o rtpengineOpts) *nsProcess {
	t.Helper()
	bin := requireTool(t, "rtpengine", "rtpengine-daemon")
	dir := t.TempDir()
	p := startIn(t, ns, "rtpengine", bin,
		"--config-file=none", "--table=-1", "--foreground", "--log-stderr", "--log-level=6",
		"--pidfile="+filepath.Join(dir, "rtpengine.pid"),
		"--interface="+o.IP, "--listen-ng=127.0.0.1:"+strconv.Itoa(o.NGPort),
		"--port-min="+strconv.Itoa(o.PortMin), "--port-max="+strconv.Itoa(o.PortMax),
		"--num-threads=2", "--delete-delay=0")
	p.waitBound(t, "udp", o.NGPort, 10*time.Second)
	if ns == nil {
		for deadline := time.Now().Add(10 * time.Second); !rtpenginePong(o.NGPort); {
			p.alive(t)
			if time.Now().After(deadline) {
				t.Fatalf("rtpengine does not answer ping on its control port %d within 10 s:\n%s", o.NGPort, p.out)
			}
		}
	}
	return p
}

// rtpenginePong sends rtpengine's ng "ping" command to 127.0.0.1:port and
// reports whether "pong" came back within 200 ms. Bound is not ready: an
// offer Kamailio sends before rtpengine answers blocks its worker for
// seconds of retries, and the call's INVITE with it.
func rtpenginePong(port int) bool {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	defer c.Close()
	if _, err := c.Write([]byte("ready d7:command4:pinge")); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	return err == nil && strings.Contains(string(buf[:n]), "pong")
}

// cmdIn is argv as a command inside ns (nil: this namespace).
func cmdIn(ns *netns, argv ...string) *exec.Cmd {
	if ns != nil {
		return ns.command(argv...)
	}
	return exec.Command(argv[0], argv[1:]...)
}

// kamailioSBC fills in sbc.cfg.tmpl.
type kamailioSBC struct {
	IP            string // Kamailio's address
	FarPort       int    // where the trunk and the phones send
	NearPort      int    // where callrec sends (its trunk.address)
	CallrecAddr   string // callrec's SIP host:port
	TrunkAddr     string // the trunk's SIP host:port
	NGAddr        string // rtpengine's control host:port
	TowardCallrec string // rtpengine flags for SDP sent toward callrec
	TowardFar     string // rtpengine flags for SDP sent toward the far side
}

// sbc is Kamailio and rtpengine, started.
type sbc struct {
	kamailio, rtpengine *nsProcess
	cfg                 kamailioSBC
	media               rtpengineOpts
}

// startSBC starts rtpengine with media on mediaIP and Kamailio on
// 127.0.0.1 with the two ports of cfg (which it completes with the
// control address), all in this namespace.
func startSBC(t *testing.T, cfg kamailioSBC, mediaIP string) *sbc {
	t.Helper()
	requireTool(t, "kamailio", "kamailio")
	requireTool(t, "rtpengine", "rtpengine-daemon")
	lo := freePorts(t, 40, false)
	media := rtpengineOpts{IP: mediaIP, NGPort: freePorts(t, 1, false), PortMin: lo, PortMax: lo + 39}
	cfg.NGAddr = "127.0.0.1:" + strconv.Itoa(media.NGPort)
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	s := &sbc{cfg: cfg, media: media}
	s.rtpengine = startRtpengine(t, nil, media)
	s.kamailio = startKamailio(t, nil, "kamailio", renderKamailio(t, "sbc", cfg), cfg.FarPort, cfg.NearPort)
	// Bound is not ready: a call sent before Kamailio's workers run waits.
	for deadline := time.Now().Add(10 * time.Second); optionsStatus(t, s.FarAddr()) != 200; {
		s.kamailio.alive(t)
		if time.Now().After(deadline) {
			t.Fatalf("Kamailio does not answer OPTIONS on %s within 10 s:\n%s", s.FarAddr(), s.kamailio.out)
		}
	}
	return s
}

// FarAddr is where the trunk's and the phones' side sends.
func (s *sbc) FarAddr() string { return fmt.Sprintf("%s:%d", s.cfg.IP, s.cfg.FarPort) }

// relayed reports whether ip:port is one of rtpengine's media ports.
func (s *sbc) relayed(ip string, port int) bool {
	return ip == s.media.IP && port >= s.media.PortMin && port <= s.media.PortMax
}

// kamailioRegistrar fills in registrar.cfg.tmpl: a registrar and proxy
// outside a NAT. REGISTERs are saved with the address they came from
// (the NAT's binding); an INVITE from elsewhere than the registered box
// goes to its binding, keeping the number dialled; one from the box goes
// to the trunk.
type kamailioRegistrar struct {
	IP        string // Kamailio's address and SIP port
	Port      int
	AOR       string // the address of record the box registers
	BoxIP     string // where the box's requests come from (the NAT's public address)
	TrunkAddr string // where the box's calls go
}

// startRegistrar starts Kamailio as a registrar and proxy inside ns.
func startRegistrar(t *testing.T, ns *netns, r kamailioRegistrar) *nsProcess {
	t.Helper()
	return startKamailio(t, ns, "registrar", renderKamailio(t, "registrar", r), r.Port)
}

// sbcSRTPFlags are the rtpengine flags of the SRTP variant: SDES-keyed
// RTP/SAVP toward callrec (no DTLS), plain RTP/AVP toward the far side.
const (
	sbcSRTPTowardCallrec = "replace-origin RTP/SAVP DTLS=off"
	sbcSRTPTowardFar     = "replace-origin RTP/AVP"
)

// TestSBCHarness checks the SBC without callrec: a SIPp phone calls
// through Kamailio to a SIPp stand-in for callrec. With the SRTP flags the
// offer the stand-in gets is rtpengine's RTP/SAVP with SDES keys, and the
// answer the phone gets is plain RTP/AVP, both on rtpengine's address.
func TestSBCHarness(t *testing.T) {
	t.Parallel()
	requireSIPp(t)
	standIn := freePorts(t, 1, false)
	s := startSBC(t, kamailioSBC{
		FarPort: freePorts(t, 1, false), NearPort: freePorts(t, 1, false),
		CallrecAddr: fmt.Sprintf("127.0.0.1:%d", standIn), TrunkAddr: "127.0.0.1:9",
		TowardCallrec: sbcSRTPTowardCallrec, TowardFar: sbcSRTPTowardFar,
	}, "127.0.0.3")
	uas := startSIPp(t, sippOpts{Name: "callrec-stand-in", Port: standIn, Scenario: trunkScenario{}.render(t)})
	phone := startSIPp(t, sippOpts{Name: "phone", Remote: s.FarAddr(), Scenario: callerScenario{
		From: strangerNum, To: serviceNumber, Steps: []step{pause(500), hangup()},
	}.render(t)})
	phone.mustPass(20 * time.Second)
	uas.mustPass(5 * time.Second)
	if t.Failed() {
		return
	}
	offer := trunkINVITE(t, uas).Body
	answer := firstOK(t, phone, "1").Body
	for _, c := range []struct {
		what, body, proto string
		crypto            bool
	}{{"offer toward callrec", offer, "RTP/SAVP", true}, {"answer toward the phone", answer, "RTP/AVP", false}} {
		ip, port := sdpAudio(c.body)
		if !s.relayed(ip, port) {
			t.Errorf("%s names %s:%d, not rtpengine's media:\n%s", c.what, ip, port, c.body)
		}
		if !strings.Contains(c.body, " "+c.proto+" ") {
			t.Errorf("%s is not %s:\n%s", c.what, c.proto, c.body)
		}
		if got := strings.Contains(c.body, "a=crypto:"); got != c.crypto {
			t.Errorf("%s: a=crypto present %v, want %v:\n%s", c.what, got, c.crypto, c.body)
		}
		if strings.Contains(c.body, "a=fingerprint") {
			t.Errorf("%s offers DTLS (a=fingerprint); want SDES alone:\n%s", c.what, c.body)
		}
	}
}
