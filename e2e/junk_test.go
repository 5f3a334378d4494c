package e2e

// Junk from the trunk's own address: INVITEs that can go nowhere, and
// caller IDs that are not numbers.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawINVITE is a UDP client sending hand-made INVITEs to callrec.
type rawINVITE struct {
	t    *testing.T
	c    net.PacketConn
	to   *net.UDPAddr
	sip  string
	rtcp int
}

func newRawINVITE(t *testing.T, cr *callrec) *rawINVITE {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	to, _ := net.ResolveUDPAddr("udp4", cr.SIPAddr())
	return &rawINVITE{t: t, c: c, to: to, sip: cr.SIPAddr(), rtcp: freePorts(t, 1, false)}
}

// head is the first lines of a request of the dialog id from caller (a
// From header's display name and user, as sent).
func (r *rawINVITE) head(method, id, name, user, cseq, toTag string) string {
	local := r.c.LocalAddr().String()
	from := "<sip:" + user + "@" + local + ">"
	if name != "" {
		from = `"` + name + `" ` + from
	}
	return method + " sip:" + serviceNumber + "@" + r.sip + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + id + "-" + cseq + ";rport\r\n" +
		"From: " + from + ";tag=f" + id + "\r\n" +
		"To: <sip:" + serviceNumber + "@" + r.sip + ">" + toTag + "\r\n" +
		"Call-ID: " + id + "@junk\r\n" +
		"CSeq: 1 " + cseq + "\r\n" +
		"Contact: <sip:caller@" + local + ">\r\n" +
		"Max-Forwards: 70\r\n"
}

// send sends an INVITE with body (SDP) and returns its dialog id.
func (r *rawINVITE) send(name, user, body string) string {
	r.t.Helper()
	id := fmt.Sprintf("junk%08x", rand.Uint32())
	msg := r.head("INVITE", id, name, user, "INVITE", "") + "Content-Type: application/sdp\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
	if _, err := r.c.WriteTo([]byte(msg), r.to); err != nil {
		r.t.Fatal(err)
	}
	return id
}

// goodSDP offers PCMU on a port nobody reads.
func (r *rawINVITE) goodSDP() string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(r.rtcp) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

// await reads responses until one to dialog id matches want (a status, or
// any final one when want is 0), answering final ones with an ACK; it
// returns the status, or 0 after d.
func (r *rawINVITE) await(id string, want int, d time.Duration) (int, string) {
	r.t.Helper()
	deadline := time.Now().Add(d)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		_ = r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFrom(buf)
		if err != nil {
			return 0, ""
		}
		m := parseSIP(string(buf[:n]))
		if !strings.HasPrefix(m.Header("Call-ID"), id) {
			continue
		}
		toTag := ""
		if i := strings.Index(m.Header("To"), ";tag="); i >= 0 {
			toTag = m.Header("To")[i:]
		}
		if m.Status >= 200 && strings.HasSuffix(m.Header("CSeq"), "INVITE") {
			ack := r.head("ACK", id, "", "x", "ACK", toTag) + "Content-Length: 0\r\n\r\n"
			_, _ = r.c.WriteTo([]byte(ack), r.to)
		}
		if m.Status == want || want == 0 && m.Status >= 200 {
			return m.Status, toTag
		}
	}
	return 0, ""
}

// awaitBody reads responses to dialog id until a 200 to the request with
// CSeq cseq ("2 INVITE"), ACKs it, and returns its body ("" after d).
func (r *rawINVITE) awaitBody(id, cseq string, d time.Duration) string {
	r.t.Helper()
	deadline := time.Now().Add(d)
	buf := make([]byte, 65536)
	for time.Now().Before(deadline) {
		_ = r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFrom(buf)
		if err != nil {
			return ""
		}
		m := parseSIP(string(buf[:n]))
		if !strings.HasPrefix(m.Header("Call-ID"), id) || m.Header("CSeq") != cseq || m.Status != 200 {
			continue
		}
		toTag := ""
		if i := strings.Index(m.Header("To"), ";tag="); i >= 0 {
			toTag = m.Header("To")[i:]
		}
		num, _, _ := strings.Cut(cseq, " ")
		ack := strings.Replace(r.head("ACK", id, "", "x", "ACK", toTag), "CSeq: 1 ACK", "CSeq: "+num+" ACK", 1) + "Content-Length: 0\r\n\r\n"
		_, _ = r.c.WriteTo([]byte(ack), r.to)
		return m.Body
	}
	return ""
}

// cancel CANCELs the INVITE of dialog id.
func (r *rawINVITE) cancel(id string) {
	r.t.Helper()
	msg := r.head("CANCEL", id, "", "x", "CANCEL", "") + "Content-Length: 0\r\n\r\n"
	// A CANCEL matches the INVITE's branch and CSeq number.
	msg = strings.Replace(msg, "-CANCEL;rport", "-INVITE;rport", 1)
	if _, err := r.c.WriteTo([]byte(msg), r.to); err != nil {
		r.t.Fatal(err)
	}
}

// rawCalls is `callrec calls list --json --limit 1000`, as maps.
func rawCalls(t *testing.T, cr *callrec) []map[string]any {
	t.Helper()
	cmd := exec.Command(env.callrec, "calls", "list", "--json", "--limit", "1000", "--config", cr.cfgPath)
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("calls list: %v", err)
	}
	var list []map[string]any
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestBadSDPFloodHoldsNoSlots: INVITEs with unparseable SDP, never ACKed,
// faster than max_concurrent_calls could absorb, take no call slot and
// leave no record: a real call goes through during the flood, and the
// refusals are counted by reason.
func TestBadSDPFloodHoldsNoSlots(t *testing.T) {
	t.Parallel()
	webPort := freePorts(t, 1, true)
	cr := startCallrec(t, config{MaxConcurrent: 2, Web: fmt.Sprintf("web:\n  listen: \"127.0.0.1:%d\"\n", webPort)})
	r := newRawINVITE(t, cr)
	bad := "v=0\r\no=garbage\r\nc=IN IP4\r\nm=audio notaport RTP/AVP x y\r\n"
	const flood = 40
	for i := 0; i < flood; i++ {
		r.send("", strangerNum, bad)
		time.Sleep(20 * time.Millisecond)
	}
	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", ownerDialsOut(t, tn, "2125550123", 2000), sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	if recs := cr.finishedCalls(1); len(recs) != 1 {
		t.Errorf("%d call records, want only the real call's", len(recs))
	}
	_, metrics := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", webPort))
	m := regexp.MustCompile(`callrec_sip_rejected_total\{reason="bad_sdp"\} (\d+)`).FindStringSubmatch(metrics)
	if len(m) < 2 {
		t.Fatalf("no bad_sdp rejections counted in the metrics")
	}
	if n, _ := strconv.Atoi(m[1]); n < flood {
		t.Errorf("bad_sdp rejections counted: %v, want %d", m, flood)
	}
}

// TestCallerIDsNotNumbers: caller IDs that are no numbers (SQL-looking,
// percent-encoded, 3,000 digits, a right-to-left override) are kept only
// as the raw value; the party is unknown and the display name is cleaned.
func TestCallerIDsNotNumbers(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{})
	r := newRawINVITE(t, cr)
	users := map[string]string{
		"sql":     "%27%3B%20DROP%20TABLE%20calls%3B%20--",
		"digits":  "+1" + strings.Repeat("5", 3000),
		"rtl":     "+15550199%E2%80%AE1234",
		"letters": "anonymous",
	}
	for name, user := range users {
		id := r.send("Mallory\u202e\x07 "+name, user, r.goodSDP())
		if code, _ := r.await(id, 183, 10*time.Second); code != 183 {
			t.Fatalf("%s: no 183 (got %d)", name, code)
		}
		r.cancel(id)
		if code, _ := r.await(id, 487, 10*time.Second); code != 487 {
			t.Errorf("%s: no 487 after CANCEL (got %d)", name, code)
		}
	}
	cr.finishedCalls(len(users))
	for _, c := range rawCalls(t, cr) {
		raw, _ := c["party_raw"].(string)
		name, _ := c["party_name"].(string)
		if c["party"] != "" || raw == "" || len(raw) > 260 {
			t.Errorf("party %q, raw %q: want no party and the raw value (bounded)", c["party"], raw)
		}
		if !strings.HasPrefix(name, "Mallory ") || strings.ContainsAny(name, "\u202e\x07") {
			t.Errorf("name %q: want it without the control and bidi characters", name)
		}
	}
}
