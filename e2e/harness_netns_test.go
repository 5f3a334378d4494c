package e2e

// Network namespaces for the tests of hostile real networks: a per-test
// /24 split into an outside and an office half, a router namespace that
// masquerades the office behind its outside address (and forwards ports
// to it when asked), the NAT's UDP binding timeout shortened so that
// "the binding stays alive" is testable in seconds, processes and sockets
// inside a namespace, and gates that skip a test (with a reason) when it
// cannot run: not root, a tool missing, a config key the binary does not
// know yet.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// requireRoot skips a test that needs namespaces, veths and iptables when
// not running as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if !env.root {
		t.Skip("needs root: network namespaces, veth pairs and iptables NAT")
	}
}

// requireTool finds name on PATH (also in /usr/sbin and /sbin). It skips
// the test when the tool is missing, except under CI=true as root, where
// that is a failure (CI runs as root; a missing tool there is a broken
// set-up, as requireSIPp treats a missing sipp).
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found: install it (Debian: apt-get install %s) to run this test", name, debianPackage)
	if os.Getenv("CI") == "true" && env.root {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// requireNetns is requireCallrec, requireRoot and the ip and iptables
// commands.
func requireNetns(t *testing.T) {
	t.Helper()
	requireCallrec(t)
	requireRoot(t)
	requireTool(t, "ip", "iproute2")
	requireTool(t, "iptables", "iptables")
}

// exampleConfig is `callrec config example` of the binary under test,
// parsed.
func exampleConfig(t *testing.T) map[string]any {
	t.Helper()
	out, err := exec.Command(env.callrec, "config", "example").Output()
	if err != nil {
		t.Fatalf("callrec config example: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatalf("callrec config example is no YAML: %v\n%s", err, out)
	}
	return m
}

// configKey looks a dotted key ("sip.external_address") up in the example
// configuration; ok is false when the binary does not know the key.
func configKey(t *testing.T, dotted string) (value any, ok bool) {
	t.Helper()
	var cur any = exampleConfig(t)
	for _, part := range strings.Split(dotted, ".") {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// requireConfigKey skips the test when the callrec under test does not
// know every key in keys (none is in its `callrec config example`): the
// feature the test needs has not landed in this binary yet.
func requireConfigKey(t *testing.T, keys ...string) {
	t.Helper()
	requireCallrec(t)
	for _, k := range keys {
		if _, ok := configKey(t, k); !ok {
			t.Skipf("this callrec does not know the config key %s yet (not in `callrec config example`): the test runs once the feature lands", k)
		}
	}
}

// run runs a command and fails the test if it fails.
func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// netns is one network namespace made for a test; it is deleted (with its
// veth ends) when the test ends.
type netns struct {
	t    *testing.T
	Name string
}

// newNetns makes a namespace named "cr<role><random>" (short enough for
// interface names derived from it) with its loopback up.
func newNetns(t *testing.T, role string) *netns {
	t.Helper()
	requireNetns(t)
	for tries := 0; tries < 20; tries++ {
		name := fmt.Sprintf("cr%s%05d", role, rand.IntN(100000))
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
			continue
		}
		run(t, "ip", "netns", "add", name)
		ns := &netns{t: t, Name: name}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
				t.Errorf("delete network namespace %s: %v\n%s", name, err, out)
			}
		})
		ns.run("ip", "link", "set", "lo", "up")
		return ns
	}
	t.Fatal("no free network namespace name")
	return nil
}

// run runs argv inside the namespace and fails the test if it fails.
func (n *netns) run(argv ...string) string {
	n.t.Helper()
	return run(n.t, append([]string{"ip", "netns", "exec", n.Name}, argv...)...)
}

// command is an exec.Cmd running argv inside the namespace (ip netns exec
// execs argv, so the Cmd's process is argv's own).
func (n *netns) command(argv ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name}, argv...)...)
}

// do runs f on an OS thread moved into the namespace: sockets f creates
// belong to the namespace and stay there. f must not start goroutines that
// create sockets.
func (n *netns) do(f func() error) error {
	target, err := os.Open(filepath.Join("/run/netns", n.Name))
	if err != nil {
		return err
	}
	defer target.Close()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer home.Close()
	runtime.LockOSThread()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", n.Name, err)
	}
	ferr := f()
	if err := setns(home); err != nil {
		// The thread is stuck in the namespace: leave it locked, so that
		// it exits with this goroutine instead of serving others.
		return fmt.Errorf("leave network namespace %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// setns moves the calling thread into the network namespace f. The
// syscall package names no SYS_SETNS on amd64 and arm64, so the numbers
// are spelled out here.
func setns(f *os.File) error {
	var nr uintptr
	switch runtime.GOARCH {
	case "amd64":
		nr = 308
	case "arm64":
		nr = 268
	default:
		return fmt.Errorf("setns: no syscall number known for %s", runtime.GOARCH)
	}
	if _, _, errno := syscall.RawSyscall(nr, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return errno
	}
	return nil
}

// listenUDP binds a UDP socket at ip:port inside the namespace.
func (n *netns) listenUDP(ip string, port int) *net.UDPConn {
	n.t.Helper()
	var c *net.UDPConn
	err := n.do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
		return err
	})
	if err != nil {
		n.t.Fatalf("listen on udp %s:%d in %s: %v", ip, port, n.Name, err)
	}
	return c
}

// veth links namespaces a and b with a veth pair, giving a's end addrA and
// b's end addrB (CIDR), both up. The ends are named after the namespaces.
func veth(t *testing.T, a *netns, addrA string, b *netns, addrB string) (ifA, ifB string) {
	t.Helper()
	ifA, ifB = "v"+a.Name[2:], "v"+b.Name[2:]
	ifA, ifB = ifA[:min(len(ifA), 15)], ifB[:min(len(ifB), 15)]
	run(t, "ip", "link", "add", ifA, "netns", a.Name, "type", "veth", "peer", "name", ifB, "netns", b.Name)
	a.run("ip", "addr", "add", addrA, "dev", ifA)
	a.run("ip", "link", "set", ifA, "up")
	b.run("ip", "addr", "add", addrB, "dev", ifB)
	b.run("ip", "link", "set", ifB, "up")
	return ifA, ifB
}

// natNet is an office behind a NAT router, and the outside world:
//
//	outside ns  Outside (.1)  ──  (.2) Public  router ns  Private (.129)  ──  (.130) Office  office ns
//	            <prefix>.0/25                                <prefix>.128/25
//
// The router forwards between its two sides and masquerades what leaves
// by its outside interface; the outside has no route to the office's half,
// so only what the router forwards (DNAT) or lets back in (conntrack)
// reaches the office.
type natNet struct {
	Outside, Router, Office *netns
	OutsideIP               string // the outside world's address: trunk, phones, registrar
	PublicIP                string // the router's outside address, the office's public address
	PrivateIP               string // the router's office-side address, the office's gateway
	OfficeIP                string // the office box's address
	routerOut               string // the router's outside interface
}

// newNATNet builds a natNet in a /24 of its own (10.200–249.x.0/24; the
// namespaces are the test's own, so parallel tests never see each
// other's addresses anyway).
func newNATNet(t *testing.T) *natNet {
	t.Helper()
	prefix := fmt.Sprintf("10.%d.%d", 200+rand.IntN(50), rand.IntN(256))
	n := &natNet{
		Outside: newNetns(t, "o"), Router: newNetns(t, "r"), Office: newNetns(t, "f"),
		OutsideIP: prefix + ".1", PublicIP: prefix + ".2", PrivateIP: prefix + ".129", OfficeIP: prefix + ".130",
	}
	_, n.routerOut = veth(t, n.Outside, n.OutsideIP+"/25", n.Router, n.PublicIP+"/25")
	// Second veth: the ends get their names from the namespaces too, so
	// give the router's office-side end another one.
	inR := "w" + n.Router.Name[2:]
	inF := "v" + n.Office.Name[2:]
	run(t, "ip", "link", "add", inR, "netns", n.Router.Name, "type", "veth", "peer", "name", inF, "netns", n.Office.Name)
	n.Router.run("ip", "addr", "add", n.PrivateIP+"/25", "dev", inR)
	n.Router.run("ip", "link", "set", inR, "up")
	n.Office.run("ip", "addr", "add", n.OfficeIP+"/25", "dev", inF)
	n.Office.run("ip", "link", "set", inF, "up")
	n.Office.run("ip", "route", "add", "default", "via", n.PrivateIP)
	n.Router.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	n.Router.run("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", n.routerOut, "-j", "MASQUERADE")
	return n
}

// forward adds a port forward (DNAT) on the router: proto ("udp" or "tcp")
// ports lo–hi of the public address go to the same ports of the office box.
func (n *natNet) forward(t *testing.T, proto string, lo, hi int) {
	t.Helper()
	ports := strconv.Itoa(lo)
	if hi > lo {
		ports += ":" + strconv.Itoa(hi)
	}
	n.Router.run("iptables", "-t", "nat", "-A", "PREROUTING", "-i", n.routerOut, "-d", n.PublicIP,
		"-p", proto, "--dport", ports, "-j", "DNAT", "--to-destination", n.OfficeIP)
}

// udpBindingTimeout shortens how long the router keeps a UDP NAT binding
// without traffic: both the timeout of a flow that has seen no reply and
// that of an established ("stream") flow. The sysctls are per namespace
// (checked: the host's value is untouched).
func (n *natNet) udpBindingTimeout(t *testing.T, seconds int) {
	t.Helper()
	s := strconv.Itoa(seconds)
	n.Router.run("sysctl", "-q", "-w", "net.netfilter.nf_conntrack_udp_timeout="+s,
		"net.netfilter.nf_conntrack_udp_timeout_stream="+s)
	got := strings.TrimSpace(n.Router.run("sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout_stream"))
	if got != s {
		t.Fatalf("router's nf_conntrack_udp_timeout_stream is %q after setting %s", got, s)
	}
}

// nsProcess is a long-running program started inside a namespace; it is
// ended when the test ends and its output shown if the test failed.
type nsProcess struct {
	name    string
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan struct{}
	waitErr error
}

// startIn starts argv inside ns (nil: this namespace) as the test's
// process name. stop is how it is asked to end (SIGTERM, then SIGKILL
// after 3 s).
func startIn(t *testing.T, ns *netns, name string, argv ...string) *nsProcess {
	t.Helper()
	p := &nsProcess{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	if ns != nil {
		p.cmd = ns.command(argv...)
	} else {
		p.cmd = exec.Command(argv[0], argv[1:]...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s (%s): %v", name, strings.Join(argv, " "), err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			out := p.out.String()
			if len(out) > 64<<10 {
				out = "…(cut)…\n" + out[len(out)-64<<10:]
			}
			t.Logf("%s (%s) exited %v; output:\n%s", name, strings.Join(argv, " "), p.waitErr, out)
		}
	})
	return p
}

func (p *nsProcess) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// alive fails the test if the process has ended.
func (p *nsProcess) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited: %v\n%s", p.name, p.waitErr, p.out)
	default:
	}
}

// bound reports whether process pid has a socket bound to port (UDP, or
// TCP listening), reading the /proc/<pid>/net tables of its namespace.
func bound(pid int, proto string, port int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, proto))
	if err != nil {
		return false
	}
	return procNetHasPort(string(b), proto, port)
}

// procNetHasPort reads a /proc/net/udp or /proc/net/tcp table (a header
// line, then one socket a line: slot, local address:port in hex, remote,
// state) and reports whether a socket is bound to port: any UDP socket, a
// TCP one only when listening.
func procNetHasPort(table, proto string, port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	lines := strings.Split(table, "\n")
	for _, line := range lines[min(1, len(lines)):] {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasSuffix(f[1]+" ", want) {
			continue
		}
		if proto == "udp" || f[3] == "0A" { // TCP_LISTEN
			return true
		}
	}
	return false
}

// waitBound waits up to d until the process has bound port (proto "udp"
// or "tcp").
func (p *nsProcess) waitBound(t *testing.T, proto string, port int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		p.alive(t)
		if bound(p.cmd.Process.Pid, proto, port) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not bind %s port %d within %v:\n%s", p.name, proto, port, d, p.out)
		}
	}
}

// nsCallrecYAML is callrec's configuration for a box at IP in a
// namespace: fixed ports (the namespace is the test's own), the trunk at
// TrunkAddr, SIP requests allowed from Allowed. The sip, media and trunk
// sections are maps, so a test adds keys (the gated ones too) without
// writing a section twice.
type nsCallrecYAML struct {
	IP        string
	SIPPort   int
	RTPLo     int
	RTPHi     int
	TrunkAddr string
	Allowed   []string
	SIP       map[string]any // more keys of sip:
	Media     map[string]any // media: (nil: none)
	Trunk     map[string]any // more keys of trunk:
}

// write renders the configuration into dir/callrec.yaml with data_dir
// dir/data, and returns the file's path.
func (y nsCallrecYAML) write(t *testing.T, dir string) string {
	t.Helper()
	sip := map[string]any{
		"listen":        fmt.Sprintf("%s:%d", y.IP, y.SIPPort),
		"media_address": y.IP,
		"rtp_ports":     fmt.Sprintf("%d-%d", y.RTPLo, y.RTPHi),
	}
	for k, v := range y.SIP {
		sip[k] = v
	}
	trunk := map[string]any{"address": y.TrunkAddr, "allowed_sources": y.Allowed}
	for k, v := range y.Trunk {
		trunk[k] = v
	}
	doc := map[string]any{
		"service_number":       serviceNumber,
		"owner_number":         ownerNumber,
		"owner_pin":            "",
		"default_country_code": "1",
		"allowed_destinations": []string{"+1", "+44"},
		"data_dir":             filepath.Join(dir, "data"),
		"log":                  map[string]any{"level": "debug"},
		"sip":                  sip,
		"trunk":                trunk,
		"pipeline":             map[string]any{"workers": 0},
		"web":                  map[string]any{"listen": ""},
	}
	if y.Media != nil {
		doc["media"] = y.Media
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "callrec.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCallrecIn starts `callrec serve` inside ns (nil: this namespace)
// with the configuration y, and returns once its SIP TCP port listens.
// The returned callrec is the harness's own type, so its log, records and
// recordings are read as in every other test (its SIPAddr is not
// meaningful: the box's address is y.IP).
func startCallrecIn(t *testing.T, ns *netns, y nsCallrecYAML, extraEnv ...string) *callrec {
	t.Helper()
	requireCallrec(t)
	dir := t.TempDir()
	path := y.write(t, dir)
	var wrap []string
	if ns != nil {
		wrap = []string{"ip", "netns", "exec", ns.Name}
	}
	c := &callrec{t: t, cfg: config{DataDir: filepath.Join(dir, "data"), SIPPort: y.SIPPort, RTPLo: y.RTPLo, RTPHi: y.RTPHi},
		cfgPath: path, log: &syncBuffer{}, done: make(chan struct{})}
	argv := append(wrap, env.callrec, "serve", "--config", path)
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(cleanEnv(), extraEnv...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.Dir = dir
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start callrec: %v", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.stop)
	for deadline := time.Now().Add(10 * time.Second); !bound(c.cmd.Process.Pid, "tcp", y.SIPPort); time.Sleep(50 * time.Millisecond) {
		select {
		case <-c.done:
			t.Fatalf("callrec exited at start-up (%v); config:\n%s\nlog:\n%s", c.waitErr, mustRead(path), c.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("callrec did not listen on SIP TCP port %d within 10 s; config:\n%s\nlog:\n%s", y.SIPPort, mustRead(path), c.log)
		}
	}
	return c
}

// startSIPpIn is startSIPp for a SIPp inside ns: same options, files and
// checks, with o.LocalIP an address of the namespace and o.Port and
// o.MediaPort given (the namespace's ports are the test's own).
func startSIPpIn(t *testing.T, ns *netns, o sippOpts) *sipp {
	t.Helper()
	o.Netns = ns
	return startSIPp(t, o)
}

// rtpSinkOn is an rtpSink on a socket made elsewhere (such as inside a
// namespace with netns.listenUDP); it is closed when the test ends.
func rtpSinkOn(t *testing.T, c *net.UDPConn) *rtpSink {
	s := &rtpSink{conn: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if p, ok := parseRTP(buf[:n]); ok {
				p.From = from
				s.mu.Lock()
				s.pkts = append(s.pkts, p)
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// conntrackUDP lists the router's UDP conntrack entries (from
// /proc/net/nf_conntrack), for failure messages.
func (n *natNet) conntrackUDP(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.Router.Name, "cat", "/proc/net/nf_conntrack")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("(no conntrack table: %v)", err)
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, " udp ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return strings.Join(lines, "\n")
}

// TestNATHarness checks the NAT network without callrec: the office
// reaches the outside from the router's public address; the outside
// cannot reach the office except through a port forward or a live
// binding; and a binding left idle past the shortened timeout is gone, so
// a reply sent after it is dropped.
func TestNATHarness(t *testing.T) {
	t.Parallel()
	requireNetns(t)
	n := newNATNet(t)
	n.udpBindingTimeout(t, 2)
	if host := strings.TrimSpace(run(t, "sysctl", "-n", "net.netfilter.nf_conntrack_udp_timeout_stream")); host == "2" {
		t.Errorf("the host's nf_conntrack_udp_timeout_stream is 2 too: the sysctl is not per namespace here")
	}
	outside := n.Outside.listenUDP(n.OutsideIP, 7000)
	defer outside.Close()
	office := n.Office.listenUDP(n.OfficeIP, 7100)
	defer office.Close()
	forwarded := n.Office.listenUDP(n.OfficeIP, 7200)
	defer forwarded.Close()
	n.forward(t, "udp", 7200, 7200)
	buf := make([]byte, 64)
	recv := func(c *net.UDPConn, d time.Duration) (*net.UDPAddr, bool) {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, from, err := c.ReadFromUDP(buf)
		return from, err == nil
	}

	if _, err := office.WriteToUDP([]byte("out"), &net.UDPAddr{IP: net.ParseIP(n.OutsideIP), Port: 7000}); err != nil {
		t.Fatal(err)
	}
	from, ok := recv(outside, 2*time.Second)
	if !ok {
		t.Fatal("the outside got nothing from the office")
	}
	if from.IP.String() != n.PublicIP {
		t.Errorf("the office's packet came from %v, want the router's public address %s", from, n.PublicIP)
	}
	_, _ = outside.WriteToUDP([]byte("back"), from)
	if _, ok := recv(office, 2*time.Second); !ok {
		t.Error("the reply through the live binding did not reach the office")
	}
	_, _ = outside.WriteToUDP([]byte("direct"), &net.UDPAddr{IP: net.ParseIP(n.OfficeIP), Port: 7100})
	if from, ok := recv(office, 500*time.Millisecond); ok {
		t.Errorf("a packet from %v reached the office's private address directly", from)
	}
	_, _ = outside.WriteToUDP([]byte("fwd"), &net.UDPAddr{IP: net.ParseIP(n.PublicIP), Port: 7200})
	if from, ok := recv(forwarded, 2*time.Second); !ok {
		t.Error("the port forward did not deliver to the office")
	} else if from.IP.String() != n.OutsideIP {
		t.Errorf("forwarded packet from %v, want the outside's own address %s", from, n.OutsideIP)
	}

	time.Sleep(3500 * time.Millisecond) // past the 2 s binding timeout
	_, _ = outside.WriteToUDP([]byte("late"), from)
	if from, ok := recv(office, time.Second); ok {
		t.Errorf("a packet from %v arrived through a binding idle past its 2 s timeout; conntrack:\n%s", from, n.conntrackUDP(t))
	}
}

// FuzzProcNetHasPort: any table text, port and protocol; the reader never
// panics, and a table it accepts a port from names that port.
func FuzzProcNetHasPort(f *testing.F) {
	f.Add("  sl  local_address rem_address   st\n   0: 0100007F:13C4 00000000:0000 07 00000000:00000000\n", "udp", 5060)
	f.Add("  sl  local_address rem_address   st\n   0: 0100007F:13C4 00000000:0000 0A 00000000:00000000\n", "tcp", 5060)
	f.Add("", "tcp", 0)
	f.Add("header only", "udp", 65535)
	f.Fuzz(func(t *testing.T, table, proto string, port int) {
		if procNetHasPort(table, proto, port) && !strings.Contains(table, fmt.Sprintf(":%04X", port)) {
			t.Errorf("port %d found in a table that does not name it: %q", port, table)
		}
	})
}

// TestProcNetHasPort checks the /proc/net reader on known tables.
func TestProcNetHasPort(t *testing.T) {
	const table = "  sl  local_address rem_address   st\n" +
		"   0: 0100007F:13C4 00000000:0000 07 00000000:00000000\n" +
		"   1: 0100007F:13CE 00000000:0000 0A 00000000:00000000\n" +
		"   2: 0100007F:13D8 0100007F:9C40 01 00000000:00000000\n"
	for _, c := range []struct {
		proto string
		port  int
		want  bool
	}{{"udp", 5060, true}, {"udp", 5070, true}, {"tcp", 5070, true}, {"tcp", 5060, false}, {"tcp", 5080, false}, {"udp", 5090, false}} {
		if got := procNetHasPort(table, c.proto, c.port); got != c.want {
			t.Errorf("procNetHasPort(%s, %d) = %v, want %v", c.proto, c.port, got, c.want)
		}
	}
}
