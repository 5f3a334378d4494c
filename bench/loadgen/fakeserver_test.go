package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/callrec/callrec/internal/media/sdp"
	"github.com/callrec/callrec/internal/media/srtp"
)

// waitFor bounds every wait in these tests. It is a failure guard only:
// nothing passes or fails on how long something took.
const waitFor = 10 * time.Second

// serverMode is how the fake callrec treats an INVITE.
type serverMode int

const (
	// answerAndEcho answers (SRTP when offered) and echoes the media.
	answerAndEcho serverMode = iota
	// rejectBusy answers 486.
	rejectBusy
	// answerThenHangUp answers, then sends BYE as soon as the ACK is in.
	answerThenHangUp
)

// fakeCallrec is a SIP UAS standing in for callrec's service number: it
// answers the generator's offers, decrypts and checks each RTP packet,
// and sends it back re-encrypted with its own key.
type fakeCallrec struct {
	t    *testing.T
	mode serverMode
	addr string
	uas  *sipgo.DialogServerCache

	mu     sync.Mutex // guards the fields below, written by SIP and media goroutines
	calls  []*fakeCall
	byes   int
	faults []string
}

// fakeCall is the fake server's view of one call's media.
type fakeCall struct {
	offer       *sdp.Description
	packets     int
	payloadType map[uint8]int
	firstSeq    uint16
	lastSeq     uint16
	firstTS     uint32
	lastTS      uint32
}

func (f *fakeCallrec) fault(msg string) {
	f.mu.Lock()
	f.faults = append(f.faults, msg)
	f.mu.Unlock()
}

// startFakeCallrec serves a fake callrec on a loopback UDP port until the
// test ends.
func startFakeCallrec(t *testing.T, mode serverMode) *fakeCallrec {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCallrec{t: t, mode: mode, addr: pc.LocalAddr().String()}
	host := "127.0.0.1"
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname(host),
		sipgo.WithClientPort(port), sipgo.WithClientConnectionAddr(f.addr))
	if err != nil {
		t.Fatal(err)
	}
	f.uas = sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callrec", Host: host, Port: port}})
	srv.OnInvite(f.invite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = f.uas.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		// Counted before ReadBye answers it, so the count is in by the
		// time the generator has its 200.
		f.mu.Lock()
		f.byes++
		f.mu.Unlock()
		if err := f.uas.ReadBye(req, tx); err != nil {
			f.fault("BYE: " + err.Error())
		}
	})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		ua.Close()
		pc.Close()
		<-served
	})
	return f
}

// invite answers one INVITE as the mode says.
func (f *fakeCallrec) invite(req *sip.Request, tx sip.ServerTransaction) {
	if f.mode == rejectBusy {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	}
	dlg, err := f.uas.ReadInvite(req, tx)
	if err != nil {
		f.fault("ReadInvite: " + err.Error())
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		f.fault("offer: " + err.Error())
		_ = dlg.Respond(488, "Not Acceptable Here", nil)
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.fault(err.Error())
		return
	}
	local := sdp.Local{SessionID: 7, SessionVersion: 1, Address: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port,
		Codecs: offer.Codecs[:1], TelephoneEvent: offer.TelephoneEvent, Proto: offer.Proto}
	var session *srtp.Session
	if offer.Encrypted() {
		remote, mine, err := srtp.ChooseOffer(offer.Crypto)
		if err != nil {
			f.fault("crypto: " + err.Error())
			return
		}
		local.Crypto = []string{mine.String()}
		if session, err = srtp.NewSession(mine, remote); err != nil {
			f.fault(err.Error())
			return
		}
	}
	body, err := sdp.Build(local)
	if err != nil {
		f.fault(err.Error())
		return
	}
	call := &fakeCall{offer: offer, payloadType: map[uint8]int{}}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	go f.echo(conn, session, call)
	go func() {
		<-dlg.Context().Done()
		conn.Close()
	}()
	if err := dlg.RespondSDP(body); err != nil {
		f.fault("200: " + err.Error())
		return
	}
	if f.mode == answerThenHangUp {
		go func() {
			// The ACK establishes the dialog; a BYE before it could
			// overtake it.
			for range 1000 {
				if dlg.LoadState() == sip.DialogStateConfirmed {
					break
				}
				time.Sleep(time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			if err := dlg.Bye(ctx); err != nil {
				f.fault("our BYE: " + err.Error())
			}
		}()
	}
}

// echo checks each packet that arrives on conn and sends it back.
func (f *fakeCallrec) echo(conn *net.UDPConn, session *srtp.Session, call *fakeCall) {
	buf := make([]byte, 1500)
	plain := make([]byte, 0, 1500)
	wire := make([]byte, 0, 1500)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pkt := buf[:n]
		if session != nil {
			if pkt, err = session.DecryptRTP(plain[:0], pkt); err != nil {
				f.fault("decrypt: " + err.Error())
				continue
			}
		}
		var p rtp.Packet
		if err := p.Unmarshal(pkt); err != nil {
			f.fault("RTP: " + err.Error())
			continue
		}
		f.mu.Lock()
		if call.packets == 0 {
			call.firstSeq, call.firstTS = p.SequenceNumber, p.Timestamp
		}
		call.packets++
		call.payloadType[p.PayloadType]++
		call.lastSeq, call.lastTS = p.SequenceNumber, p.Timestamp
		f.mu.Unlock()
		if len(p.Payload) != payloadBytes {
			f.fault(fmt.Sprintf("payload of %d bytes, want %d", len(p.Payload), payloadBytes))
		}
		out := pkt
		if session != nil {
			if out, err = session.EncryptRTP(wire[:0], pkt); err != nil {
				f.fault("encrypt: " + err.Error())
				continue
			}
		}
		_, _ = conn.WriteToUDPAddrPort(out, from)
	}
}

// snapshot returns copies of what the server saw.
func (f *fakeCallrec) snapshot() (calls []fakeCall, byes int, faults []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		calls = append(calls, *c)
	}
	return calls, f.byes, append([]string(nil), f.faults...)
}

// runAgainst places calls against f with the generator's own code and
// returns the summary and what it printed.
func runAgainst(t *testing.T, f *fakeCallrec, codecName string, withSRTP bool, calls int, hold time.Duration) summary {
	t.Helper()
	s := settings{server: f.addr, listen: "127.0.0.1:0", media: "127.0.0.1", service: "+15550100", caller: "+12125550199",
		codec: codecName, srtp: withSRTP, calls: calls, rate: 1000, hold: hold, answerTimeout: waitFor}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
	defer cancel()
	g, stop, err := newGenerator(ctx, s, log)
	if err != nil {
		t.Fatal(err)
	}
	results := g.placeAll(ctx, calls, s.rate)
	stop()
	if ctx.Err() != nil {
		t.Fatal("calls did not end")
	}
	return summarize(results)
}
