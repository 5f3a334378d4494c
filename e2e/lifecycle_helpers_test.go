package e2e

// Helpers for the lifecycle tests (lifecycle_test.go): starting callrec
// with extra CALLREC_* variables, restarting it on the same config and
// data_dir, signalling it and waiting for it to exit, and the SIPp
// scenarios those tests need beyond scenarios_test.go's caller and trunk.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// startCallrecEnv is startCallrec with extra environment variables
// ("CALLREC_TRUNK_USERNAME=…"), for keys the config template cannot set
// (nested under trunk:). cfg.TrunkPort may be set beforehand, so that a
// SIPp trunk can be listening before callrec starts.
func startCallrecEnv(t *testing.T, cfg config, extraEnv ...string) *callrec {
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
	path := filepath.Join(dir, "callrec.yaml")
	if err := os.WriteFile(path, y.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return launchCallrec(t, cfg, path, extraEnv)
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

// launchCallrec starts `callrec serve --config cfgPath` and waits, as
// startCallrec does, until its SIP TCP port accepts connections. The
// harness's stop runs when the test ends.
func launchCallrec(t *testing.T, cfg config, cfgPath string, extraEnv []string) *callrec {
	t.Helper()
	c := &callrec{t: t, cfg: cfg, cfgPath: cfgPath, log: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(env.callrec, "serve", "--config", cfgPath)
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
			t.Fatalf("callrec's SIP TCP port %s did not accept a connection within 10 s; log:\n%s", c.SIPAddr(), c.log)
		}
		time.Sleep(50 * time.Millisecond)
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

// waitLog waits up to d for a line of callrec's log containing all of
// parts, and returns it.
func (c *callrec) waitLog(d time.Duration, parts ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, line := range strings.Split(c.log.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
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

// kill ends a SIPp whose call is left hanging (its peer was killed).
func (s *sipp) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
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

// waitRecordingStarted waits for callrec to log that a call's recording
// started; by then both legs are bridged.
func (c *callrec) waitRecordingStarted() {
	c.t.Helper()
	c.waitLog(30*time.Second, `msg="recording started"`)
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

// wavHeader is what a canonical 44-byte WAV header says, next to the
// file's real size.
type wavHeader struct {
	FileSize, RIFFSize, DataOffset, DataSize int64
}

// readWAVHeader walks a WAV file's chunks up to "data".
func readWAVHeader(path string) (wavHeader, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return wavHeader{}, err
	}
	h := wavHeader{FileSize: int64(len(b))}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return h, fmt.Errorf("%s: not a RIFF WAVE file", path)
	}
	le32 := func(p []byte) int64 {
		return int64(uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24)
	}
	h.RIFFSize = le32(b[4:8])
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), le32(b[off+4:off+8])
		if id == "data" {
			h.DataOffset, h.DataSize = int64(off+8), size
			return h, nil
		}
		off += 8 + int(size) + int(size%2)
	}
	return h, fmt.Errorf("%s: no data chunk", path)
}

// A caller that re-INVITEs during the call: INVITE (a stranger, so 183
// early media, then 200), ACK, tone, pause, a re-INVITE in the dialog
// (CSeq 2) with ReSDP, ACK, pause, BYE (CSeq 3).
var reinviteCallerTemplate = template.Must(template.New("reinvite").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller re-INVITE">
{{define "from"}}From: <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]{{end}}
{{- define "ruri"}}sip:{{.To}}@[remote_ip]:[remote_port]{{end}}
  <send retrans="500" start_txn="invite">
    <![CDATA[
      INVITE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-invite
      {{template "from" .}}
      To: <{{template "ruri" .}}>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      User-Agent: callrec-e2e
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .SDP}}
    ]]>
  </send>
  <recv response="100" optional="global" response_txn="invite"/>
  <recv response="180" optional="global" response_txn="invite"/>
  <recv response="183" optional="global" response_txn="invite"/>
  <recv response="200" rtd="true" response_txn="invite"/>
  <send ack_txn="invite">
    <![CDATA[
      ACK {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-ack
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
  <pause milliseconds="{{.BeforeMS}}"/>
  <send retrans="500" start_txn="reinvite">
    <![CDATA[
      INVITE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-reinvite
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      User-Agent: callrec-e2e
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .ReSDP}}
    ]]>
  </send>
  <recv response="100" optional="true" response_txn="reinvite"/>
  <recv response="200" response_txn="reinvite"/>
  <send ack_txn="reinvite">
    <![CDATA[
      ACK {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-reack
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if .PauseStream}}
  <nop><action><exec rtp_stream="pause"/></action></nop>
{{- end}}
  <pause milliseconds="{{.AfterMS}}"/>
  <send retrans="500">
    <![CDATA[
      BYE {{template "ruri" .}} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-bye
      {{template "from" .}}
      To: <{{template "ruri" .}}>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 3 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`))

// reinviteCaller is the scenario above, filled in.
type reinviteCaller struct {
	From, To          string
	Tone              string // μ-law file streamed from the answer on
	SDP, ReSDP        string // the INVITE's and the re-INVITE's SDP
	BeforeMS, AfterMS int    // talk before and after the re-INVITE
	PauseStream       bool   // stop the tone once the re-INVITE is answered
}

func (r reinviteCaller) render(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := reinviteCallerTemplate.Execute(&b, r); err != nil {
		t.Fatalf("re-INVITE scenario: %v", err)
	}
	return b.String()
}

// sendTone sends a PCMU tone at hz as RTP from the sink's socket to to,
// one 20 ms packet per 20 ms of wall clock (catching up after a late
// wake-up, so the stream keeps real time), until stop is closed.
func (s *rtpSink) sendTone(hz int, to *net.UDPAddr, stop <-chan struct{}) {
	pcm := sine(float64(hz), 0.5, 8000)
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ; {
		for due := int(time.Since(start) / (20 * time.Millisecond)); i <= due; i++ {
			pkt := rtpHeader(0, i == 0, seq, ts, ssrc)
			off := i % 50 * 160
			for _, v := range pcm[off : off+160] {
				pkt = append(pkt, ulawEncode(v))
			}
			if _, err := s.conn.WriteToUDP(pkt, to); err != nil {
				return
			}
			seq++
			ts += 160
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// The digest challenge the tests' trunk and registrar send.
const (
	trunkRealm = "trunk.e2e.test"
	trunkNonce = "5f0c2a1bd3e94c7a8b6e1f20c4d9a377"
	trunkUser  = "callrec-e2e"
	trunkPass  = "s3cret-Pa55"
)

// authFail ends a scenario as a failed call: a receive that times out.
const authFail = `  <recv request="NOTIFY" timeout="200"/>`

// A trunk that challenges the first INVITE with 401, checks the
// Authorization of the second with verifyauth, answers it (200, tone) if
// valid and fails the call (403) if not, then waits for BYE.
var authTrunkTemplate = template.Must(template.New("authtrunk").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="trunk with digest auth">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5{{if .QOP}}, qop="auth"{{end}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="INVITE" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 403 Forbidden{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{{.Fail}}
  <label id="1"/>
  <send>
    <![CDATA[
      SIP/2.0 100 Trying
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      Contact: <sip:trunk@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      {{indent .SDP}}
    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
  <nop><action><exec rtp_stream="{{.Tone}},-1,0"/></action></nop>
  <recv request="BYE" timeout="55000" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`))

// A registrar: 401 to the first REGISTER, verifyauth on the second, 200
// with Expires: 60 if valid, 403 and a failed call if not.
var registrarTemplate = template.Must(template.New("registrar").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="registrar with digest auth">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="REGISTER" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5{{if .QOP}}, qop="auth"{{end}}
      Content-Length: 0

    ]]>
  </send>
  <recv request="REGISTER" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 403 Forbidden{{template "resp"}}
      Content-Length: 0

    ]]>
  </send>
{{.Fail}}
  <label id="1"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK{{template "resp"}}
      [last_Contact:];expires=60
      Expires: 60
      Content-Length: 0

    ]]>
  </send>
</scenario>
`))

// authPeer fills the trunk and registrar templates.
type authPeer struct {
	Realm, Nonce, User, Pass string
	QOP                      bool   // offer qop="auth"
	Tone                     string // trunk: μ-law file streamed after the ACK
}

func (a authPeer) render(t *testing.T, tmpl *template.Template) string {
	t.Helper()
	var b bytes.Buffer
	err := tmpl.Execute(&b, struct {
		authPeer
		SDP, Fail string
	}{a, sdp([]codec{pcmu}, 0, 0), authFail})
	if err != nil {
		t.Fatalf("%s scenario: %v", tmpl.Name(), err)
	}
	return b.String()
}

// optionsScenario sends one OPTIONS and expects 200.
const optionsScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="OPTIONS ping">
  <send retrans="500">
    <![CDATA[
      OPTIONS sip:` + serviceNumber + `@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:monitor@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:` + serviceNumber + `@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Contact: <sip:monitor@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Accept: application/sdp
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" rtd="true"/>
</scenario>
`
