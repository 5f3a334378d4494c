package e2e

// SIP messages as the tests see them: parsing SIPp's traces and raw
// responses, the parts of headers and SDP the tests check, filters over a
// trace; and Go stand-ins for SIP peers where SIPp does not fit: a trunk
// port that must receive nothing, and a one-shot OPTIONS probe.

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

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

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
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

// sdpTarget is the audio address of an SDP body, for sending RTP to it.
func sdpTarget(t *testing.T, body string) *net.UDPAddr {
	t.Helper()
	ip, port := sdpAudio(body)
	if ip == "" || port == 0 {
		t.Fatalf("no audio address in SDP %q", body)
	}
	return &net.UDPAddr{IP: net.ParseIP(ip), Port: port}
}

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

// sipSink listens on the trunk port for tests in which callrec must not
// call out at all.
type sipSink struct {
	mu  sync.Mutex
	got []string
}

func newSIPSink(t *testing.T, port int) *sipSink {
	t.Helper()
	s := &sipSink{}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	u, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	note := func(b []byte) {
		s.mu.Lock()
		s.got = append(s.got, firstLine(string(b)))
		s.mu.Unlock()
	}
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			note(buf[:n])
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 65536)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ := c.Read(buf)
			note(append([]byte("TCP: "), buf[:n]...))
			c.Close()
		}
	}()
	t.Cleanup(func() { u.Close(); l.Close(); wg.Wait() })
	return s
}

// nothing fails the test if callrec sent anything to the trunk.
func (s *sipSink) nothing(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) > 0 {
		t.Errorf("callrec must not call out, but the trunk received: %q", s.got)
	}
}

// optionsStatus sends one OPTIONS over UDP to addr and returns the status
// of the response, or 0 if none came within a second.
func optionsStatus(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().String()
	id := fmt.Sprintf("%08x", rand.Uint32())
	req := "OPTIONS sip:" + serviceNumber + "@" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-probe-" + id + ";rport\r\n" +
		"From: <sip:probe@" + local + ">;tag=p" + id + "\r\n" +
		"To: <sip:" + serviceNumber + "@" + addr + ">\r\n" +
		"Call-ID: probe-" + id + "@127.0.0.1\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.WriteTo([]byte(req), to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return 0
		}
		if m := parseSIP(string(buf[:n])); m.Status >= 200 {
			return m.Status
		}
	}
}
