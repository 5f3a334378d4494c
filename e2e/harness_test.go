package e2e

// The harness's entry point: TestMain builds callrec once, requireSIPp and
// requireCallrec skip (or, on CI, fail) a test that cannot run, the numbers
// every test dials, and free loopback ports. The rest of the harness is in
// the other harness_*_test.go files, each named for what it helps with.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Numbers used throughout; see the config template.
const (
	serviceNumber = "+15550100"
	ownerNumber   = "+15550111"
	strangerNum   = "+14155550199"
)

// env is what TestMain found out once for all tests.
var env struct {
	sipp     string // path of sipp, "" if missing
	callrec  string // path of the built binary
	buildErr error  // why there is no binary
	root     bool   // running as root: SIPp's pcap play needs a raw socket
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	env.sipp, _ = exec.LookPath("sipp")
	env.root = os.Geteuid() == 0
	tmp, err := os.MkdirTemp("", "callrec-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	switch {
	case os.Getenv("CALLREC_E2E_BIN") != "":
		env.callrec = os.Getenv("CALLREC_E2E_BIN")
	case env.sipp == "" && os.Getenv("CI") != "true":
		env.buildErr = errors.New("not built: sipp is missing")
	default:
		env.callrec, env.buildErr = buildCallrec(tmp)
	}
	return m.Run()
}

// buildCallrec builds ./cmd/callrec of this module into dir.
func buildCallrec(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command to build callrec: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	modDir := strings.TrimSpace(string(out))
	bin := filepath.Join(dir, "callrec")
	args := []string{"build", "-o", bin}
	if os.Getenv("CALLREC_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, "./cmd/callrec")...)
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/callrec in %s: %w\n%s", modDir, err, out)
	}
	return bin, nil
}

// requireSIPp skips the test when sipp is missing, unless CI=true, where
// that is a failure.
func requireSIPp(t *testing.T) {
	t.Helper()
	if env.sipp == "" {
		msg := "sipp not found on PATH: install it (Debian: apt-get install sip-tester) to run the end-to-end tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if !env.root {
		t.Log("note: not root; SIPp's play_pcap_audio (DTMF) needs root or `setcap cap_net_raw+ep $(which sipp)`")
	}
}

// requireCallrec is requireSIPp plus a built callrec binary.
func requireCallrec(t *testing.T) {
	t.Helper()
	requireSIPp(t)
	if env.buildErr != nil {
		t.Fatalf("no callrec binary: %v", env.buildErr)
	}
}

// ports hands out loopback ports. Blocks come from 21000–32000, below
// Linux's ephemeral range, and are checked free before use, so parallel
// tests never share a port.
var ports = struct {
	sync.Mutex
	next int
}{next: 21000 + os.Getpid()%50*20}

// freePorts returns the first of n consecutive ports free on 127.0.0.1 (UDP,
// and TCP when tcp is set).
func freePorts(t *testing.T, n int, tcp bool) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for tries := 0; tries < 500; tries++ {
		base := ports.next
		if base+n > 32000 {
			base = 21000
		}
		ports.next = base + n
		if base%2 == 1 { // keep RTP bases even
			base++
			ports.next++
		}
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = portFree(p, tcp)
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no block of %d free ports", n)
	return 0
}

func portFree(p int, tcp bool) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	c, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return false
	}
	c.Close()
	if tcp {
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// udpBound reports whether some socket is bound to UDP port p on
// 127.0.0.1 or 0.0.0.0, reading /proc/net/udp; ok is false where that file
// does not exist.
func udpBound(p int) (bound, ok bool) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return false, false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", p)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && strings.HasSuffix(fields[1], want) {
			return true, true
		}
	}
	return false, true
}

func netDial(network, ip string, port int) (net.Conn, error) {
	return net.DialTimeout(network, net.JoinHostPort(ip, strconv.Itoa(port)), 200*time.Millisecond)
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
