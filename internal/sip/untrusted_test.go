package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// quietWindow is how long a test listens for what must not come: longer
// than the first retransmissions of a response (at 0.5, 1 and 2 s over
// UDP). Nothing passes or fails on how quickly something came.
const quietWindow = 2500 * time.Millisecond

// trunkOnly makes 127.0.0.1 the only allowed source, so that 127.0.0.2
// (loopback too) is a stranger.
func trunkOnly(c *Config) {
	c.AllowedSources = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// dialFrom opens a TCP connection to addr from the loopback address ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: waitFor}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readToEnd reads c until the server closes it, failing after waitFor.
func readToEnd(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("reading until the server closes: %v (got %q)", err, b)
	}
	return string(b)
}

// strangerMessages are what a scanner sends, one each.
func strangerMessages(local, target string) []string {
	return []string{
		rawRequest("INVITE", "UDP", local, target, 1),
		rawRequest("OPTIONS", "UDP", local, target, 2),
		rawRequest("REGISTER", "UDP", local, target, 3),
		rawRequest("BYE", "UDP", local, target, 4),
		rawRequest("MESSAGE", "UDP", local, target, 5),
		rawRequest("INVITE", "UDP", local, target, 6, "Require: 100rel"),
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"INVITE sip:+4930999@" + target + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local,
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-nobody\r\nCSeq: 1 INVITE\r\nCall-ID: nobody\r\nContent-Length: 0\r\n\r\n",
	}
}

// TestUntrustedDropped: by default a source outside AllowedSources gets
// nothing at all, whatever it sends (INVITE, OPTIONS, REGISTER, junk,
// responses) over UDP, and its TCP connections are closed unanswered;
// no call is admitted, every packet is counted as untrusted_source, no
// line is logged per packet, and the summary names the source and counts
// without any message content. The trusted peer is still served.
func TestUntrustedDropped(t *testing.T) {
	m := newCountingMetrics()
	rec := newRecordHandler()
	ts := startServer(t, trunkOnly, func(c *Config) { c.Metrics = m; c.Logger = slog.New(rec) })

	stranger := newRawUDP(t, "127.0.0.2")
	msgs := strangerMessages(stranger.addr(), ts.addr)
	for range 3 {
		for _, msg := range msgs {
			stranger.send(ts.addr, msg)
		}
	}
	m.wait(t, reasonUntrusted, 3*len(msgs))
	if got := stranger.collect(quietWindow); len(got) > 0 {
		t.Errorf("the untrusted source got %d datagrams, want none; first: %q", len(got), statusLine(got[0]))
	}

	c := dialFrom(t, "127.0.0.2", ts.addr)
	_, _ = c.Write([]byte(rawRequest("OPTIONS", "TCP", c.LocalAddr().String(), ts.addr, 7)))
	if got := readToEnd(t, c); got != "" {
		t.Errorf("the untrusted TCP connection got %q, want to be closed unanswered", statusLine(got))
	}
	m.wait(t, reasonUntrusted, 3*len(msgs)+1)

	if n := ts.h.admits.Load(); n != 0 {
		t.Errorf("Admit called %d times for untrusted INVITEs", n)
	}
	if n := len(ts.h.legs); n != 0 {
		t.Errorf("handler got %d legs from an untrusted source", n)
	}
	phone := newPeer(t, "udp", peerHandlers{})
	if res := phone.do(phone.request("OPTIONS", ts.uri(""))); res.StatusCode != 200 {
		t.Errorf("OPTIONS from the trusted peer answered %d, want 200", res.StatusCode)
	}

	for _, r := range rec.all() {
		if strings.Contains(r.Message, "refused") || r.Level >= slog.LevelWarn {
			t.Errorf("logged before the summary: %s %q", r.Level, r.Message)
		}
	}
	ts.refused.flush()
	var summary []string
	for _, r := range rec.all() {
		if r.Message == "SIP requests refused" {
			summary = append(summary, attr(r, "source")+" "+attr(r, "count")+" "+attr(r, "reasons"))
		}
		for _, key := range []string{"data", "req", "msg"} {
			if attr(r, key) != "" {
				t.Errorf("record %q carries message content in %s", r.Message, key)
			}
		}
	}
	want := "127.0.0.2 " + slog.IntValue(3*len(msgs)+1).String() + " untrusted_source=" + slog.IntValue(3*len(msgs)+1).String()
	if len(summary) != 1 || summary[0] != want {
		t.Errorf("summary lines %q, want [%q]", summary, want)
	}
}

// TestUntrusted403Once: with Untrusted403 each request from an untrusted
// source gets exactly one 403, never retransmitted (it is sent outside
// any transaction, and the stranger never ACKs), an ACK gets nothing, and
// no call is admitted. Over TCP the 403 comes on the connection, which is
// closed when its first-message time is up even though it sent a message.
func TestUntrusted403Once(t *testing.T) {
	m := newCountingMetrics()
	ts := startServer(t, trunkOnly, func(c *Config) {
		c.RejectUntrusted = Untrusted403
		c.Metrics = m
		c.TCPFirstMessageTimeout = time.Second
	})
	stranger := newRawUDP(t, "127.0.0.2")
	methods := []string{"INVITE", "OPTIONS", "REGISTER", "BYE", "INFO"}
	for i, method := range methods {
		stranger.send(ts.addr, rawRequest(method, "UDP", stranger.addr(), ts.addr, i))
	}
	stranger.send(ts.addr, rawRequest("ACK", "UDP", stranger.addr(), ts.addr, 99))
	m.wait(t, reasonUntrusted, len(methods)+1)
	got := stranger.collect(quietWindow)
	byMethod := map[string]int{}
	for _, res := range got {
		if !strings.HasPrefix(res, "SIP/2.0 403 ") {
			t.Errorf("untrusted source got %q, want only 403s", statusLine(res))
		}
		method := strings.Fields(header(res, "CSeq"))
		if len(method) == 2 {
			byMethod[method[1]]++
		}
	}
	for _, method := range methods {
		if byMethod[method] != 1 {
			t.Errorf("%s: %d responses, want exactly one 403", method, byMethod[method])
		}
	}
	if len(got) != len(methods) {
		t.Errorf("%d responses to %d requests and an ACK, want %d", len(got), len(methods), len(methods))
	}
	if n := ts.h.admits.Load(); n != 0 {
		t.Errorf("Admit called %d times for untrusted INVITEs", n)
	}

	c := dialFrom(t, "127.0.0.2", ts.addr)
	if _, err := c.Write([]byte(rawRequest("OPTIONS", "TCP", c.LocalAddr().String(), ts.addr, 7))); err != nil {
		t.Fatal(err)
	}
	if got := readToEnd(t, c); !strings.HasPrefix(got, "SIP/2.0 403 ") || strings.Count(got, "SIP/2.0 ") != 1 {
		t.Errorf("untrusted TCP connection got %q, want one 403 and then the end", got)
	}
	m.wait(t, reasonTCPIdle, 1)
}

// TestRequireUnsupported: a request that requires an extension callrec
// does not support (any but 100rel and timer) gets 420 Bad
// Extension listing them in Unsupported, before any call is admitted;
// Supported alone is no obstacle, and a BYE is never refused for it.
func TestRequireUnsupported(t *testing.T) {
	tests := []struct {
		name, method string
		hdrs         []string
		want         int
		unsupported  string
	}{
		{"foo", "INVITE", []string{"Require: foo"}, 420, "foo"},
		{"several, two headers", "INVITE", []string{"Require: foo, 100rel", "Require: timer, bar"}, 420, "foo, bar"},
		{"supported ones are no obstacle", "OPTIONS", []string{"Require: 100rel, timer"}, 200, ""},
		{"not a token is not echoed", "INVITE", []string{"Require: foo, <bar>"}, 420, "foo"},
		{"no token at all", "INVITE", []string{"Require: <bar>"}, 420, ""},
		{"OPTIONS", "OPTIONS", []string{"Require: foo"}, 420, "foo"},
		{"UPDATE", "UPDATE", []string{"Require: precondition"}, 420, "precondition"},
		{"BYE is exempt", "BYE", []string{"Require: foo"}, 481, ""},
		{"Supported only", "OPTIONS", []string{"Supported: 100rel, timer"}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newCountingMetrics()
			ts := startServer(t, func(c *Config) { c.Metrics = m })
			phone := newRawUDP(t, "127.0.0.1")
			phone.send(ts.addr, rawRequest(tc.method, "UDP", phone.addr(), ts.addr, 1, tc.hdrs...))
			var res string
			for res = phone.next(); strings.HasPrefix(res, "SIP/2.0 1"); res = phone.next() {
			}
			if want := "SIP/2.0 " + slog.IntValue(tc.want).String() + " "; !strings.HasPrefix(res, want) {
				t.Fatalf("answered %q, want %d", statusLine(res), tc.want)
			}
			if got := header(res, "Unsupported"); got != tc.unsupported {
				t.Errorf("Unsupported %q, want %q", got, tc.unsupported)
			}
			if tc.want == 420 {
				if n := m.count(reasonBadExtension); n != 1 {
					t.Errorf("%d bad_extension refusals counted, want 1", n)
				}
			}
			if n := ts.h.admits.Load(); n != 0 {
				t.Errorf("Admit called %d times", n)
			}
		})
	}
}

// TestRegisterNotAllowed: callrec is no registrar: a REGISTER from the
// trunk gets 405 with Allow, counted as method_not_allowed, with no line
// logged for it.
func TestRegisterNotAllowed(t *testing.T) {
	m := newCountingMetrics()
	rec := newRecordHandler()
	ts := startServer(t, func(c *Config) { c.Metrics = m; c.Logger = slog.New(rec) })
	phone := newPeer(t, "udp", peerHandlers{})
	for range 3 {
		res := phone.do(phone.request("REGISTER", ts.uri("")))
		if res.StatusCode != 405 {
			t.Fatalf("REGISTER answered %d, want 405", res.StatusCode)
		}
		if a := res.GetHeader("Allow"); a == nil || !strings.Contains(a.Value(), "INVITE") {
			t.Errorf("405 Allow = %v, want the methods callrec serves", a)
		}
	}
	if n := m.count(reasonNotAllowed); n != 3 {
		t.Errorf("%d method_not_allowed refusals counted, want 3", n)
	}
	for _, r := range rec.all() {
		if r.Level >= slog.LevelInfo {
			t.Errorf("logged %s %q for a REGISTER", r.Level, r.Message)
		}
	}
}

// TestAdmitComesLast: Admit is asked only once every other check has
// passed (its source, draining, Require, headers), and each Admit that
// succeeds is followed by exactly one HandleCall, whose return frees the
// slot; a refused Admit is answered 503 with no HandleCall.
func TestAdmitComesLast(t *testing.T) {
	refusedBefore := []struct {
		name  string
		opts  []serverOpts
		prep  func(ts *testServer)
		hdrs  []string
		strip string
	}{
		{name: "untrusted", opts: []serverOpts{func(c *Config) {
			c.AllowedSources = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			c.RejectUntrusted = Untrusted403
		}}},
		{name: "draining", prep: func(ts *testServer) { ts.Drain() }},
		{name: "Require", hdrs: []string{"Require: foo"}},
		{name: "no Contact", strip: "Contact"},
	}
	for _, tc := range refusedBefore {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.opts...)
			if tc.prep != nil {
				tc.prep(ts)
			}
			phone := newRawUDP(t, "127.0.0.1")
			msg := rawRequest("INVITE", "UDP", phone.addr(), ts.addr, 1, tc.hdrs...)
			if tc.strip != "" {
				msg = stripHeader(msg, tc.strip)
			}
			phone.send(ts.addr, msg)
			var res string
			for res = phone.next(); strings.HasPrefix(res, "SIP/2.0 1"); res = phone.next() {
			}
			if !strings.HasPrefix(res, "SIP/2.0 4") && !strings.HasPrefix(res, "SIP/2.0 5") {
				t.Fatalf("answered %q, want a refusal", statusLine(res))
			}
			if n := ts.h.admits.Load(); n != 0 {
				t.Errorf("Admit called %d times for an INVITE refused before admission", n)
			}
		})
	}

	t.Run("admit refuses", func(t *testing.T) {
		ts := startServer(t)
		ts.h.refuse(errRefused)
		phone := newPeer(t, "udp", peerHandlers{})
		c := phone.invite(ts, "+4930999", testSDP())
		if code, err := c.final(t); err != nil || code != 503 {
			t.Fatalf("final %d (%v), want 503", code, err)
		}
		if a, n := ts.h.admits.Load(), ts.h.calls.Load(); a != 1 || n != 0 {
			t.Errorf("Admit %d, HandleCall %d; want 1 and 0", a, n)
		}
	})
	t.Run("admitted", func(t *testing.T) {
		ts := startServer(t)
		phone := newPeer(t, "udp", peerHandlers{})
		c := phone.invite(ts, "+4930999", testSDP())
		leg := ts.nextLeg(t)
		if err := leg.Hangup(context.Background(), 486); err != nil {
			t.Fatal(err)
		}
		if code, err := c.final(t); err != nil || code != 486 {
			t.Fatalf("final %d (%v), want 486", code, err)
		}
		waitCount(t, &ts.h.returned, 1, "HandleCall to return")
		if a, n := ts.h.admits.Load(), ts.h.calls.Load(); a != 1 || n != 1 {
			t.Errorf("Admit %d, HandleCall %d; want 1 and 1", a, n)
		}
	})
}

// TestRejectDoesNotWaitForACK: rejecting an unanswered call sends the
// final response and returns at once, the leg over and the call's slot
// free, though the caller has not acknowledged it; the caller's
// transaction keeps getting the response until it does.
func TestRejectDoesNotWaitForACK(t *testing.T) {
	ts := startServer(t)
	phone := newRawUDP(t, "127.0.0.1")
	invite := rawRequest("INVITE", "UDP", phone.addr(), ts.addr, 1)
	phone.send(ts.addr, invite)
	leg := ts.nextLeg(t)
	rejected := make(chan error, 1)
	go func() { rejected <- leg.Reject(486, "") }()
	if err := recv(t, rejected, "Reject to return without an ACK"); err != nil {
		t.Fatalf("Reject: %v", err)
	}
	closed(t, leg.Done(), "leg Done after Reject")
	waitCount(t, &ts.h.returned, 1, "HandleCall to return (the slot freed)")
	var finals []string
	for len(finals) < 2 {
		if res := phone.next(); strings.HasPrefix(res, "SIP/2.0 486 ") {
			finals = append(finals, res)
		}
	}
	// The retransmission is the same response; the ACK ends it.
	totag := header(finals[0], "To")
	if header(finals[1], "To") != totag {
		t.Errorf("retransmitted 486 has To %q, first had %q", header(finals[1], "To"), totag)
	}
	ack := strings.Replace(rawRequest("ACK", "UDP", phone.addr(), ts.addr, 1), "To: <sip:+4930999@"+ts.addr+">", "To: "+totag, 1)
	ack = strings.Replace(ack, "branch=z9hG4bK-rawACK1", "branch=z9hG4bK-rawINVITE1", 1)
	ack = strings.Replace(ack, "Call-ID: raw-ACK-1@", "Call-ID: raw-INVITE-1@", 1)
	phone.send(ts.addr, ack)
}

// errRefused is an Admit refusal.
const errRefused = errorString("max_concurrent_calls reached")

type errorString string

func (e errorString) Error() string { return string(e) }

// waitCount waits until n reaches want.
func waitCount(t *testing.T, n interface{ Load() int32 }, want int32, what string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stripHeader removes the header name from the message text.
func stripHeader(msg, name string) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	out := lines[:1]
	for _, l := range lines[1:] {
		if k, _, _ := strings.Cut(l, ":"); !strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n") + "\r\n\r\n" + body
}
