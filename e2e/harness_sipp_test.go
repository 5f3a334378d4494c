package e2e

// Running SIPp (one process per phone or trunk, one call each) and reading
// its message trace.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sippOpts says how to run one SIPp instance.
type sippOpts struct {
	Name      string // "owner", "stranger", "trunk": names files and log lines
	Scenario  string // scenario XML
	LocalIP   string // -i and -mi; default 127.0.0.1
	Port      int    // -p; 0: a free port
	MediaPort int    // -mp; 0: a free even port (SIPp binds it and +2)
	TCP       bool   // -t t1 instead of UDP
	Remote    string // host:port to call; empty for a UAS
	RTPEcho   bool   // -rtp_echo
	// Timeout is SIPp's -timeout for the whole run; 0 means 60 s.
	Timeout time.Duration
	// Netns runs SIPp inside this namespace; LocalIP (an address of the
	// namespace), Port and MediaPort must then be given: the namespace's
	// ports are the test's own.
	Netns *netns
}

// sipp is one SIPp process.
type sipp struct {
	t       *testing.T
	opts    sippOpts
	dir     string
	msgFile string
	errFile string
	outFile string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// startSIPp starts SIPp for one call (-m 1). Its output goes to files in a
// test directory, shown when the test fails. The process is killed when the
// test ends if it is still running.
func startSIPp(t *testing.T, o sippOpts) *sipp {
	t.Helper()
	requireSIPp(t)
	if o.Netns != nil && (o.Port == 0 || o.MediaPort == 0 || o.LocalIP == "") {
		t.Fatalf("startSIPp %s in a namespace: LocalIP, Port and MediaPort must be given", o.Name)
	}
	if o.LocalIP == "" {
		o.LocalIP = "127.0.0.1"
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Port == 0 {
		o.Port = freePorts(t, 1, o.TCP)
	}
	if o.MediaPort == 0 {
		o.MediaPort = freePorts(t, 4, false)
	}
	dir := filepath.Join(t.TempDir(), o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &sipp{t: t, opts: o, dir: dir, done: make(chan struct{}),
		msgFile: filepath.Join(dir, "messages.log"),
		errFile: filepath.Join(dir, "errors.log"),
		outFile: filepath.Join(dir, "screen.log"),
	}
	sf := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(sf, []byte(o.Scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-sf", sf,
		"-i", o.LocalIP, "-p", strconv.Itoa(o.Port),
		"-mi", o.LocalIP, "-mp", strconv.Itoa(o.MediaPort),
		"-m", "1", "-nostdin", "-aa",
		"-timeout", strconv.Itoa(int(o.Timeout/time.Second)) + "s", "-timeout_error",
		"-max_retrans", "5",
		"-trace_msg", "-message_file", s.msgFile,
		"-trace_err", "-error_file", s.errFile,
	}
	if o.TCP {
		args = append(args, "-t", "t1")
	}
	if o.RTPEcho {
		args = append(args, "-rtp_echo")
	}
	if o.Remote != "" {
		args = append(args, o.Remote)
	}
	out, err := os.Create(s.outFile)
	if err != nil {
		t.Fatal(err)
	}
	if o.Netns != nil {
		s.cmd = o.Netns.command(append([]string{env.sipp}, args...)...)
	} else {
		s.cmd = exec.Command(env.sipp, args...)
	}
	s.cmd.Dir = dir
	s.cmd.Stdout = out
	s.cmd.Stderr = out
	if err := s.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start sipp %s: %v", o.Name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		out.Close()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(2 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			s.dump()
		}
	})
	if o.Remote == "" {
		s.waitBound()
	}
	return s
}

// waitBound waits until the UAS has bound its SIP port (inside its
// namespace: seen in the process's own socket table).
func (s *sipp) waitBound() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("sipp %s exited at start-up: %v\n%s", s.opts.Name, s.waitErr, mustRead(s.outFile))
		default:
		}
		if s.opts.Netns != nil {
			if bound(s.cmd.Process.Pid, "udp", s.opts.Port) {
				return
			}
		} else if s.opts.TCP {
			if c, err := netDial("tcp", s.opts.LocalIP, s.opts.Port); err == nil {
				c.Close()
				return
			}
		} else {
			bound, ok := udpBound(s.opts.Port)
			if !ok {
				time.Sleep(500 * time.Millisecond)
				return
			}
			if bound {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("sipp %s did not bind port %d within 5 s", s.opts.Name, s.opts.Port)
}

// Addr is SIPp's SIP address.
func (s *sipp) Addr() string { return fmt.Sprintf("%s:%d", s.opts.LocalIP, s.opts.Port) }

// wait waits up to d for SIPp to end, then kills it, and returns its exit
// code (-1 if killed or not started).
func (s *sipp) wait(d time.Duration) int {
	select {
	case <-s.done:
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("sipp %s had not finished its scenario after %v; killed", s.opts.Name, d)
		return -1
	}
	if s.cmd.ProcessState == nil {
		return -1
	}
	return s.cmd.ProcessState.ExitCode()
}

// mustPass waits for SIPp to finish and fails the test unless the
// scenario ran to its end (exit code 0).
func (s *sipp) mustPass(d time.Duration) {
	s.t.Helper()
	if code := s.wait(d); code != 0 {
		s.t.Errorf("sipp %s: scenario failed (exit %d): %s", s.opts.Name, code, s.summary())
	}
}

// kill ends a SIPp whose call is left hanging (its peer was killed).
func (s *sipp) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// summary says in one line what SIPp sent and received.
func (s *sipp) summary() string {
	var parts []string
	for _, m := range s.messages() {
		dir := "<-"
		if m.Sent {
			dir = "->"
		}
		parts = append(parts, dir+" "+m.Short())
	}
	if len(parts) == 0 {
		return "no SIP message sent or received"
	}
	return strings.Join(parts, ", ")
}

func (s *sipp) dump() {
	s.t.Logf("sipp %s (exit %v) messages (%s):\n%s", s.opts.Name, s.waitErr, s.msgFile, mustRead(s.msgFile))
	if b, err := os.ReadFile(s.errFile); err == nil && len(b) > 0 {
		s.t.Logf("sipp %s errors:\n%s", s.opts.Name, b)
	}
	out := mustRead(s.outFile)
	if len(out) > 8000 {
		out = "…" + out[len(out)-8000:]
	}
	s.t.Logf("sipp %s screen:\n%s", s.opts.Name, out)
}

// messages parses SIPp's message trace so far.
func (s *sipp) messages() []sipMsg {
	b, err := os.ReadFile(s.msgFile)
	if err != nil {
		return nil
	}
	return parseTrace(string(b))
}

// waitMessage polls the trace until a message matching match appears, for
// up to d, and fails the test otherwise.
func (s *sipp) waitMessage(d time.Duration, what string, match func(sipMsg) bool) sipMsg {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, m := range s.messages() {
			if match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sipp %s: no %s within %v; so far: %s", s.opts.Name, what, d, s.summary())
		}
		select {
		case <-s.done:
			// One last look: the message may have landed just before exit.
			for _, m := range s.messages() {
				if match(m) {
					return m
				}
			}
			s.t.Fatalf("sipp %s ended without %s: %s", s.opts.Name, what, s.summary())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// byeTime is when SIPp received (sent=false) or sent the first BYE.
func byeTime(t *testing.T, s *sipp, sent bool) time.Time {
	t.Helper()
	byes := requests(s.messages(), "BYE", sent)
	if len(byes) == 0 {
		t.Fatalf("sipp %s: no BYE (sent=%v): %s", s.opts.Name, sent, s.summary())
	}
	return byes[0].Time
}

// firstOK is the 200 the phone received for its INVITE with CSeq number
// cseq.
func firstOK(t *testing.T, s *sipp, cseq string) sipMsg {
	t.Helper()
	for _, m := range s.messages() {
		if !m.Sent && m.Status == 200 && m.CSeq == "INVITE" && strings.HasPrefix(m.Header("CSeq"), cseq+" ") {
			return m
		}
	}
	t.Fatalf("sipp %s got no 200 to INVITE CSeq %s: %s", s.opts.Name, cseq, s.summary())
	return sipMsg{}
}
