package e2e

// Running SIPp and reading its message traces.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	if o.LocalIP == "" {
		o.LocalIP = "127.0.0.1"
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
		"-timeout", "60s", "-timeout_error",
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
	s.cmd = exec.Command(env.sipp, args...)
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

// waitBound waits until the UAS has bound its SIP port.
func (s *sipp) waitBound() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("sipp %s exited at start-up: %v\n%s", s.opts.Name, s.waitErr, mustRead(s.outFile))
		default:
		}
		if s.opts.TCP {
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

// sipMsg is one SIP message from a SIPp trace.
type sipMsg struct {
	Time    time.Time
	Sent    bool // sent by SIPp (else received)
	Raw     string
	Method  string // requests
	URI     string // requests
	Status  int    // responses
	CSeq    string // method in CSeq, e.g. "INVITE"
	Headers map[string][]string
	Body    string
}

// Header returns the first value of a header (name case-insensitive).
func (m sipMsg) Header(name string) string {
	if v := m.Headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Short is e.g. "INVITE sip:+1@h" or "200 (INVITE)".
func (m sipMsg) Short() string {
	if m.Method != "" {
		return m.Method + " " + m.URI
	}
	return fmt.Sprintf("%d (%s)", m.Status, m.CSeq)
}

var compactHeaders = map[string]string{
	"f": "from", "t": "to", "m": "contact", "i": "call-id", "v": "via",
	"l": "content-length", "c": "content-type", "k": "supported", "s": "subject",
}

var traceSep = regexp.MustCompile(`(?m)^-{20,} (\d{4}-\d\d-\d\d[ \t]\d\d:\d\d:\d\d\.\d+)\s*$`)

// parseTrace splits a SIPp -trace_msg file into messages. Each entry starts
// with a line of dashes and a local timestamp, then "UDP message sent (N
// bytes):" or "TCP message received [N] bytes :", a blank line and the
// message.
func parseTrace(s string) []sipMsg {
	var out []sipMsg
	locs := traceSep.FindAllStringSubmatchIndex(s, -1)
	for i, loc := range locs {
		end := len(s)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		stamp := strings.Replace(s[loc[2]:loc[3]], "\t", " ", 1)
		ts, _ := time.ParseInLocation("2006-01-02 15:04:05.999999", stamp, time.Local)
		entry := s[loc[1]:end]
		entry = strings.TrimLeft(entry, "\r\n")
		nl := strings.IndexByte(entry, '\n')
		if nl < 0 {
			continue
		}
		kind := entry[:nl]
		if !strings.Contains(kind, "message sent") && !strings.Contains(kind, "message received") {
			continue // e.g. "Ignoring provisional …"
		}
		m := parseSIP(strings.TrimLeft(entry[nl+1:], "\r\n"))
		m.Time = ts
		m.Sent = strings.Contains(kind, "sent")
		out = append(out, m)
	}
	return out
}

// parseSIP parses a SIP message leniently.
func parseSIP(raw string) sipMsg {
	m := sipMsg{Raw: raw, Headers: map[string][]string{}}
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	head, body, _ := strings.Cut(raw, "\n\n")
	m.Body = strings.TrimRight(body, "\n")
	sc := bufio.NewScanner(strings.NewReader(head))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			f := strings.Fields(line)
			if len(f) >= 2 && strings.HasPrefix(f[0], "SIP/") {
				m.Status, _ = strconv.Atoi(f[1])
			} else if len(f) >= 2 {
				m.Method, m.URI = f[0], f[1]
			}
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if long, ok := compactHeaders[name]; ok {
			name = long
		}
		m.Headers[name] = append(m.Headers[name], strings.TrimSpace(val))
	}
	if f := strings.Fields(m.Header("cseq")); len(f) == 2 {
		m.CSeq = f[1]
	}
	return m
}

// uriUser is the user part of a SIP or tel URI, or of a name-addr such as
// `"Bob" <sip:+1555@host>;tag=x`.
func uriUser(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	s = strings.TrimSpace(s)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	} else if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, ';'); i >= 0 { // user parameters, e.g. ;npdi
		s = s[:i]
	}
	return s
}

// sdpAudio returns the connection address and audio port of an SDP body.
func sdpAudio(body string) (ip string, port int) {
	for _, line := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "c=IN IP4 ") && ip == "" {
			ip = strings.Fields(line[len("c=IN IP4 "):])[0]
		}
		if strings.HasPrefix(line, "m=audio ") && port == 0 {
			port, _ = strconv.Atoi(strings.Fields(line)[1])
		}
	}
	return ip, port
}

// Filters over traces.

func requests(msgs []sipMsg, method string, sent bool) []sipMsg {
	var out []sipMsg
	for _, m := range msgs {
		if m.Method == method && m.Sent == sent {
			out = append(out, m)
		}
	}
	return out
}

// statuses lists the status codes of responses received (sent=false) or
// sent, for requests with CSeq method cseq.
func statuses(msgs []sipMsg, cseq string, sent bool) []int {
	var out []int
	for _, m := range msgs {
		if m.Status != 0 && m.Sent == sent && m.CSeq == cseq {
			out = append(out, m.Status)
		}
	}
	return out
}

func firstResponse(msgs []sipMsg, status int, cseq string, sent bool) (sipMsg, bool) {
	for _, m := range msgs {
		if m.Status == status && m.CSeq == cseq && m.Sent == sent {
			return m, true
		}
	}
	return sipMsg{}, false
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func netDial(network, ip string, port int) (net.Conn, error) {
	return net.DialTimeout(network, net.JoinHostPort(ip, strconv.Itoa(port)), 200*time.Millisecond)
}
