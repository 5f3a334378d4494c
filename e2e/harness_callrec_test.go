package e2e

// Running `callrec serve`: the configuration written per test, starting,
// restarting, signalling and stopping the process, reading its log, and a
// `callrec serve` that is expected to refuse to start.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

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

// writeConfig completes cfg (data_dir in a fresh directory, free ports
// where it names none, the default allowed_destinations), writes it as
// callrec.yaml in that directory and returns the file's path.
func writeConfig(t *testing.T, cfg *config) string {
	t.Helper()
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
	path := filepath.Join(dir, "callrec.yaml")
	if err := os.WriteFile(path, y.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCallrec writes cfg into a fresh directory (see writeConfig), starts
// `callrec serve`, and returns once its SIP TCP port accepts connections.
// It is stopped with SIGTERM when the test ends; its log is shown if the
// test failed. extraEnv ("CALLREC_TRUNK_USERNAME=…") sets keys the config
// template cannot (nested under trunk:). cfg.TrunkPort may be set
// beforehand, so that a SIPp trunk can be listening before callrec starts.
func startCallrec(t *testing.T, cfg config, extraEnv ...string) *callrec {
	t.Helper()
	requireCallrec(t)
	path := writeConfig(t, &cfg)
	return launchCallrec(t, cfg, path, extraEnv)
}

// launchCallrec starts `callrec serve --config cfgPath` and waits until
// its SIP TCP port accepts connections. The harness's stop runs when the
// test ends.
func launchCallrec(t *testing.T, cfg config, cfgPath string, extraEnv []string) *callrec {
	t.Helper()
	return launchWrapped(t, cfg, cfgPath, extraEnv, nil)
}

// launchWrapped is launchCallrec with `callrec serve` run through the
// command wrap (such as prlimit and its arguments), when not empty.
func launchWrapped(t *testing.T, cfg config, cfgPath string, extraEnv, wrap []string) *callrec {
	t.Helper()
	c := &callrec{t: t, cfg: cfg, cfgPath: cfgPath, log: &syncBuffer{}, done: make(chan struct{})}
	argv := append(append([]string(nil), wrap...), env.callrec, "serve", "--config", cfgPath)
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = append(cleanEnv(), extraEnv...)
	c.cmd.Stdout = c.log
	c.cmd.Stderr = c.log
	c.cmd.Dir = filepath.Dir(cfgPath)
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
			return c
		}
		select {
		case <-c.done:
			t.Fatalf("callrec exited at start-up (%v); config:\n%s\nlog:\n%s", c.waitErr, mustRead(cfgPath), c.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("callrec's SIP TCP port %s did not accept a connection within 10 s; config:\n%s\nlog:\n%s", c.SIPAddr(), mustRead(cfgPath), c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restart starts a new `callrec serve` with the same config file (so the
// same ports and data_dir) once this one has exited.
func (c *callrec) restart(extraEnv ...string) *callrec {
	c.t.Helper()
	select {
	case <-c.done:
	default:
		c.t.Fatal("restart: the previous callrec is still running")
	}
	return launchCallrec(c.t, c.cfg, c.cfgPath, extraEnv)
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

// signal sends sig to callrec; the harness then no longer treats its exit
// as a failure, nor sends SIGTERM when the test ends.
func (c *callrec) signal(sig syscall.Signal) {
	c.t.Helper()
	c.stopped = true
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %v to callrec: %v", sig, err)
	}
}

// waitExit waits up to d for callrec to exit and returns when it did and
// its exit code; it fails the test (killing callrec) if it did not.
func (c *callrec) waitExit(d time.Duration) (time.Time, int) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Fatalf("callrec did not exit within %v; killed", d)
	}
	at := time.Now()
	code := 0
	var ee *exec.ExitError
	switch {
	case c.waitErr == nil:
	case errors.As(c.waitErr, &ee):
		code = ee.ExitCode()
	default:
		code = -1
	}
	return at, code
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

// waitLog waits up to d for a line of callrec's log containing all of
// parts, and returns it.
func (c *callrec) waitLog(d time.Duration, parts ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if line, ok := c.logLine(parts...); ok {
			return line
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("callrec logged no line with %q within %v", parts, d)
		}
		select {
		case <-c.done:
			if !strings.Contains(c.log.String(), parts[0]) {
				c.t.Fatalf("callrec exited (%v) without logging %q", c.waitErr, parts)
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logHas reports whether callrec logged, within d, a line containing all
// of parts (waitLog without failing the test).
func (c *callrec) logHas(d time.Duration, parts ...string) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if _, ok := c.logLine(parts...); ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// logLine is the first line callrec has logged so far that contains all
// of parts.
func (c *callrec) logLine(parts ...string) (string, bool) {
	for _, line := range strings.Split(c.log.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return line, true
		}
	}
	return "", false
}

// waitRecordingStarted waits for callrec to log that a call's recording
// started; by then both legs are bridged.
func (c *callrec) waitRecordingStarted() {
	c.t.Helper()
	c.waitLog(30*time.Second, `msg="recording started"`)
}

// serveMustFail writes cfg as startCallrec does, runs `callrec serve` and
// expects it to exit non-zero within d, as a bad configuration must make
// it. It returns the exit code and what callrec printed.
func serveMustFail(t *testing.T, cfg config, d time.Duration) (int, string) {
	t.Helper()
	requireCallrec(t)
	path := writeConfig(t, &cfg)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "serve", "--config", path)
	cmd.Env = cleanEnv()
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("callrec serve was still running %v after start (killed); it must refuse this config at once; config:\n%s\noutput:\n%s", d, mustRead(path), out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Fatalf("callrec serve exited 0; it must refuse this config; config:\n%s\noutput:\n%s", mustRead(path), out)
	case !errors.As(err, &ee):
		t.Fatalf("run callrec serve: %v", err)
	}
	return ee.ExitCode(), string(out)
}
