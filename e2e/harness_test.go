package e2e

// The harness: build callrec once, hand out free ports, write a config per
// test, start and stop callrec, and read its call records.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
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

// config is what varies in callrec's configuration between tests.
type config struct {
	OwnerPIN      string
	RingTimeout   int      // ring_timeout_seconds; 0: callrec's default
	MaxConcurrent int      // max_concurrent_calls; 0: callrec's default
	Allowed       []string // allowed_destinations; nil: +1 and +44
	Extra         string   // more top-level YAML
	// Processing is the YAML of the transcribe/pipeline/analytics sections;
	// "" queues processing without running it (pipeline.workers 0), so
	// call tests do not transcribe in the background.
	Processing string
	// Web is the YAML of the web/notify/public_url keys; "" turns the web
	// server off, so parallel tests do not compete for its port.
	Web string

	// Filled in by startCallrec.
	DataDir   string
	SIPPort   int
	RTPLo     int
	RTPHi     int
	TrunkPort int
}

var configTemplate = template.Must(template.New("config").Parse(`service_number: "` + serviceNumber + `"
owner_number: "` + ownerNumber + `"
owner_pin: "{{.OwnerPIN}}"
default_country_code: "1"
allowed_destinations: [{{range $i, $p := .Allowed}}{{if $i}}, {{end}}"{{$p}}"{{end}}]
data_dir: "{{.DataDir}}"
log: {level: debug}
sip:
  listen: "127.0.0.1:{{.SIPPort}}"
  media_address: "127.0.0.1"
  rtp_ports: "{{.RTPLo}}-{{.RTPHi}}"
trunk:
  address: "127.0.0.1:{{.TrunkPort}}"
  allowed_sources: ["127.0.0.1/32"]
{{if .RingTimeout}}ring_timeout_seconds: {{.RingTimeout}}
{{end}}{{if .MaxConcurrent}}max_concurrent_calls: {{.MaxConcurrent}}
{{end}}{{if .Processing}}{{.Processing}}{{else}}pipeline: {workers: 0}{{end}}
{{if .Web}}{{.Web}}{{else}}web: {listen: ""}{{end}}
{{.Extra}}`))

// callrec is one running `callrec serve`.
type callrec struct {
	t       *testing.T
	cfg     config
	cfgPath string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	stopped bool // SIGTERM sent by the harness
}

// SIPAddr is callrec's SIP address (UDP and TCP).
func (c *callrec) SIPAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.cfg.SIPPort) }

// TrunkPort is where callrec sends outbound legs.
func (c *callrec) TrunkPort() int { return c.cfg.TrunkPort }

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCallrec writes cfg into a fresh directory, starts `callrec serve`,
// and returns once its SIP TCP port accepts connections. It is stopped
// with SIGTERM when the test ends; its log is shown if the test failed.
func startCallrec(t *testing.T, cfg config) *callrec {
	t.Helper()
	requireCallrec(t)
	dir := t.TempDir()
	cfg.DataDir = filepath.Join(dir, "data")
	if cfg.SIPPort == 0 {
		cfg.SIPPort = freePorts(t, 1, true)
	}
	if cfg.TrunkPort == 0 {
		cfg.TrunkPort = freePorts(t, 1, true)
	}
	cfg.RTPLo = freePorts(t, 40, false)
	cfg.RTPHi = cfg.RTPLo + 39
	if cfg.Allowed == nil {
		cfg.Allowed = []string{"+1", "+44"}
	}
	var y bytes.Buffer
	if err := configTemplate.Execute(&y, cfg); err != nil {
		t.Fatal(err)
	}
	c := &callrec{t: t, cfg: cfg, cfgPath: filepath.Join(dir, "callrec.yaml"), log: &syncBuffer{}, done: make(chan struct{})}
	if err := os.WriteFile(c.cfgPath, y.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(env.callrec, "serve", "--config", c.cfgPath)
	c.cmd.Env = cleanEnv()
	c.cmd.Stdout = c.log
	c.cmd.Stderr = c.log
	c.cmd.Dir = dir
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start callrec: %v", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.SIPAddr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-c.done:
			t.Fatalf("callrec exited at start-up (%v); config:\n%s\nlog:\n%s", c.waitErr, y.String(), c.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("callrec's SIP TCP port %s did not accept a connection within 10 s; config:\n%s\nlog:\n%s", c.SIPAddr(), y.String(), c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// cleanEnv is this process's environment without CALLREC_* variables, which
// would override the test's config.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALLREC_") {
			out = append(out, kv)
		}
	}
	return out
}

// alive fails the test if callrec has exited.
func (c *callrec) alive() {
	c.t.Helper()
	select {
	case <-c.done:
		c.t.Fatalf("callrec exited during the test: %v", c.waitErr)
	default:
	}
}

func (c *callrec) stop() {
	t := c.t
	select {
	case <-c.done:
		if !c.stopped {
			t.Errorf("callrec exited during the test: %v", c.waitErr)
		}
	default:
		c.stopped = true
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
			if c.waitErr != nil {
				t.Errorf("callrec did not exit cleanly on SIGTERM: %v", c.waitErr)
			}
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
			t.Errorf("callrec did not exit within 20 s of SIGTERM; killed")
		}
	}
	if strings.Contains(c.log.String(), "WARNING: DATA RACE") {
		t.Errorf("callrec (built with -race) reported a data race")
	}
	if t.Failed() {
		log := c.log.String()
		const max = 256 << 10
		if len(log) > max {
			log = "…(cut)…\n" + log[len(log)-max:]
		}
		t.Logf("callrec config %s:\n%s", c.cfgPath, mustRead(c.cfgPath))
		t.Logf("callrec log:\n%s", log)
	}
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// callRecord is one element of `callrec calls list --json`.
type callRecord struct {
	ID             any         `json:"id"`
	Direction      string      `json:"direction"`
	Party          string      `json:"party"`
	StartedAt      *time.Time  `json:"started_at"`
	AnsweredAt     *time.Time  `json:"answered_at"`
	EndedAt        *time.Time  `json:"ended_at"`
	Status         string      `json:"status"`
	SIPStatus      any         `json:"sip_status"`
	HangupCause    any         `json:"hangup_cause"`
	RecordingState string      `json:"recording_state"`
	RecordingFile  string      `json:"recording_file"`
	Pauses         []pauseSpan `json:"pauses"`
}

func (r callRecord) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// pauseSpan is a paused span of a recording. Its ends are times, or
// offsets in seconds from the start of the recording.
type pauseSpan struct {
	Start flexTime `json:"start"`
	End   flexTime `json:"end"`
}

// flexTime is an RFC 3339 time or a number of seconds.
type flexTime struct {
	T       time.Time
	Seconds float64
	IsTime  bool
}

func (f *flexTime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		f.IsTime = true
		return json.Unmarshal(b, &f.T)
	}
	return json.Unmarshal(b, &f.Seconds)
}

func (f flexTime) MarshalJSON() ([]byte, error) {
	if f.IsTime {
		return json.Marshal(f.T)
	}
	return json.Marshal(f.Seconds)
}

// offset is f in seconds from the recording's start recStart.
func (f flexTime) offset(recStart time.Time) float64 {
	if f.IsTime {
		return f.T.Sub(recStart).Seconds()
	}
	return f.Seconds
}

// calls runs `callrec calls list --json` once.
func (c *callrec) calls() ([]callRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "calls", "list", "--json", "--config", c.cfgPath)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("callrec calls list --json: %w\n%s", err, stderr.String())
	}
	var recs []callRecord
	if err := json.Unmarshal(out, &recs); err != nil {
		return nil, fmt.Errorf("callrec calls list --json printed no JSON array of records: %w\n%s", err, out)
	}
	return recs, nil
}

// finishedCalls waits until callrec lists n calls that have all ended, and
// returns them.
func (c *callrec) finishedCalls(n int) []callRecord {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		recs, err := c.calls()
		if err != nil {
			t.Fatal(err)
		}
		done := len(recs) == n
		for _, r := range recs {
			if r.EndedAt == nil || r.Status == "active" || r.Status == "" {
				done = false
			}
		}
		if done {
			for _, r := range recs {
				t.Logf("call record: %v", r)
			}
			return recs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range recs {
				fmt.Fprintf(&b, "\n  %v", r)
			}
			t.Fatalf("want %d ended call records within 15 s of the calls' end, have %d:%s", n, len(recs), b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// oneCall is finishedCalls(1)[0].
func (c *callrec) oneCall() callRecord {
	c.t.Helper()
	return c.finishedCalls(1)[0]
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
