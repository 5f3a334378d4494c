package e2e

// Helpers of the hostile-input tests (hostile_test.go): callrec under a
// low open-file limit, floods of idle TCP connections from many loopback
// addresses, raw SIP over UDP from a chosen address, and the metrics
// callrec serves.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startCallrecLimited is startCallrec with callrec started under
// `prlimit --nofile=N:N` (util-linux), so that it may open at most nofile
// files, however it raises its limit.
func startCallrecLimited(t *testing.T, cfg config, nofile int, extraEnv ...string) *callrec {
	t.Helper()
	requireCallrec(t)
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		msg := "prlimit (util-linux) not found on PATH: needed to start callrec under a low open-file limit"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	path := writeConfig(t, &cfg)
	return launchWrapped(t, cfg, path, extraEnv, []string{prlimit, fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"})
}

// setFileLimit sets the soft open-file limit of the running callrec
// (prlimit --pid), keeping its hard limit.
func (c *callrec) setFileLimit(soft, hard int) {
	c.t.Helper()
	out, err := exec.Command("prlimit", "--pid", strconv.Itoa(c.cmd.Process.Pid), fmt.Sprintf("--nofile=%d:%d", soft, hard)).CombinedOutput()
	if err != nil {
		c.t.Fatalf("prlimit --pid %d: %v\n%s", c.cmd.Process.Pid, err, out)
	}
}

// openFiles is how many files callrec has open now.
func (c *callrec) openFiles() int {
	c.t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.cmd.Process.Pid))
	if err != nil {
		c.t.Fatalf("callrec's open files: %v", err)
	}
	return len(fds)
}

// tcpFlood holds idle TCP connections to a SIP port from many loopback
// addresses (127.0.net.1, 127.0.net.2…), perSource from each, and dials again,
// after a pause, every one the server closes. It sends nothing.
type tcpFlood struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	dialled  atomic.Int64 // connections established
	closedBy atomic.Int64 // of those, closed by the server
	failed   atomic.Int64 // dials that failed
}

// startTCPFlood starts sources*perSource connection holders, from
// 127.0.net.1 up.
func startTCPFlood(t *testing.T, addr string, net3 byte, sources, perSource int, redial time.Duration) *tcpFlood {
	t.Helper()
	f := &tcpFlood{stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	for s := 1; s <= sources; s++ {
		ip := net.IPv4(127, 0, net3, byte(s))
		for range perSource {
			f.wg.Add(1)
			go f.hold(ip, addr, redial)
		}
	}
	t.Cleanup(f.end)
	return f
}

// hold keeps one connection from ip open, dialling again redial after
// the server closes it, until the flood stops.
func (f *tcpFlood) hold(ip net.IP, addr string, redial time.Duration) {
	defer f.wg.Done()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	// Start spread out, as a flood of thousands does not arrive in one
	// instant either.
	pause := time.Duration(rand.Int64N(int64(redial)))
	for {
		select {
		case <-f.stop:
			return
		case <-time.After(pause):
		}
		pause = redial
		c, err := d.Dial("tcp", addr)
		if err != nil {
			f.failed.Add(1)
			continue
		}
		f.dialled.Add(1)
		f.mu.Lock()
		f.conns[c] = struct{}{}
		f.mu.Unlock()
		var b [1]byte
		_, _ = c.Read(b[:]) // until the server closes it, or end closes it
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		c.Close()
		select {
		case <-f.stop:
			return
		default:
			f.closedBy.Add(1)
		}
	}
}

// waitDialled waits until n connections were established.
func (f *tcpFlood) waitDialled(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for f.dialled.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("flood established %d connections within %v, want %d (%d dials failed)", f.dialled.Load(), d, n, f.failed.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// end stops the flood and closes every connection it holds.
func (f *tcpFlood) end() {
	select {
	case <-f.stop:
		return
	default:
	}
	close(f.stop)
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// udpFrom binds a UDP socket on the loopback address ip.
func udpFrom(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen udp on %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sendTo sends msg from c to addr.
func sendTo(t *testing.T, c *net.UDPConn, addr, msg string) {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDP([]byte(msg), ua); err != nil {
		t.Fatalf("send to %s: %v", addr, err)
	}
}

// collect returns the datagrams c receives within d: a window in which
// what must not come would have come (a response and its retransmissions
// at 0.5, 1 and 2 s), not a measure of speed.
func collect(c *net.UDPConn, d time.Duration) []string {
	var got []string
	buf := make([]byte, 65536)
	deadline := time.Now().Add(d)
	for {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}

// quietWindow is collect's window for what must not arrive.
const quietWindow = 3 * time.Second

// rawSIP is a complete request as text from local (a UDP address), with
// an SDP offer for INVITE and extra header lines. n makes its branch,
// tag and Call-ID unique.
func rawSIP(method, local, target string, n int, extra ...string) string {
	body := ""
	if method == "INVITE" {
		body = sdp([]codec{pcmu}, 101, 40000)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@%s SIP/2.0\r\n", method, serviceNumber, target)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK-hostile-%s-%d;rport\r\n", local, method, n)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=h%d\r\n", strangerNum, local, n)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", serviceNumber, target)
	fmt.Fprintf(&b, "Call-ID: hostile-%s-%d@%s\r\n", method, n, local)
	fmt.Fprintf(&b, "CSeq: 1 %s\r\nMax-Forwards: 70\r\n", method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", strangerNum, local)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// webYAML turns the web server on, on port.
func webYAML(port int) string { return fmt.Sprintf("web:\n  listen: \"127.0.0.1:%d\"\n", port) }

// metric is the value of one series (such as
// `callrec_sip_rejected_total{reason="busy"}`) on callrec's /metrics at
// port, or 0 when it is absent.
func metric(t *testing.T, port int, series string) float64 {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", series, v)
			}
			return f
		}
	}
	return 0
}

// rejected is callrec_sip_rejected_total for reason.
func rejected(t *testing.T, port int, reason string) float64 {
	t.Helper()
	return metric(t, port, fmt.Sprintf("callrec_sip_rejected_total{reason=%q}", reason))
}

// waitRejected waits until callrec counted at least n refusals for reason.
func waitRejected(t *testing.T, port int, reason string, n float64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := rejected(t, port, reason)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("callrec counted %v %s refusals within %v, want at least %v", got, reason, d, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// linesWith counts callrec's log lines that contain s.
func (c *callrec) linesWith(s string) int {
	n := 0
	for _, line := range strings.Split(c.log.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
