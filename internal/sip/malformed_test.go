package sip

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// rawOptions is a valid OPTIONS as text, sent from local over transport.
func rawOptions(transport, local, target string, n int) string {
	return fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;branch=z9hG4bK-raw%d\r\n"+
		"From: <sip:raw@127.0.0.1>;tag=raw%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: raw-%d@127.0.0.1\r\n"+
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		target, transport, local, n, n, target, n)
}

// malformedInputs are datagrams and stream contents that are not valid SIP.
func malformedInputs() []struct{ name, data string } {
	return []struct{ name, data string }{
		{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
		{"text", "GET / HTTP/1.1\r\nHost: callrec\r\n\r\n"},
		{"bad start line", "INVITE\r\n\r\n"},
		{"bad SIP version", "INVITE sip:+4930999@127.0.0.1 SIP/9.9\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-x\r\n\r\n"},
		{"truncated INVITE", "INVITE sip:+4930999@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-trunc\r\n" +
			"From: <sip:+4930111@127.0.0.1>;tag=t\r\nTo: <sip:+4930999@127"},
		{"INVITE cut inside its body", "INVITE sip:+4930999@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-body\r\n" +
			"From: <sip:+4930111@127.0.0.1>;tag=t\r\nTo: <sip:+4930999@127.0.0.1>\r\n" +
			"Call-ID: body@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:+4930111@127.0.0.1:5999>\r\n" +
			"Content-Type: application/sdp\r\nContent-Length: 400\r\n\r\nv=0\r\no=- 1 1 IN IP4"},
		{"INVITE without Call-ID and CSeq", "INVITE sip:+4930999@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-nocseq\r\nContent-Length: 0\r\n\r\n"},
	}
}

// TestMalformedUDP: garbage and truncated messages over UDP crash
// nothing, valid requests (and calls) are still served, and the parse
// errors come out as one rate-limited WARN with a count, never at ERROR
// and never with the message content.
func TestMalformedUDP(t *testing.T) {
	rec := newRecordHandler()
	ts := startServer(t, func(c *Config) { c.Logger = slog.New(rec) })
	conn, err := net.Dial("udp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 3 {
		for _, m := range malformedInputs() {
			if _, err := conn.Write([]byte(m.data)); err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
		}
	}
	// From the same socket, so it is read after all of the above.
	if _, err := conn.Write([]byte(rawOptions("UDP", conn.LocalAddr().String(), ts.addr, 1))); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	buf := make([]byte, 8192)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer to OPTIONS after garbage: %v", err)
		}
		// Some of the malformed requests get a stateless 400; skip those.
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 ") && strings.Contains(string(buf[:n]), "raw-1@") {
			break
		}
	}

	// A real call still goes through.
	phone := newPeer(t, "udp", peerHandlers{})
	c := phone.invite(ts, "+4930999", testSDP())
	leg := ts.nextLeg(t)
	if err := leg.Hangup(context.Background(), 486); err != nil {
		t.Fatal(err)
	}
	if code, err := c.final(t); err != nil || code != 486 {
		t.Fatalf("call after garbage: %d %v", code, err)
	}
	checkQuietLogs(t, rec)
}

// TestMalformedTCP: the same over TCP, where sipgo drops a connection it
// cannot frame; other connections, and new ones, are still served.
func TestMalformedTCP(t *testing.T) {
	rec := newRecordHandler()
	ts := startServer(t, func(c *Config) { c.Logger = slog.New(rec) })

	// A connection that stays open and valid throughout.
	good, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	goodR := bufio.NewReader(good)
	options(t, good, goodR, ts.addr, 100)

	for i, m := range malformedInputs() {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(m.data)); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		// Half-close: a message cut short stays cut short.
		_ = c.(*net.TCPConn).CloseWrite()
		// The server answers (400) or closes; either way it must not hang
		// on to the connection forever or stop serving.
		_ = c.SetReadDeadline(time.Now().Add(waitFor))
		if _, err := io.ReadAll(c); err != nil && !isReset(err) {
			t.Errorf("%s: %v", m.name, err)
		}
		c.Close()
		options(t, good, goodR, ts.addr, 200+i)
	}

	fresh, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	options(t, fresh, bufio.NewReader(fresh), ts.addr, 300)
	checkQuietLogs(t, rec)
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// options sends a raw OPTIONS on conn and waits for its 200.
func options(t *testing.T, conn net.Conn, r *bufio.Reader, target string, n int) {
	t.Helper()
	if _, err := conn.Write([]byte(rawOptions("TCP", conn.LocalAddr().String(), target, n))); err != nil {
		t.Fatalf("OPTIONS: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("OPTIONS %d: %v", n, err)
	}
	if !strings.HasPrefix(status, "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS %d answered %q", n, status)
	}
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("OPTIONS %d response: %v", n, err)
		}
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			_, _ = fmt.Sscan(strings.TrimSpace(v), &length)
		}
	}
	if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
		t.Fatalf("OPTIONS %d body: %v", n, err)
	}
}

// checkQuietLogs: parse failures were logged once, as the rate-limited
// WARN, and nothing reached ERROR or logged a message's content.
func checkQuietLogs(t *testing.T, rec *recordHandler) {
	t.Helper()
	for _, r := range rec.all() {
		t.Logf("DUMP %s %q err=%q", r.Level, r.Message, attr(r, "error")+attr(r, "err"))
	}
	var quiet int
	for _, r := range rec.all() {
		switch {
		case r.Message == "malformed SIP messages dropped":
			quiet++
			if r.Level != slog.LevelWarn || attr(r, "count") != "1" || attr(r, "last_error") == "" {
				t.Errorf("rate-limited record: %s count=%s last_error=%q", r.Level, attr(r, "count"), attr(r, "last_error"))
			}
		case r.Message == "failed to parse":
			t.Errorf("parse failure logged as is: %s", attr(r, "error"))
		case r.Level >= slog.LevelError:
			t.Errorf("ERROR record: %s", r.Message)
		}
		if attr(r, "data") != "" {
			t.Errorf("record %q carries message content", r.Message)
		}
	}
	if quiet != 1 {
		t.Errorf("%d rate-limited parse-failure records, want exactly 1 within the interval", quiet)
	}
}
