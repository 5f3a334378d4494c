package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/blob"
	"github.com/callrec/callrec/internal/callflow"
	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/stream"
	"github.com/callrec/callrec/internal/prompts"
	"github.com/callrec/callrec/internal/sip"
	"github.com/callrec/callrec/internal/store"
)

// The runtime's tests run real streams on loopback with fake signalling:
// fakeLeg stands in for a SIP dialog, fakeDialer for the trunk, and
// script for the call flow.

// waitFor is how long a test waits for something before it fails.
const waitFor = 10 * time.Second

// peer is a phone's RTP socket.
type peer struct {
	conn *net.UDPConn
	seq  uint16
	ts   uint32
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{conn: c}
}

func (p *peer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// offer is an SDP offer (or answer) for this peer: PCMU and
// telephone-event 101.
func (p *peer) sdp(version int) []byte { return p.sdpDir(version, "sendrecv") }

// sdpDir is sdp with another direction attribute.
func (p *peer) sdpDir(version int, dir string) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=%s\r\n", version, p.port(), dir))
}

// send sends one 20 ms PCMU packet of a loud square wave to port.
func (p *peer) send(t *testing.T, port int) {
	t.Helper()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = 0x10
		if i%20 < 10 {
			payload[i] = 0x90
		}
	}
	p.seq++
	p.ts += 160
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 7}, Payload: payload}
	b, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		t.Fatal(err)
	}
}

// sendTo is send without a test to fail (from a goroutine); errors are
// dropped.
func (p *peer) sendTo(port int) {
	payload := make([]byte, 160)
	p.seq++
	p.ts += 160
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 7}, Payload: payload}
	if b, err := pkt.Marshal(); err == nil {
		p.conn.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	}
}

// recv waits for one RTP packet.
func (p *peer) recv(d time.Duration) (*rtp.Packet, error) {
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := p.conn.ReadFromUDP(buf)
	if err != nil {
		return nil, err
	}
	var pkt rtp.Packet
	return &pkt, pkt.Unmarshal(buf[:n])
}

// fakeLeg is a SIP dialog as the runtime sees it.
type fakeLeg struct {
	callID, from, to, source, name string
	remote                         []byte
	cancelled                      bool

	mu         sync.Mutex
	answered   bool
	local      []byte // the last SDP we were sent (183 or 200)
	events     []string
	hangups    []int
	reoffer    func([]byte) ([]byte, error)
	infoDigits func(byte)
	done       chan struct{}
	once       sync.Once
}

func newFakeLeg(id string, remote []byte, answered bool) *fakeLeg {
	return &fakeLeg{callID: id, from: "+14155550199", to: "+15550100", source: "127.0.0.1:5070",
		remote: remote, answered: answered, done: make(chan struct{})}
}

func (l *fakeLeg) CallID() string { return l.callID }
func (l *fakeLeg) From() string   { return l.from }
func (l *fakeLeg) To() string     { return l.to }
func (l *fakeLeg) DisplayName() string {
	return l.name
}
func (l *fakeLeg) Source() string    { return l.source }
func (l *fakeLeg) RemoteSDP() []byte { return l.remote }
func (l *fakeLeg) Cancelled() bool   { return l.cancelled }
func (l *fakeLeg) record(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}
func (l *fakeLeg) Ringing() error { l.record("180"); return nil }
func (l *fakeLeg) Progress(b []byte) error {
	l.mu.Lock()
	l.local = b
	l.mu.Unlock()
	l.record("183")
	return nil
}
func (l *fakeLeg) Answer(b []byte) error {
	l.mu.Lock()
	l.local, l.answered = b, true
	l.mu.Unlock()
	l.record("200")
	return nil
}
func (l *fakeLeg) Answered() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.answered }
func (l *fakeLeg) Hangup(_ context.Context, code int) error {
	l.mu.Lock()
	l.hangups = append(l.hangups, code)
	l.mu.Unlock()
	l.record(fmt.Sprintf("hangup %d", code))
	l.end()
	return nil
}
func (l *fakeLeg) Done() <-chan struct{} { return l.done }
func (l *fakeLeg) SetReoffer(f func([]byte) ([]byte, error)) {
	l.mu.Lock()
	l.reoffer = f
	l.mu.Unlock()
}

func (l *fakeLeg) SetInfoDigits(f func(byte)) {
	l.mu.Lock()
	l.infoDigits = f
	l.mu.Unlock()
}

// sendInfo is the peer sending a digit in a SIP INFO.
func (l *fakeLeg) sendInfo(d byte) {
	l.mu.Lock()
	f := l.infoDigits
	l.mu.Unlock()
	if f != nil {
		f(d)
	}
}

// end is the peer hanging up (or the dialog ending).
func (l *fakeLeg) end() { l.once.Do(func() { close(l.done) }) }

// offer calls the runtime's answer to an in-dialog offer.
func (l *fakeLeg) offer(b []byte) ([]byte, error) {
	l.mu.Lock()
	f := l.reoffer
	l.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("no reoffer function")
	}
	return f(b)
}

// localPort is the runtime's RTP port in the SDP it sent the leg (0, or
// a failed t when given, if none could be read).
func (l *fakeLeg) localPort(t *testing.T) int {
	l.mu.Lock()
	b := l.local
	l.mu.Unlock()
	d, err := sdp.Parse(b)
	if err != nil {
		if t != nil {
			t.Helper()
			t.Fatalf("SDP sent to %s: %v", l.callID, err)
		}
		return 0
	}
	return d.Port
}

func (l *fakeLeg) hangupCodes() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.hangups...)
}

func (l *fakeLeg) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// fakeDialer is the trunk: each Dial takes the next answer from dial.
type fakeDialer struct {
	dial func(ctx context.Context, r sip.DialRequest) (Leg, error)

	mu       sync.Mutex
	requests []sip.DialRequest
}

func (d *fakeDialer) Dial(ctx context.Context, r sip.DialRequest) (Leg, error) {
	d.mu.Lock()
	d.requests = append(d.requests, r)
	d.mu.Unlock()
	return d.dial(ctx, r)
}

// script is a call flow written as a function, recording every event.
type script struct {
	mu     sync.Mutex
	events []callflow.Event
	seen   chan callflow.Event
	fn     func(ev callflow.Event) []callflow.Action
}

func newScript(fn func(ev callflow.Event) []callflow.Action) *script {
	return &script{fn: fn, seen: make(chan callflow.Event, 64)}
}

// Handle implements Handler.
func (s *script) Handle(ev callflow.Event) callflow.Response {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	acts := s.fn(ev)
	s.seen <- ev
	return callflow.Response{SchemaVersion: callflow.SchemaVersion, Actions: acts, TransactionAttributes: ev.CallDetails.TransactionAttributes}
}

// next waits for the flow's next event.
func (s *script) next(t *testing.T) callflow.Event {
	t.Helper()
	select {
	case ev := <-s.seen:
		return ev
	case <-time.After(waitFor):
		t.Fatal("the flow got no further event")
		return callflow.Event{}
	}
}

// until waits for an event of type typ (of the action act, when set).
func (s *script) until(t *testing.T, typ callflow.InvocationEventType, act callflow.ActionType) callflow.Event {
	t.Helper()
	for {
		ev := s.next(t)
		if ev.InvocationEventType == typ && (act == "" || ev.ActionData != nil && ev.ActionData.Type == act) {
			return ev
		}
	}
}

// rig is an engine on a fresh store, with its flow and trunk.
type rig struct {
	e      *Engine
	st     *store.Store
	bs     *blob.Local
	flow   *script
	dialer *fakeDialer
	queued chan string
	spool  string
}

func newRig(t *testing.T, flow *script, dial func(ctx context.Context, r sip.DialRequest) (Leg, error)) *rig {
	t.Helper()
	return newRigIn(t, t.TempDir(), flow, dial, nil)
}

// newRigIn is newRig with its data in dir, and the engine's config
// changed by opt (when not nil).
func newRigIn(t *testing.T, dir string, flow *script, dial func(ctx context.Context, r sip.DialRequest) (Leg, error), opt func(*Config)) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "callrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := blob.NewLocal(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	pr, err := LoadPrompts(prompts.Builtin(), "")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := stream.NewPorts(netip.MustParseAddr("127.0.0.1"), 40000, 49999)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, bs: bs, flow: flow, dialer: &fakeDialer{dial: dial}, queued: make(chan string, 8), spool: filepath.Join(dir, "spool")}
	cfg := Config{
		MediaAddress: netip.MustParseAddr("127.0.0.1"), Ports: ports, Handler: flow, Dialer: r.dialer,
		Prompts: pr, Store: st, Blob: bs, SpoolDir: r.spool, ServiceNumber: "+15550100", OwnerNumber: "+15550111",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Enqueue: func(_ context.Context, tx *store.Tx, id string) error {
			if tx == nil {
				return fmt.Errorf("no transaction")
			}
			r.queued <- id
			return nil
		},
	}
	if opt != nil {
		opt(&cfg)
	}
	r.e, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		r.e.Shutdown(ctx)
	})
	return r
}

// call admits and runs an inbound call on the engine; ended is closed
// when it is over.
func (r *rig) call(in Inbound) (ended chan struct{}) {
	ended = make(chan struct{})
	if err := r.e.Admit(); err != nil {
		panic(err)
	}
	go func() {
		defer close(ended)
		r.e.run(in)
	}()
	return ended
}

// wait waits for ch to close.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("%s did not happen", what)
	}
}

// only returns the one call record.
func (r *rig) only(t *testing.T) store.Call {
	t.Helper()
	list, err := r.st.ListCalls(context.Background(), store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d call records, want 1", len(list))
	}
	return list[0]
}

// answeredBy is a dialer that answers with b's SDP at once.
func answeredBy(b *fakeLeg) func(context.Context, sip.DialRequest) (Leg, error) {
	return func(context.Context, sip.DialRequest) (Leg, error) { return b, nil }
}

// Actions the scripts use.
func bridgeTo(number string, maxSeconds int) callflow.Action {
	return callflow.Action{Type: callflow.ActionCallAndBridge, Parameters: callflow.Parameters{
		CallerIDNumber: "+15550100", CallTimeoutSeconds: 30, MaxCallDurationSeconds: maxSeconds,
		Endpoints: []callflow.BridgeEndpoint{{BridgeEndpointType: callflow.EndpointPSTN, URI: number}},
	}}
}

func act(typ callflow.ActionType) callflow.Action { return callflow.Action{Type: typ} }

func pause(ms int) callflow.Action {
	return callflow.Action{Type: callflow.ActionPause, Parameters: callflow.Parameters{DurationInMilliseconds: ms}}
}

func hangup(tag string) callflow.Action {
	return callflow.Action{Type: callflow.ActionHangup, Parameters: callflow.Parameters{ParticipantTag: tag}}
}

func record(ownerTag string) callflow.Action {
	return callflow.Action{Type: callflow.ActionStartCallRecording, Parameters: callflow.Parameters{ParticipantTag: ownerTag}}
}
