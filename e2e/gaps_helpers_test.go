package e2e

// Helpers for gaps_test.go: G.711 A-law, decoding what an RTP sink got,
// sending a tone in either G.711 law from a sink's socket, a mono WAV
// writer for prompts, a trunk whose SDP answer the test chooses, the
// registrar scenarios of the refresh test, and a `callrec serve` that is
// expected to refuse to start.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// alawEncode converts one 16-bit linear sample to G.711 A-law (ITU-T
// G.711, as in the classic Sun reference implementation).
func alawEncode(s int16) byte {
	v := int(s) >> 3
	mask := byte(0xd5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	ends := [8]int{0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff}
	seg := 0
	for seg < 8 && v > ends[seg] {
		seg++
	}
	if seg >= 8 {
		return 0x7f ^ mask
	}
	a := byte(seg << 4)
	if seg < 2 {
		a |= byte(v>>1) & 0x0f
	} else {
		a |= byte(v>>seg) & 0x0f
	}
	return a ^ mask
}

// alawDecode converts one G.711 A-law byte to a 16-bit linear sample.
func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// g711Samples decodes, in arrival order, the payloads of packets with
// payload type 0 (PCMU) or 8 (PCMA); other payload types are left out.
func g711Samples(pkts []rtpPacket) []int16 {
	var out []int16
	for _, p := range pkts {
		for _, b := range p.Payload {
			switch p.PT {
			case 0:
				out = append(out, ulawDecode(b))
			case 8:
				out = append(out, alawDecode(b))
			}
		}
	}
	return out
}

// countPT counts packets by payload type.
func countPT(pkts []rtpPacket) map[uint8]int {
	n := map[uint8]int{}
	for _, p := range pkts {
		n[p.PT]++
	}
	return n
}

// toneFrames returns how many frameMS frames of x are mostly a sine at hz,
// and how many frames x has.
func toneFrames(x []int16, hz float64) (hits, frames int) {
	n := 8 * frameMS
	for off := 0; off+n <= len(x); off += n {
		frames++
		if f := x[off : off+n]; rms(f) >= silentRMS && toneShare(f, hz) > 0.5 {
			hits++
		}
	}
	return hits, frames
}

// sendToneAs is rtpSink.sendTone in either law: it sends a tone at hz as
// RTP with payload type pt (0 PCMU, 8 PCMA) from the sink's socket to to,
// one 20 ms packet per 20 ms of wall clock, until stop is closed.
func (s *rtpSink) sendToneAs(hz int, pt uint8, to *net.UDPAddr, stop <-chan struct{}) {
	enc := ulawEncode
	if pt == 8 {
		enc = alawEncode
	}
	pcm := sine(float64(hz), 0.5, 8000)
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ; {
		for due := int(time.Since(start) / (20 * time.Millisecond)); i <= due; i++ {
			pkt := rtpHeader(pt, i == 0, seq, ts, ssrc)
			off := i % 50 * 160
			for _, v := range pcm[off : off+160] {
				pkt = append(pkt, enc(v))
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

// sendTimed sends pkts (as dtmfPackets makes them) from the sink's socket
// to to, each atMS after the first.
func (s *rtpSink) sendTimed(pkts []timedRTP, to *net.UDPAddr) error {
	start := time.Now()
	for _, p := range pkts {
		time.Sleep(time.Until(start.Add(time.Duration(p.atMS) * time.Millisecond)))
		if _, err := s.conn.WriteToUDP(p.pkt, to); err != nil {
			return err
		}
	}
	return nil
}

// logHas reports whether callrec logged, within d, a line containing all
// of parts (waitLog without failing the test).
func (c *callrec) logHas(d time.Duration, parts ...string) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		for _, line := range strings.Split(c.log.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
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

// writeMonoWAV writes pcm as a 16-bit PCM mono WAV file at 8 kHz.
func writeMonoWAV(t *testing.T, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	data := 2 * len(pcm)
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	_ = binary.Write(&b, le, []uint32{16})
	_ = binary.Write(&b, le, []uint16{1, 1})
	_ = binary.Write(&b, le, []uint32{8000, 16000})
	_ = binary.Write(&b, le, []uint16{2, 16})
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(data))
	_ = binary.Write(&b, le, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startTrunkSDP starts a SIPp trunk like startTrunk, but answering with
// the SDP body given (see sdp) instead of PCMU alone.
func startTrunkSDP(t *testing.T, cr *callrec, s trunkScenario, body string) *sipp {
	t.Helper()
	if s.Mode == "" {
		s.Mode = "answer"
	}
	var b bytes.Buffer
	if err := trunkTemplate.Execute(&b, struct {
		trunkScenario
		SDP string
	}{s, body}); err != nil {
		t.Fatalf("trunk scenario: %v", err)
	}
	return startSIPp(t, sippOpts{Name: "trunk", Port: cr.TrunkPort(), Scenario: b.String()})
}

// shortRegistrar is registrarTemplate (401, then 200 to a REGISTER that
// verifyauth accepts) granting expires seconds instead of 60.
func shortRegistrar(t *testing.T, a authPeer, expires int) string {
	t.Helper()
	s := a.render(t, registrarTemplate)
	for _, r := range [][2]string{{";expires=60", fmt.Sprintf(";expires=%d", expires)}, {"Expires: 60", fmt.Sprintf("Expires: %d", expires)}} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("registrar scenario has no %q to replace", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

// A registrar for a refresh: it takes a REGISTER whose Authorization
// verifyauth accepts at once; otherwise it challenges it (401) and takes
// the next one if that one verifies; else 403 and a failed call. The
// lifetime granted is {{.Expires}} s.
var refreshRegistrarTemplate = template.Must(template.New("refresh").Funcs(scenarioFuncs).Parse(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="registrar for a refresh">
{{define "resp"}}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
{{- end}}
  <recv request="REGISTER" timeout="15000" crlf="true">
    <action>
      <verifyauth assign_to="authvalid" username="{{.User}}" password="{{.Pass}}"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="1"/>
  <send>
    <![CDATA[
      SIP/2.0 401 Unauthorized{{template "resp"}}
      WWW-Authenticate: Digest realm="{{.Realm}}", nonce="{{.Nonce}}", algorithm=MD5, qop="auth"
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
      [last_Contact:];expires={{.Expires}}
      Expires: {{.Expires}}
      Content-Length: 0

    ]]>
  </send>
</scenario>
`))

func refreshRegistrar(t *testing.T, a authPeer, expires int) string {
	t.Helper()
	var b bytes.Buffer
	if err := refreshRegistrarTemplate.Execute(&b, struct {
		authPeer
		Fail    string
		Expires int
	}{a, authFail, expires}); err != nil {
		t.Fatalf("refresh registrar scenario: %v", err)
	}
	return b.String()
}

// serveMustFail writes cfg as startCallrec does, runs `callrec serve` and
// expects it to exit non-zero within d, as a bad configuration must make
// it. It returns the exit code and what callrec printed.
func serveMustFail(t *testing.T, cfg config, d time.Duration) (int, string) {
	t.Helper()
	requireCallrec(t)
	dir := t.TempDir()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.SIPPort = freePorts(t, 1, true)
	cfg.TrunkPort = freePorts(t, 1, true)
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
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.callrec, "serve", "--config", path)
	cmd.Env = cleanEnv()
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("callrec serve was still running %v after start (killed); it must refuse this config at once; config:\n%s\noutput:\n%s", d, y.String(), out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Fatalf("callrec serve exited 0; it must refuse this config; config:\n%s\noutput:\n%s", y.String(), out)
	case !errors.As(err, &ee):
		t.Fatalf("run callrec serve: %v", err)
	}
	return ee.ExitCode(), string(out)
}

// TestGapsHelpers checks the A-law codec and toneFrames against known
// answers.
func TestGapsHelpers(t *testing.T) {
	t.Parallel()
	if alawEncode(0) != 0xd5 {
		t.Errorf("A-law of 0 = %#x, want 0xd5", alawEncode(0))
	}
	for _, s := range []int16{0, 8, -8, 100, -100, 1000, -1000, 8000, -8000, 32000, -32000} {
		got := alawDecode(alawEncode(s))
		if d := float64(got) - float64(s); d*d > max(16*16, float64(s)*float64(s)/(16*16)) {
			t.Errorf("A-law round trip of %d gave %d", s, got)
		}
	}
	tone := sine(2000, 0.5, 8000)
	coded := make([]int16, len(tone))
	for i, v := range tone {
		coded[i] = alawDecode(alawEncode(v))
	}
	if hits, frames := toneFrames(coded, 2000); hits != frames || frames != 20 {
		t.Errorf("toneFrames of 1 s of 2 kHz through A-law: %d of %d frames", hits, frames)
	}
	if hits, _ := toneFrames(coded, 1300); hits != 0 {
		t.Errorf("toneFrames found 1300 Hz in a 2 kHz tone: %d frames", hits)
	}
}
