package e2e

// Hostile input against the real binary, as an internet-facing SIP port
// gets it: thousands of idle TCP connections under a low open-file limit,
// accept failing for want of files, floods from a source outside
// trunk.allowed_sources, random datagrams, truncated requests, 64 KB
// headers and Require of unknown extensions. callrec must stay up, answer
// strangers nothing, keep its log small, and take a real call during and
// after. Each test is bounded in time and in what it sends.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestHostileIdleTCP: callrec starts under an open-file limit of 256, so
// it lowers sip.tcp_max_connections to 128. About 2600 idle TCP
// connections, 40 from one address and 40 each from 64 more (all on the
// trunk's own network, so they are accepted rather than dropped), keep
// arriving: those beyond the caps (32 from one address, 128 in all) are
// closed at once, the rest when their first message is overdue, and a
// real call goes through meanwhile. Then the open-file limit is cut below
// what callrec has open, so that accept fails (EMFILE): callrec logs it,
// retries, keeps answering SIP over UDP and does not exit. With the limit
// back and the flood over, another call goes through. The log stays
// small: no line per connection, no "TCP ref went negative".
func TestHostileIdleTCP(t *testing.T) {
	t.Parallel()
	const nofile = 256
	webPort := freePorts(t, 1, true)
	cr := startCallrecLimited(t, config{Web: webYAML(webPort)}, nofile,
		"CALLREC_LOG_LEVEL=info",
		"CALLREC_TRUNK_ALLOWED_SOURCES=127.0.0.0/8",
		"CALLREC_SIP_TCP_FIRST_MESSAGE_TIMEOUT=3s",
		"CALLREC_SIP_REJECT_LOG_INTERVAL=5s")
	cr.waitLog(5*time.Second, "open-file limit", fmt.Sprintf("open_file_limit=%d", nofile))
	cr.waitLog(5*time.Second, "tcp_max_connections lowered", "tcp_max_connections=128")
	start := time.Now()

	// One address beyond its 32, then 64 more addresses beyond the 128.
	one := startTCPFlood(t, cr.SIPAddr(), 2, 1, 40, 2*time.Second)
	one.waitDialled(t, 40, 10*time.Second)
	waitRejected(t, webPort, "tcp_source_limit", 1, 10*time.Second)
	flood := startTCPFlood(t, cr.SIPAddr(), 1, 64, 40, 2*time.Second)
	flood.waitDialled(t, 2000, 30*time.Second)
	waitRejected(t, webPort, "tcp_connection_limit", 1, 10*time.Second)
	cr.alive()
	t.Logf("flood: %d connections established, %d closed by callrec, %d dials failed; callrec has %d files open",
		flood.dialled.Load(), flood.closedBy.Load(), flood.failed.Load(), cr.openFiles())

	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner-during", ownerDialsOut(t, tn, "2125550123", 2000), sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
	cr.alive()

	// Accept fails for want of files: the limit just below what is open.
	open := cr.openFiles()
	cr.setFileLimit(open-1, nofile)
	waitRejected(t, webPort, "tcp_accept_failed", 1, 20*time.Second)
	cr.waitLog(5*time.Second, "SIP TCP accept failing", "too many open files")
	if code := optionsStatus(t, cr.SIPAddr()); code != 200 {
		t.Errorf("OPTIONS over UDP while accept fails: %d, want 200", code)
	}
	cr.alive()
	cr.setFileLimit(nofile, nofile)
	flood.end()
	one.end()
	t.Logf("flood over: %d connections established, %d closed by callrec; %v accept failures, %v connections timed out",
		flood.dialled.Load(), flood.closedBy.Load(), rejected(t, webPort, "tcp_accept_failed"), rejected(t, webPort, "tcp_idle_timeout"))

	_, trunk = callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner-after", ownerDialsOut(t, tn, "2125550124", 2000), sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550124")
	cr.alive()
	if n := len(cr.finishedCalls(2)); n != 2 {
		t.Errorf("%d call records, want the 2 real calls", n)
	}

	intervals := int(time.Since(start)/(5*time.Second)) + 2
	logText := cr.log.String()
	if n := cr.linesWith("SIP requests refused"); n > intervals*11 {
		t.Errorf("%d refusal summary lines in %d intervals, want at most 11 an interval", n, intervals)
	}
	if n := cr.linesWith("SIP TCP accept failing"); n > intervals {
		t.Errorf("%d accept-failure lines in %d intervals, want at most one an interval", n, intervals)
	}
	for _, noise := range []string{"ref went negative", "level=ERROR", "Read error"} {
		if n := cr.linesWith(noise); n > 0 {
			t.Errorf("%d log lines with %q", n, noise)
		}
	}
	if lines := strings.Count(logText, "\n"); lines > 400 {
		t.Errorf("callrec logged %d lines for %d connections; want no line per connection", lines, flood.dialled.Load())
	}
}

// TestHostileUntrustedFlood: 5000 datagrams (INVITE, OPTIONS, REGISTER,
// BYE, junk) and 200 TCP connections from 127.0.0.2, outside
// trunk.allowed_sources: not one response reaches the flooder, its TCP
// connections are closed unanswered, nobody is called, no call record is
// made, all of it is counted as untrusted_source, and the log grows by a
// few summary lines naming the source, without any of the messages'
// content. The trusted side is served throughout.
func TestHostileUntrustedFlood(t *testing.T) {
	t.Parallel()
	webPort := freePorts(t, 1, true)
	cr := startCallrec(t, config{Web: webYAML(webPort)}, "CALLREC_LOG_LEVEL=info", "CALLREC_SIP_REJECT_LOG_INTERVAL=2s")
	sink := newSIPSink(t, cr.TrunkPort())
	cr.waitLog(5*time.Second, "callrec serving")
	logBefore := len(cr.log.String())

	flooder := udpFrom(t, "127.0.0.2")
	local := flooder.LocalAddr().String()
	const datagrams = 5000
	for i := range datagrams {
		var msg string
		switch i % 5 {
		case 0:
			msg = rawSIP("INVITE", local, cr.SIPAddr(), i, "X-Flood-Marker: secret-content")
		case 1:
			msg = rawSIP("OPTIONS", local, cr.SIPAddr(), i)
		case 2:
			msg = rawSIP("REGISTER", local, cr.SIPAddr(), i, "Expires: 3600")
		case 3:
			msg = rawSIP("BYE", local, cr.SIPAddr(), i)
		default:
			junk := make([]byte, 1+rand.IntN(1200))
			for k := range junk {
				junk[k] = byte(rand.Uint32())
			}
			msg = string(junk)
		}
		sendTo(t, flooder, cr.SIPAddr(), msg)
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // ~50 000 a second at most: a scan, not a kernel buffer test
		}
	}
	const conns = 200
	for i := range conns {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp4", cr.SIPAddr())
		if err != nil {
			t.Fatalf("TCP connection %d from 127.0.0.2: %v", i, err)
		}
		_, _ = c.Write([]byte(rawSIP("OPTIONS", c.LocalAddr().String(), cr.SIPAddr(), 100000+i)))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(c)
		c.Close()
		if buf.Len() > 0 {
			t.Fatalf("TCP connection from 127.0.0.2 got %q, want to be closed unanswered", firstLine(buf.String()))
		}
	}
	waitRejected(t, webPort, "untrusted_source", datagrams+conns, 30*time.Second)
	if got := collect(flooder, quietWindow); len(got) > 0 {
		t.Errorf("the flooder got %d datagrams, want none; first: %q", len(got), firstLine(got[0]))
	}
	cr.alive()

	if code := optionsStatus(t, cr.SIPAddr()); code != 200 {
		t.Errorf("OPTIONS from the trunk's address during the flood: %d, want 200", code)
	}
	sendTo(t, flooder, cr.SIPAddr(), rawSIP("OPTIONS", local, cr.SIPAddr(), 999999))
	if got := collect(flooder, quietWindow); len(got) > 0 {
		t.Errorf("OPTIONS from 127.0.0.2 got %q, want nothing", firstLine(got[0]))
	}
	// The summary of the last interval is out within an interval.
	cr.waitLog(10*time.Second, "SIP requests refused", "source=127.0.0.2")
	grown := cr.log.String()[logBefore:]
	t.Logf("callrec's log grew by %d bytes during the flood:\n%s", len(grown), grown)
	if len(grown) > 8<<10 {
		t.Errorf("callrec's log grew by %d bytes for %d untrusted packets, want at most 8 KB", len(grown), datagrams+conns)
	}
	for _, content := range []string{"secret-content", "X-Flood-Marker", "hostile-INVITE", "sip:" + strangerNum} {
		if strings.Contains(grown, content) {
			t.Errorf("callrec's log holds %q, content of an untrusted packet", content)
		}
	}
	sink.nothing(t)
	if recs, err := cr.calls(); err != nil || len(recs) != 0 {
		t.Errorf("call records after the flood: %v (%v), want none", recs, err)
	}
}

// TestHostileUntrusted403: with sip.reject_untrusted "403", each of 50
// INVITEs from 127.0.0.2 gets exactly one 403 (stateless: never
// retransmitted though the stranger never ACKs), and nobody is called.
func TestHostileUntrusted403(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{}, "CALLREC_SIP_REJECT_UNTRUSTED=403")
	sink := newSIPSink(t, cr.TrunkPort())
	stranger := udpFrom(t, "127.0.0.2")
	const n = 50
	for i := range n {
		sendTo(t, stranger, cr.SIPAddr(), rawSIP("INVITE", stranger.LocalAddr().String(), cr.SIPAddr(), i))
	}
	got := collect(stranger, quietWindow)
	perCall := map[string]int{}
	for _, raw := range got {
		m := parseSIP(raw)
		if m.Status != 403 {
			t.Errorf("stranger got %q, want only 403s", firstLine(raw))
		}
		perCall[m.Header("Call-ID")]++
	}
	if len(got) != n || len(perCall) != n {
		t.Errorf("%d responses for %d Call-IDs to %d INVITEs, want exactly one 403 each", len(got), len(perCall), n)
	}
	sink.nothing(t)
	if recs, err := cr.calls(); err != nil || len(recs) != 0 {
		t.Errorf("call records: %v (%v), want none", recs, err)
	}
}

// TestHostileJunk: from the trunk's own address (so everything is
// parsed), random datagrams, every truncation of an INVITE over UDP and
// TCP, a 64 KB header over TCP and a 63 KB one over UDP: callrec stays up,
// logs nothing at ERROR, logs none of the content, makes no call record.
// An INVITE that requires an unknown extension gets 420 Bad Extension
// with Unsupported naming it (and only it: 100rel and timer are
// supported). Then a real call goes through.
func TestHostileJunk(t *testing.T) {
	t.Parallel()
	cr := startCallrec(t, config{}, "CALLREC_LOG_LEVEL=info")
	u := udpFrom(t, "127.0.0.1")
	local := u.LocalAddr().String()
	for range 2000 {
		junk := make([]byte, 1+rand.IntN(1400))
		for k := range junk {
			junk[k] = byte(rand.Uint32())
		}
		if rand.IntN(2) == 0 {
			copy(junk, "INVITE sip:")
		}
		sendTo(t, u, cr.SIPAddr(), string(junk))
	}
	invite := rawSIP("INVITE", local, cr.SIPAddr(), 1, "X-Junk-Marker: secret-content")
	for cut := 1; cut < len(invite); cut += 7 {
		sendTo(t, u, cr.SIPAddr(), invite[:cut])
	}
	big := rawSIP("OPTIONS", local, cr.SIPAddr(), 2, "X-Big: "+strings.Repeat("a", 63<<10))
	sendTo(t, u, cr.SIPAddr(), big)
	for cut := 1; cut < len(invite); cut += 97 {
		c, err := net.DialTimeout("tcp4", cr.SIPAddr(), 5*time.Second)
		if err != nil {
			t.Fatalf("TCP after junk: %v", err)
		}
		_, _ = c.Write([]byte(invite[:cut]))
		c.Close()
	}
	c, err := net.DialTimeout("tcp4", cr.SIPAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte(rawSIP("OPTIONS", c.LocalAddr().String(), cr.SIPAddr(), 3, "X-Big: "+strings.Repeat("b", 64<<10))))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var rest bytes.Buffer
	_, _ = rest.ReadFrom(c) // callrec closes a connection whose message is too large
	c.Close()
	cr.alive()

	for _, tc := range []struct{ require, want string }{
		{"foo", "foo"},
		{"100rel, x-unknown-ext", "x-unknown-ext"},
	} {
		p := udpFrom(t, "127.0.0.1")
		sendTo(t, p, cr.SIPAddr(), rawSIP("INVITE", p.LocalAddr().String(), cr.SIPAddr(), 10, "Require: "+tc.require))
		var final sipMsg
		for _, raw := range collect(p, 2*time.Second) {
			if m := parseSIP(raw); m.Status >= 200 {
				final = m
				break
			}
		}
		if final.Status != 420 || final.Header("Unsupported") != tc.want {
			t.Errorf("INVITE with Require: %s answered %d with Unsupported %q, want 420 with %q",
				tc.require, final.Status, final.Header("Unsupported"), tc.want)
		}
	}
	cr.alive()
	if recs, err := cr.calls(); err != nil || len(recs) != 0 {
		t.Errorf("call records after junk: %v (%v), want none", recs, err)
	}
	log := cr.log.String()
	for _, bad := range []string{"level=ERROR", "secret-content", "X-Junk-Marker", "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"} {
		if strings.Contains(log, bad) {
			t.Errorf("callrec's log holds %q", bad)
		}
	}
	if n := cr.linesWith("malformed SIP messages dropped"); n > 2 {
		t.Errorf("%d lines about malformed messages, want them rate-limited (one a minute)", n)
	}

	tn := makeTones(t)
	_, trunk := callThrough(t, cr, trunkScenario{Tone: tn.other}, "owner", ownerDialsOut(t, tn, "2125550123", 2000), sippOpts{})
	if t.Failed() {
		return
	}
	checkOutboundINVITE(t, trunkINVITE(t, trunk), "+12125550123")
}
