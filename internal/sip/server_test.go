package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// testSDP is the offer the caller (or callrec, dialling) sends; a fresh
// copy each time, so no test can change another's.
func testSDP() []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
}

// TestInviteRejected covers every way an initial INVITE is refused with a
// response before a call starts: the response code, Retry-After where the
// caller may come back, and that the handler never sees a leg. (Untrusted
// sources get no response by default: see TestUntrustedDropped.)
func TestInviteRejected(t *testing.T) {
	tests := []struct {
		name       string
		opts       []serverOpts
		prep       func(ts *testServer)
		strip      string // header removed from the INVITE
		wantCode   int
		retryAfter string
	}{
		{name: "source outside allowed_sources, answered 403", opts: []serverOpts{func(c *Config) {
			c.AllowedSources = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			c.RejectUntrusted = Untrusted403
		}}, wantCode: 403},
		{name: "no allowed_sources at all, answered 403", opts: []serverOpts{func(c *Config) {
			c.AllowedSources = nil
			c.RejectUntrusted = Untrusted403
		}}, wantCode: 403},
		{name: "draining", prep: func(ts *testServer) { ts.Drain() }, wantCode: 503, retryAfter: "30"},
		{name: "admit refuses", prep: func(ts *testServer) { ts.h.refuse(errors.New("max_concurrent_calls reached")) }, wantCode: 503, retryAfter: "5"},
		{name: "no From", strip: "From", wantCode: 400},
		{name: "no To", strip: "To", wantCode: 400},
		{name: "no Contact", strip: "Contact", wantCode: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.opts...)
			if tc.prep != nil {
				tc.prep(ts)
			}
			phone := newPeer(t, "udp", peerHandlers{})
			req := phone.request(sip.INVITE, ts.uri("+4930999"))
			req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			req.SetBody(testSDP())
			if tc.strip != "" {
				req.RemoveHeader(tc.strip)
			}
			res := phone.do(req)
			if res.StatusCode != tc.wantCode {
				t.Fatalf("INVITE answered %d %s, want %d", res.StatusCode, res.Reason, tc.wantCode)
			}
			ra := res.GetHeader("Retry-After")
			switch {
			case tc.retryAfter == "" && ra != nil:
				t.Errorf("unexpected Retry-After: %s", ra.Value())
			case tc.retryAfter != "" && (ra == nil || ra.Value() != tc.retryAfter):
				t.Errorf("Retry-After = %v, want %s", ra, tc.retryAfter)
			}
			// The response is written by the INVITE handler before any
			// call goroutine could start, so no leg can be on its way.
			if n := len(ts.h.legs); n != 0 {
				t.Errorf("handler got %d legs for a refused INVITE", n)
			}
		})
	}
}

// TestInviteAdmitted checks what the handler learns about an admitted call:
// caller ID (P-Asserted-Identity first), dialled number (Request-URI),
// signalling source, Call-ID and SDP offer.
func TestInviteAdmitted(t *testing.T) {
	from := func(user string) *sip.FromHeader {
		h := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "trunk.test"}, Params: sip.NewParams()}
		h.Params.Add("tag", sip.GenerateTagN(10))
		return h
	}
	tests := []struct {
		name     string
		hdrs     []sip.Header
		ruser    string // Request-URI user; "-" for none
		wantFrom string
		wantTo   string
	}{
		{name: "From only", hdrs: []sip.Header{from("+4930111")}, wantFrom: "+4930111", wantTo: "+4930999"},
		{name: "P-Asserted-Identity sip URI", hdrs: []sip.Header{from("anonymous"),
			sip.NewHeader("P-Asserted-Identity", "<sip:+4930222@trunk.test>")}, wantFrom: "+4930222", wantTo: "+4930999"},
		{name: "P-Asserted-Identity with display name and params", hdrs: []sip.Header{from("anonymous"),
			sip.NewHeader("P-Asserted-Identity", `"Alice" <sip:+4930222@trunk.test;user=phone>`)}, wantFrom: "+4930222", wantTo: "+4930999"},
		{name: "P-Asserted-Identity tel URI", hdrs: []sip.Header{from("anonymous"),
			sip.NewHeader("P-Asserted-Identity", "<tel:+4930222>")}, wantFrom: "+4930222", wantTo: "+4930999"},
		{name: "P-Asserted-Identity tel URI with params", hdrs: []sip.Header{from("anonymous"),
			sip.NewHeader("P-Asserted-Identity", "<tel:+4930222;cpc=ordinary>")}, wantFrom: "+4930222", wantTo: "+4930999"},
		{name: "unparsable P-Asserted-Identity falls back to From", hdrs: []sip.Header{from("+4930111"),
			sip.NewHeader("P-Asserted-Identity", "<>")}, wantFrom: "+4930111", wantTo: "+4930999"},
		{name: "Request-URI user wins over To", hdrs: []sip.Header{from("+4930111"),
			&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: "127.0.0.1"}, Params: sip.NewParams()}},
			wantFrom: "+4930111", wantTo: "+4930999"},
		{name: "To when the Request-URI has no user", ruser: "-", hdrs: []sip.Header{from("+4930111"),
			&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "+4930888", Host: "127.0.0.1"}, Params: sip.NewParams()}},
			wantFrom: "+4930111", wantTo: "+4930888"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t)
			phone := newPeer(t, "udp", peerHandlers{})
			ruser := "+4930999"
			if tc.ruser == "-" {
				ruser = ""
			}
			c := phone.invite(ts, ruser, testSDP(), tc.hdrs...)
			leg := ts.nextLeg(t)
			if got := leg.From(); got != tc.wantFrom {
				t.Errorf("From() = %q, want %q", got, tc.wantFrom)
			}
			if got := leg.To(); got != tc.wantTo {
				t.Errorf("To() = %q, want %q", got, tc.wantTo)
			}
			if got := leg.Source(); got != phone.addr {
				t.Errorf("Source() = %q, want %q", got, phone.addr)
			}
			if got, want := leg.CallID(), c.dlg.InviteRequest.CallID().Value(); got != want {
				t.Errorf("CallID() = %q, want %q", got, want)
			}
			if got := string(leg.RemoteSDP()); got != string(testSDP()) {
				t.Errorf("RemoteSDP() = %q, want the offer", got)
			}
			if leg.Answered() || leg.Cancelled() {
				t.Errorf("new leg: Answered %v Cancelled %v", leg.Answered(), leg.Cancelled())
			}
			if err := leg.Hangup(context.Background(), 0); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if code, err := c.final(t); err != nil || code != 480 {
				t.Fatalf("final response %d (%v), want 480", code, err)
			}
		})
	}
}

// TestOptions: OPTIONS is answered 200 with Allow, and 503 while draining
// (so a trunk's health check takes the node out of rotation).
func TestOptions(t *testing.T) {
	for _, draining := range []bool{false, true} {
		name := map[bool]string{false: "serving", true: "draining"}[draining]
		t.Run(name, func(t *testing.T) {
			ts := startServer(t)
			if draining {
				ts.Drain()
			}
			phone := newPeer(t, "udp", peerHandlers{})
			res := phone.do(phone.request(sip.OPTIONS, ts.uri("")))
			want := map[bool]int{false: 200, true: 503}[draining]
			if res.StatusCode != want {
				t.Fatalf("OPTIONS answered %d, want %d", res.StatusCode, want)
			}
			allow := res.GetHeader("Allow")
			if allow == nil {
				t.Fatal("no Allow header")
			}
			for _, m := range []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE", "INFO"} {
				if !strings.Contains(allow.Value(), m) {
					t.Errorf("Allow %q lacks %s", allow.Value(), m)
				}
			}
		})
	}
}

// TestInfo: INFO (DTMF relay and the like) is acknowledged with 200.
func TestInfo(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	if res := phone.do(phone.request(sip.INFO, ts.uri("+4930999"))); res.StatusCode != 200 {
		t.Fatalf("INFO answered %d, want 200", res.StatusCode)
	}
}

// TestUnknownMethod: methods callrec does not serve get 405.
func TestUnknownMethod(t *testing.T) {
	ts := startServer(t)
	phone := newPeer(t, "udp", peerHandlers{})
	if res := phone.do(phone.request(sip.MESSAGE, ts.uri("+4930999"))); res.StatusCode != 405 {
		t.Fatalf("MESSAGE answered %d, want 405", res.StatusCode)
	}
}

// TestServeReleasesSockets: Serve returns nil once its context is
// cancelled, and both sockets are closed by then (the port can be bound
// again at once).
func TestServeReleasesSockets(t *testing.T) {
	addr := freeAddr(t)
	s, err := NewServer(Config{Listen: addr, Logger: newTestLogger(t, 0), AllowedSources: loopback()})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, newTestHandler()) }()
	closed(t, s.Ready(), "server ready")

	// The server is answering before it is stopped.
	phone := newPeer(t, "udp", peerHandlers{})
	req := phone.request(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: mustPort(addr)})
	if res := phone.do(req); res.StatusCode != 200 {
		t.Fatalf("OPTIONS answered %d", res.StatusCode)
	}

	cancel()
	if err := recv(t, served, "Serve to return"); err != nil {
		t.Fatalf("Serve returned %v, want nil", err)
	}
	rebind(t, addr)
}

// TestServeWithoutHandler: Serve refuses a nil handler and releases the
// sockets NewServer bound.
func TestServeWithoutHandler(t *testing.T) {
	addr := freeAddr(t)
	s, err := NewServer(Config{Listen: addr, Logger: newTestLogger(t, 0)})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := s.Serve(context.Background(), nil); err == nil {
		t.Fatal("Serve(nil handler) returned nil")
	}
	rebind(t, addr)
}

// TestNewServerErrors: a bad listen address or a busy port is reported by
// NewServer, not later.
func TestNewServerErrors(t *testing.T) {
	busyUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyUDP.Close()
	busyTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyTCP.Close()
	for _, tc := range []struct{ name, listen string }{
		{"no port", "127.0.0.1"},
		{"port not a number", "127.0.0.1:sip"},
		{"UDP port busy", busyUDP.LocalAddr().String()},
		{"TCP port busy", busyTCP.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(Config{Listen: tc.listen, Logger: newTestLogger(t, 0)})
			if err == nil {
				s.Close()
				t.Fatalf("NewServer(%q) succeeded", tc.listen)
			}
		})
	}
}

func mustPort(addr string) int {
	_, port := splitHostPort(addr)
	return port
}

// rebind checks that addr can be bound again for UDP and TCP.
func rebind(t *testing.T, addr string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP %s still bound: %v", addr, err)
	}
	pc.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP %s still bound: %v", addr, err)
	}
	l.Close()
}

// TestServeShutdownUnderLoad cancels Serve while requests keep arriving:
// request handlers that start during shutdown must not race with Serve's
// wait for the running ones (the race detector checks), and Serve must
// still return and release the port.
func TestServeShutdownUnderLoad(t *testing.T) {
	addr := freeAddr(t)
	s, err := NewServer(Config{Listen: addr, Logger: newTestLogger(t, slog.LevelError), AllowedSources: loopback()})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, newTestHandler()) }()
	closed(t, s.Ready(), "server ready")

	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		n := 0
		defer func() { sent <- n }()
		for ; n < 200000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			msg := "OPTIONS sip:" + addr + " SIP/2.0\r\n" +
				"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-load" + strconv.Itoa(n) + "\r\n" +
				"From: <sip:load@127.0.0.1>;tag=l" + strconv.Itoa(n) + "\r\n" +
				"To: <sip:" + addr + ">\r\n" +
				"Call-ID: load-" + strconv.Itoa(n) + "\r\n" +
				"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
			if _, err := conn.Write([]byte(msg)); err != nil {
				return
			}
		}
	}()
	// Shut down once the server has answered some of them.
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(waitFor))
	for range 20 {
		if _, err := conn.Read(buf); err != nil {
			t.Fatalf("no answer to OPTIONS: %v", err)
		}
	}
	cancel()
	err = recv(t, served, "Serve to return")
	close(stop)
	if err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	recv(t, sent, "load generator to stop")
	rebind(t, addr)
}
