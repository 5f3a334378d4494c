package sip

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// optionsTrunk is a UDP trunk that counts the OPTIONS it receives and
// answers them while answering is set.
type optionsTrunk struct {
	addr      string
	answering atomic.Bool
	options   chan *sip.Request
}

func newOptionsTrunk(t *testing.T) *optionsTrunk {
	t.Helper()
	log := newTestLogger(t, slog.LevelWarn, "side", "trunk")
	ua, err := sipgo.NewUA(sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &optionsTrunk{addr: pc.LocalAddr().String(), options: make(chan *sip.Request, 256)}
	tr.answering.Store(true)
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tr.options <- req
		if tr.answering.Load() {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		}
	})
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() { ua.Close(); pc.Close() })
	return tr
}

// TestKeepaliveOptionsOverUDP: OPTIONS go to the trunk every interval,
// from the SIP socket, and a change of its answering is logged once.
func TestKeepaliveOptionsOverUDP(t *testing.T) {
	trunk := newOptionsTrunk(t)
	logs := newRecordHandler()
	ts := startServer(t, func(c *Config) {
		c.TrunkAddress, c.TrunkTransport, c.Keepalive = trunk.addr, "udp", 20*time.Millisecond
		c.ExternalAddress = "127.0.0.1" // behind NAT, as far as callrec knows
		c.Logger = slog.New(logs)
	})
	for range 3 {
		req := recv(t, trunk.options, "keep-alive OPTIONS")
		if src := req.Source(); src != ts.addr {
			t.Errorf("OPTIONS from %s, want the SIP socket %s", src, ts.addr)
		}
	}
	trunk.answering.Store(false)
	waitLog(t, logs, "trunk does not answer keep-alive OPTIONS", 1)
	drain(trunk.options)
	for range 3 { // more unanswered keep-alives: no more lines
		recv(t, trunk.options, "keep-alive OPTIONS while down")
	}
	trunk.answering.Store(true)
	waitLog(t, logs, "trunk answers keep-alive OPTIONS", 2) // the first up, and now
	if n := countLog(logs, "trunk does not answer keep-alive OPTIONS"); n != 1 {
		t.Errorf("down logged %d times, want once", n)
	}
}

func drain[T any](ch chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// countLog counts the records whose message starts with msg.
func countLog(h *recordHandler, msg string) int {
	n := 0
	for _, r := range h.all() {
		if strings.HasPrefix(r.Message, msg) {
			n++
		}
	}
	return n
}

func waitLog(t *testing.T, h *recordHandler, msg string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for countLog(h, msg) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log %q not seen %d times", msg, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeepaliveOptionsOnceRegistered: without an external address,
// OPTIONS keep-alives start with the registration and stop with the
// un-registration.
func TestKeepaliveOptionsOnceRegistered(t *testing.T) {
	trunk := newOptionsTrunk(t)
	ts := startServer(t, func(c *Config) {
		c.TrunkAddress, c.TrunkTransport, c.Keepalive = trunk.addr, "udp", 20*time.Millisecond
	})
	// A window of several intervals in which none may come (not a
	// measure of speed).
	time.Sleep(100 * time.Millisecond)
	if n := len(trunk.options); n != 0 {
		t.Fatalf("%d keep-alive OPTIONS before registering, with no external address", n)
	}
	register(t, ts)
	for range 2 {
		recv(t, trunk.options, "keep-alive OPTIONS once registered")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := ts.Register(ctx, 0); err != nil {
		t.Fatalf("un-register: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a keep-alive already under way may still arrive
	drain(trunk.options)
	time.Sleep(100 * time.Millisecond)
	if n := len(trunk.options); n != 0 {
		t.Errorf("%d keep-alive OPTIONS after un-registering", n)
	}
}

// TestKeepaliveOff: an interval of zero sends nothing.
func TestKeepaliveOff(t *testing.T) {
	trunk := newOptionsTrunk(t)
	ts := startServer(t, func(c *Config) {
		c.TrunkAddress, c.TrunkTransport, c.Keepalive, c.ExternalAddress = trunk.addr, "udp", 0, "127.0.0.1"
	})
	// A check answered shows the trunk works; only that one OPTIONS came.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if _, err := ts.CheckTrunk(ctx); err != nil {
		t.Fatalf("CheckTrunk: %v", err)
	}
	recv(t, trunk.options, "the check's OPTIONS")
	if n := len(trunk.options); n != 0 {
		t.Errorf("%d keep-alive OPTIONS with keep-alives off", n)
	}
}

// TestKeepaliveCRLFOverTCP: on the TCP connection callrec opened to the
// trunk (to register), CRLF pings arrive every interval.
func TestKeepaliveCRLFOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pings := make(chan struct{}, 64)
	go rawTCPRegistrar(l, pings)
	ts := startServer(t, func(c *Config) {
		c.TrunkAddress, c.TrunkTransport, c.Keepalive = l.Addr().String(), "tcp", 20*time.Millisecond
	})
	register(t, ts)
	for range 3 {
		recv(t, pings, "CRLF ping")
	}
}

// rawTCPRegistrar accepts one connection, answers its REGISTER with 200
// and then reports every double-CRLF ping that arrives.
func rawTCPRegistrar(l net.Listener, pings chan<- struct{}) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	var head []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			head = append(head, line)
			continue
		}
		if len(head) == 0 {
			// An empty line between messages: half of a "\r\n\r\n" ping.
			if next, err := r.ReadString('\n'); err == nil && next == "\r\n" {
				pings <- struct{}{}
			}
			continue
		}
		var b strings.Builder
		b.WriteString("SIP/2.0 200 OK\r\n")
		for _, h := range head[1:] {
			for _, name := range []string{"Via:", "From:", "To:", "Call-ID:", "CSeq:", "Contact:"} {
				if strings.HasPrefix(h, name) {
					b.WriteString(h + "\r\n")
				}
			}
		}
		b.WriteString("Expires: 3600\r\nContent-Length: 0\r\n\r\n")
		if _, err := fmt.Fprint(c, b.String()); err != nil {
			return
		}
		head = nil
	}
}
