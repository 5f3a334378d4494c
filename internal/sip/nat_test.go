package sip

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestResponseGoesToRportSource: a request from port X whose Via names
// another port and carries ";rport" is answered at X, with rport=X and
// received=IP in the Via (RFC 3581).
func TestResponseGoesToRportSource(t *testing.T) {
	ts := startServer(t)
	raw := newRawUDP(t, "127.0.0.1")
	_, srcPort := splitHostPort(raw.addr())
	msg := rawRequest("OPTIONS", "UDP", "127.0.0.1:9", ts.addr, 1)
	msg = strings.Replace(msg, ";branch=", ";rport;branch=", 1)
	raw.send(ts.addr, msg)
	res := raw.next() // on the source socket, not at the Via's port 9
	if !strings.HasPrefix(statusLine(res), "SIP/2.0 200") {
		t.Fatalf("response %q, want 200", statusLine(res))
	}
	via := header(res, "Via")
	if !strings.Contains(via, "rport="+strconv.Itoa(srcPort)) || !strings.Contains(via, "received=127.0.0.1") {
		t.Errorf("Via %q, want rport=%d and received=127.0.0.1", via, srcPort)
	}
}

// TestRequestsCarryRport: callrec's own requests ask for rport.
func TestRequestsCarryRport(t *testing.T) {
	reg := newRegistrar()
	trunk := newPeer(t, "udp", peerHandlers{register: reg.handle})
	ts := startServer(t, withTrunk(trunk))
	register(t, ts)
	req := recv(t, reg.registers, "REGISTER")
	if v := req.Via(); v == nil || !v.Params.Has("rport") {
		t.Errorf("Via %v lacks rport", req.Via())
	}
}

func register(t *testing.T, ts *testServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := ts.Register(ctx, time.Hour); err != nil {
		t.Fatalf("Register: %v", err)
	}
}

// TestExternalAddress: Via sent-by, Contact and the registered Contact
// carry sip.external_address, and the trunk's answer still arrives (it
// goes to the source, by rport).
func TestExternalAddress(t *testing.T) {
	tests := []struct {
		external string
		host     string
		port     int // 0: the listening port
	}{
		{"203.0.113.7:5999", "203.0.113.7", 5999},
		{"203.0.113.7", "203.0.113.7", 0},
		{"pbx.example.net", "pbx.example.net", 0},
	}
	for _, tc := range tests {
		t.Run(tc.external, func(t *testing.T) {
			reg := newRegistrar()
			trunk := newPeer(t, "udp", peerHandlers{register: reg.handle, invite: trunkAnswers})
			ts := startServer(t, withTrunk(trunk), func(c *Config) { c.ExternalAddress = tc.external })
			port := tc.port
			if port == 0 {
				_, port = splitHostPort(ts.addr)
			}
			if want := net.JoinHostPort(tc.host, strconv.Itoa(port)); ts.Advertised() != want {
				t.Errorf("Advertised = %s, want %s", ts.Advertised(), want)
			}
			register(t, ts)
			req := recv(t, reg.registers, "REGISTER")
			checkAdvertised(t, req, tc.host, port)

			leg, err := dial(context.Background(), ts, 0, nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			checkAdvertised(t, recv(t, trunk.invites, "INVITE"), tc.host, port)
			trunk.established(t)
			if err := leg.Hangup(context.Background(), 200); err != nil {
				t.Errorf("Hangup: %v", err)
			}
		})
	}
}

func checkAdvertised(t *testing.T, req *sip.Request, host string, port int) {
	t.Helper()
	if v := req.Via(); v == nil || v.Host != host || v.Port != port {
		t.Errorf("%s Via %v, want sent-by %s:%d", req.Method, req.Via(), host, port)
	}
	if c := req.Contact(); c == nil || c.Address.Host != host || c.Address.Port != port {
		t.Errorf("%s Contact %v, want %s:%d", req.Method, req.Contact(), host, port)
	}
}

// TestDiscoverExternal: the address discovered on the SIP socket is
// advertised from then on.
func TestDiscoverExternal(t *testing.T) {
	reg := newRegistrar()
	trunk := newPeer(t, "udp", peerHandlers{register: reg.handle})
	found := netip.MustParseAddrPort("198.51.100.9:40000")
	var listen string
	cfg := Config{Listen: freeAddr(t), UserAgent: "callrec-test", TrunkAddress: trunk.addr, TrunkTransport: "udp",
		AllowedSources: loopback(), Logger: newTestLogger(t, 0, "side", "callrec")}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	got, err := s.DiscoverExternal(context.Background(), func(_ context.Context, pc net.PacketConn) (netip.AddrPort, error) {
		listen = pc.LocalAddr().String()
		return found, nil
	})
	if err != nil || got != found {
		t.Fatalf("DiscoverExternal = %v, %v", got, err)
	}
	if listen != cfg.Listen {
		t.Errorf("discovery ran on %s, want the SIP socket %s", listen, cfg.Listen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	h := newTestHandler()
	go func() { served <- s.Serve(ctx, h) }()
	defer func() { close(h.stop); cancel(); <-served }()
	closed(t, s.Ready(), "server ready")
	if _, err := s.Register(context.Background(), time.Hour); err != nil {
		t.Fatalf("Register: %v", err)
	}
	checkAdvertised(t, recv(t, reg.registers, "REGISTER"), "198.51.100.9", 40000)
}

func TestBadExternalAddress(t *testing.T) {
	_, err := NewServer(Config{Listen: "127.0.0.1:0", ExternalAddress: "203.0.113.7:x", Logger: newTestLogger(t, 0)})
	if err == nil || !strings.Contains(err.Error(), "sip.external_address") {
		t.Fatalf("NewServer = %v, want an error naming sip.external_address", err)
	}
}

func TestBehindNAT(t *testing.T) {
	tests := []struct {
		contact, source string
		want            bool
	}{
		{"192.168.1.20:5060", "203.0.113.50:40123", true},
		{"10.0.0.5", "203.0.113.50:5060", true},
		{"100.64.3.4:5060", "203.0.113.50:5060", true},
		{"192.168.1.20:5060", "192.168.1.20:5060", false}, // the same LAN
		{"192.168.1.20", "192.168.1.20:5060", false},      // default port
		{"203.0.113.50:5060", "198.51.100.1:5060", false}, // public Contact: trusted as is
		{"127.0.0.1:5070", "127.0.0.1:40000", false},      // loopback is no NAT
		{"pbx.example.net:5060", "203.0.113.50:5060", false},
		{"192.168.1.20:5060", "", false},
	}
	for _, tc := range tests {
		host, port := tc.contact, 0
		if h, p, err := net.SplitHostPort(tc.contact); err == nil {
			host, port = h, mustAtoi(p)
		}
		got := behindNAT(sip.Uri{Scheme: "sip", Host: host, Port: port}, tc.source)
		if got != tc.want {
			t.Errorf("behindNAT(%s, %q) = %v, want %v", tc.contact, tc.source, got, tc.want)
		}
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func TestSeenAt(t *testing.T) {
	tests := []struct{ via, want string }{
		{"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40001;received=203.0.113.9", "203.0.113.9:40001"},
		{"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=203.0.113.9", "203.0.113.9:5060"},
		{"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40001", "10.0.0.5:40001"},
		{"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport", ""},
		{"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1", ""},
	}
	for _, tc := range tests {
		res := sip.NewResponse(200, "OK")
		res.AppendHeader(sip.NewHeader("Via", tc.via))
		parsed, err := sip.ParseMessage([]byte(res.String()))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if got := seenAt(parsed.(*sip.Response)); got != tc.want {
			t.Errorf("seenAt(%s) = %q, want %q", tc.via, got, tc.want)
		}
	}
}

func FuzzParseAdvertised(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "203.0.113.7:5060", "[2001:db8::1]:5061", "2001:db8::1", "pbx.example.net", "pbx.example.net:0", "host:x", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := parseAdvertised(s)
		if err != nil {
			return
		}
		if port < 0 || port > 65535 {
			t.Fatalf("parseAdvertised(%q) port %d", s, port)
		}
		if port > 0 {
			// What came with a port goes back together the same way.
			h2, p2, err := parseAdvertised(net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil || h2 != host || p2 != port {
				t.Fatalf("parseAdvertised(%q) = %q, %d; rejoined: %q, %d, %v", s, host, port, h2, p2, err)
			}
		}
	})
}

func FuzzSeenAt(f *testing.F) {
	f.Add("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport=40001;received=203.0.113.9")
	f.Add("SIP/2.0/TLS [2001:db8::5];branch=z9hG4bK1;received=2001:db8::9")
	f.Add("SIP/2.0/UDP host;rport")
	f.Fuzz(func(t *testing.T, via string) {
		msg := "SIP/2.0 200 OK\r\nVia: " + via + "\r\nContent-Length: 0\r\n\r\n"
		m, err := sip.ParseMessage([]byte(msg))
		if err != nil {
			return
		}
		res, ok := m.(*sip.Response)
		if !ok {
			return
		}
		_ = seenAt(res) // must not panic on whatever a trunk sends
	})
}
