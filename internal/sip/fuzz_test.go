package sip

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// recordingConn is the connection of a fuzzed request's transaction: it
// counts what the server writes.
type recordingConn struct{ writes atomic.Int32 }

func (c *recordingConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}
func (c *recordingConn) WriteMsg(sip.Message) error { c.writes.Add(1); return nil }
func (c *recordingConn) Ref(int) int                { return 1 }
func (c *recordingConn) TryClose() (int, error)     { return 0, nil }
func (c *recordingConn) Close() error               { return nil }
func (c *recordingConn) count() int                 { return int(c.writes.Load()) }

// fuzzHandler admits every call and rejects it at once, reading what a
// runtime reads of the leg first.
type fuzzHandler struct{}

func (fuzzHandler) Admit() error { return nil }

func (fuzzHandler) HandleCall(leg *InboundLeg) {
	_, _, _, _ = leg.From(), leg.To(), leg.DisplayName(), leg.CallID()
	_, _ = leg.Source(), leg.RemoteSDP()
	_ = leg.Reject(486, "")
}

// fuzzServer is a server whose request handling the fuzz target drives
// directly (it is never served); stateless counts the responses it sends
// outside transactions.
type fuzzServer struct {
	*Server
	stateless atomic.Int32
}

func newFuzzServer(f *testing.F, policy UntrustedPolicy) *fuzzServer {
	f.Helper()
	s, err := NewServer(Config{
		Listen:          freeAddr(f),
		UserAgent:       "callrec-fuzz",
		AllowedSources:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RejectUntrusted: policy,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.Fatalf("NewServer: %v", err)
	}
	f.Cleanup(s.Close)
	fs := &fuzzServer{Server: s}
	s.handler = fuzzHandler{}
	s.writeStateless = func(*sip.Response) error { fs.stateless.Add(1); return nil }
	return fs
}

// fuzzSeeds are real requests, junk, and pieces of both.
func fuzzSeeds() []string {
	local, target := "127.0.0.1:5999", "127.0.0.1:5060"
	invite := rawRequest("INVITE", "UDP", local, target, 1)
	return []string{
		invite,
		rawRequest("INVITE", "TCP", local, target, 2, `P-Asserted-Identity: "Alice" <tel:+4930222;cpc=ordinary>`),
		rawRequest("INVITE", "UDP", local, target, 3, "Require: 100rel, timer"),
		strings.Replace(rawRequest("INVITE", "UDP", local, target, 4), "To: <sip:+4930999@"+target+">", "To: <sip:+4930999@"+target+">;tag=abc", 1),
		rawRequest("OPTIONS", "UDP", local, target, 5),
		rawRequest("REGISTER", "UDP", local, target, 6, "Expires: 3600"),
		rawRequest("BYE", "UDP", local, target, 7, "Reason: Q.850;cause=16"),
		rawRequest("ACK", "UDP", local, target, 8),
		rawRequest("CANCEL", "UDP", local, target, 9),
		rawRequest("UPDATE", "UDP", local, target, 10),
		rawRequest("INFO", "UDP", local, target, 11),
		rawRequest("MESSAGE", "UDP", local, target, 12),
		stripHeader(invite, "Contact"),
		stripHeader(invite, "From"),
		invite[:len(invite)/2],
		invite + rawRequest("OPTIONS", "TCP", local, target, 13),
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-x\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"GET / HTTP/1.1\r\nHost: callrec\r\n\r\n",
		"\r\n\r\n",
	}
}

// FuzzServeRequest feeds arbitrary bytes through sipgo's parsers (the
// datagram parser of its UDP transport and the stream parser of its TCP
// one) and every request they yield into the server's request handling,
// from a trusted or an untrusted source, over UDP or TCP, with either
// policy for untrusted sources, each through a real server transaction
// that records what is written. It fails on a panic, on a handler that
// does not return, and on more responses than one request may get: a
// 100 Trying and a final response, or one stateless 403; none to an
// untrusted source that is dropped.
func FuzzServeRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), false, false, false)
		f.Add([]byte(s), true, true, true)
	}
	servers := map[UntrustedPolicy]*fuzzServer{
		UntrustedDrop: newFuzzServer(f, UntrustedDrop),
		Untrusted403:  newFuzzServer(f, Untrusted403),
	}
	txLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	var mu sync.Mutex // one request at a time: the stateless count is the server's

	f.Fuzz(func(t *testing.T, data []byte, untrusted, tcp, reject403 bool) {
		policy := UntrustedDrop
		if reject403 {
			policy = Untrusted403
		}
		fs := servers[policy]
		parser := sip.NewParser()
		var reqs []*sip.Request
		if m, err := parser.ParseSIP(data); err == nil {
			if r, ok := m.(*sip.Request); ok {
				reqs = append(reqs, r)
			}
		}
		stream := parser.NewSIPStream()
		_ = stream.ParseSIPStream(data, func(m sip.Message) {
			if r, ok := m.(*sip.Request); ok {
				reqs = append(reqs, r)
			}
		})
		for _, req := range reqs {
			mu.Lock()
			serveFuzzed(t, fs, req, untrusted, tcp, policy, txLog)
			mu.Unlock()
		}
	})
}

// serveFuzzed runs one parsed request through the server as sipgo's
// transaction layer would, and checks what came out.
func serveFuzzed(t *testing.T, fs *fuzzServer, req *sip.Request, untrusted, tcp bool, policy UntrustedPolicy, log *slog.Logger) {
	t.Helper()
	src, transport := "127.0.0.1:5999", "UDP"
	if untrusted {
		src = "192.0.2.7:5999"
	}
	if tcp {
		transport = "TCP"
	}
	req.SetSource(src)
	req.SetTransport(transport)
	key, err := sip.ServerTxKeyMake(req)
	if err != nil {
		return // sipgo answers these 400 itself, before any handler
	}
	conn := &recordingConn{}
	tx := sip.NewServerTx(key, req, conn, log)
	if err := tx.Init(); err != nil {
		return
	}
	defer tx.Terminate()
	fs.stateless.Store(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fs.serveRequest(req, tx)
	}()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatalf("request handler did not return for %q", req.StartLine())
	}
	tx.Terminate()
	written, stateless := conn.count(), int(fs.stateless.Load())
	switch {
	case untrusted && policy == UntrustedDrop && written+stateless != 0:
		t.Errorf("%d responses to an untrusted source that is dropped: %q", written+stateless, req.StartLine())
	case untrusted && (written != 0 || stateless > 1):
		t.Errorf("%d in-transaction and %d stateless responses to an untrusted source: %q", written, stateless, req.StartLine())
	case !untrusted && (written > 2 || stateless != 0):
		t.Errorf("%d responses (%d stateless) to one request: %q", written, stateless, req.StartLine())
	}
}
